// Every runnable script takes its flags after the `--` that `deno task X -- ARGS` passes on (Deno
// 2.9), and answers a bad flag with one line on stderr and exit 2, never a stack trace.
import assert from "node:assert/strict";
import { inPrivateNetns } from "../../scripts/support/netns.ts";
import { randomRtpPort } from "../../scripts/support/endpoints.ts";

const root = new URL("../../", import.meta.url);
const decoder = new TextDecoder();

/** The scripts with a command line, and the name each prints its messages under. */
const SCRIPTS = [
  ["scripts/demo.ts", "demo"],
  ["scripts/compile.ts", "compile"],
  ["scripts/source.ts", "rtp-source"],
  ["scripts/impair.ts", "rtp-impair"],
  ["scripts/fuzz_server.ts", "fuzz_server"],
  ["scripts/fuzz_client.ts", "fuzz_client"],
  ["scripts/soak_client.ts", "soak_client"],
  ["scripts/soak_probe.ts", "soak_probe"],
  ["scripts/bench/run.ts", "bench"],
  ["scripts/bench/bare_loop.ts", "bare_loop"],
  ["scripts/bench/const_server.ts", "const_server"],
  ["scripts/bench/server_profile.ts", "server_profile"],
  ["scripts/bench/access_log_bench.ts", "access_log_bench"],
] as const;

async function run(script: string, args: string[]) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "--no-prompt", "-A", script, ...args],
    cwd: root,
    stdin: "null",
  }).output();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

Deno.test("every script answers a bad flag with one line and exit 2, also after --", async (t) => {
  for (const [script, name] of SCRIPTS) {
    await t.step(script, async () => {
      for (const args of [["--no-such-flag"], ["--", "--no-such-flag"]]) {
        const result = await run(script, args);
        assert.equal(result.code, 2, `${script} ${args.join(" ")}: ${result.stderr}`);
        const lines = result.stderr.split("\n").filter((l) => l.trim() !== "");
        assert.equal(lines.length, 1, `one line from ${script}:\n${result.stderr}`);
        assert.match(lines[0]!, new RegExp(`^${name}: .*--no-such-flag`));
        assert.doesNotMatch(result.stderr, /Uncaught|Stack backtrace|\n\s+at /);
      }
    });
  }
});

Deno.test("every script with --help takes it after --", async (t) => {
  for (const [script] of SCRIPTS) {
    if (script.endsWith("const_server.ts")) continue; // it has no help: only --port
    await t.step(script, async () => {
      const result = await run(script, ["--", "--help"]);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /Usage|Run:|Options/);
    });
  }
});

Deno.test("scripts check their values after --: one line naming the flag, exit 2", async (t) => {
  const cases: [string, string[], RegExp][] = [
    ["scripts/demo.ts", ["--seconds", "x"], /^demo: --seconds: expected seconds/],
    ["scripts/demo.ts", ["--seconds", "4000"], /^demo: --seconds: expected at most 3600/],
    ["scripts/demo.ts", ["--loss", "2"], /^demo: --loss: expected a probability/],
    ["scripts/demo.ts", ["--bitrate", "100k"], /^demo: --bitrate: expected 250k to 100M/],
    ["scripts/compile.ts", ["--target", "vax"], /^compile: unknown target "vax"/],
    ["scripts/fuzz_server.ts", ["--concurrency", "0"], /^fuzz_server: --concurrency: expected/],
    ["scripts/bench/run.ts", ["--only", "nothing"], /bench: unknown section nothing/],
    ["scripts/bench/bare_loop.ts", ["--group", "10.0.0.1", "--port", "5"], /^bare_loop: --group/],
    ["scripts/bench/bare_loop.ts", ["--group", "239.1.1.1", "--port", "x"], /^bare_loop: --port/],
    ["scripts/bench/const_server.ts", ["--port", "x"], /^const_server: --port: expected/],
  ];
  for (const [script, args, pattern] of cases) {
    await t.step(`${script} ${args.join(" ")}`, async () => {
      const result = await run(script, ["--", ...args]);
      assert.equal(result.code, 2, result.stderr);
      const lines = result.stderr.split("\n").filter((l) => l.trim() !== "");
      assert.equal(lines.length, 1, result.stderr);
      assert.match(lines[0]!, pattern);
    });
  }
});

Deno.test({
  name: "bare_loop takes its flags after -- and counts (inside the namespace)",
  ignore: !inPrivateNetns(),
  async fn() {
    const port = String(randomRtpPort());
    const args = ["--", "--group", "239.10.9.1", "--port", port, "--seconds", "0.3"];
    const result = await run("scripts/bench/bare_loop.ts", args);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(JSON.parse(result.stdout.trim()).received, 0);
  },
});
