// scripts/netns_test.sh on a machine without a peer: the test that needs it is ignored and the run
// closes with one line naming it and the command that installs it; under CI=true it fails instead.
// .ci/run installs every package that line can name and sets CI=true.
import assert from "node:assert/strict";
import { PEERS } from "../support/peer_requirements.ts";

const root = new URL("../../", import.meta.url).pathname;
const decoder = new TextDecoder();

/** A directory of links to every program on PATH except `hidden`, standing in for a bare machine. */
async function pathWithout(hidden: readonly string[]): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "bare-path-" });
  for (const entry of (Deno.env.get("PATH") ?? "").split(":")) {
    let names: Deno.DirEntry[];
    try {
      names = Array.from(Deno.readDirSync(entry));
    } catch {
      continue;
    }
    for (const { name } of names) {
      if (hidden.includes(name)) continue;
      try {
        Deno.symlinkSync(`${entry}/${name}`, `${dir}/${name}`);
      } catch {
        // an earlier PATH entry had it
      }
    }
  }
  return dir;
}

async function netnsTest(path: string, env: Record<string, string>) {
  const output = await new Deno.Command("bash", {
    args: ["scripts/netns_test.sh", "tests/testdata/needs_tmux.ts"],
    cwd: root,
    env: { ...env, PATH: path, NO_COLOR: "1" },
    stdin: "null",
  }).output();
  const stdout = decoder.decode(output.stdout);
  return { code: output.code, stdout, text: stdout + decoder.decode(output.stderr) };
}

Deno.test("without tmux the test is ignored with one closing line; with CI=true it fails", async () => {
  const path = await pathWithout(["tmux"]);
  try {
    const bare = await netnsTest(path, { CI: "" });
    assert.equal(bare.code, 0, bare.text);
    assert.match(bare.text, /0 passed \| 0 failed \| 1 ignored/);
    const lines = bare.stdout.trimEnd().split("\n");
    assert.equal(
      lines.at(-1),
      "Skipped the tests that need tmux (not installed); install with: " +
        "apt-get install -y --no-install-recommends tmux",
    );
    const ci = await netnsTest(path, { CI: "true" });
    assert.notEqual(ci.code, 0, ci.text);
    assert.match(ci.text, /tmux not installed: apt-get install tmux/);
    assert.doesNotMatch(ci.text, /Skipped the tests/);
  } finally {
    await Deno.remove(path, { recursive: true });
  }
});

Deno.test(".ci/run installs every package a skip line can name, and sets CI=true before the run", async () => {
  const script = await Deno.readTextFile(`${root}.ci/run`);
  for (const peer of Object.values(PEERS)) {
    for (const name of peer.packages) {
      assert.match(script, new RegExp(`need\\+=\\([^)]*\\b${name.replace(/\./g, "\\.")}\\b`), name);
    }
  }
  const ci = script.indexOf("export CI=true");
  assert.ok(ci > 0 && ci < script.indexOf("deno task ci 2>&1"), "CI=true is set before the run");
});
