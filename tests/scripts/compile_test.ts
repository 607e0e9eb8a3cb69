import assert from "node:assert/strict";

const root = new URL("../../", import.meta.url);
const decoder = new TextDecoder();

function runtimeAvailable(): boolean {
  const denort = Deno.env.get("DENORT_BIN");
  if (denort) return true;
  const output = new Deno.Command(Deno.execPath(), {
    args: ["info", "--json"],
    stdout: "piped",
    stderr: "null",
  }).outputSync();
  const dir = (JSON.parse(decoder.decode(output.stdout)) as { denoDir: string }).denoDir;
  try {
    return Deno.statSync(
      `${dir}/dl/release/v${Deno.version.deno}/denort-x86_64-unknown-linux-gnu.zip`,
    ).isFile;
  } catch {
    return false;
  }
}

async function compile(args: string[], env: Record<string, string> = {}) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "compile", ...args],
    cwd: root,
    env,
    stdin: "null",
  }).output();
  return { code: output.code, stderr: decoder.decode(output.stderr) };
}

Deno.test("compile fails in one clear line with exit 3 when the denort runtime cannot be had", async () => {
  const missing = await compile(["--out", await Deno.makeTempDir()], {
    DENORT_BIN: "/nonexistent/denort",
  });
  assert.equal(missing.code, 3);
  assert.match(missing.stderr, /^compile: DENORT_BIN=\/nonexistent\/denort is not a file/m);
  assert.doesNotMatch(missing.stderr, /Stack backtrace|\n\s+at /);
  const usage = await compile(["--target", "sparc-sun-solaris"]);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /unknown target "sparc-sun-solaris"/);
  if (!runtimeAvailable()) {
    const offline = await compile(["--offline", "--out", await Deno.makeTempDir()], {
      DENORT_BIN: "",
    });
    assert.equal(offline.code, 3);
    assert.match(offline.stderr, /not cached and --offline forbids the download: set DENORT_BIN/);
  }
});

Deno.test({
  name: "compiled executables print their version and exchange an offer and answer",
  ignore: !runtimeAvailable(),
  async fn() {
    const out = await Deno.makeTempDir();
    const built = await compile(["--out", out]);
    assert.equal(built.code, 0, built.stderr);
    const sums = await Deno.readTextFile(`${out}/SHA256SUMS`);
    assert.match(sums, /^[0-9a-f]{64} {2}sdp-server$/m);
    for (const name of ["sdp-server", "rtp-multicast-client"]) {
      const version = await new Deno.Command(`${out}/${name}`, { args: ["--version"] }).output();
      assert.match(
        decoder.decode(version.stdout),
        new RegExp(`^${name} \\d+\\.\\d+\\.\\d+ \\(deno `),
      );
    }
    const server = new Deno.Command(`${out}/sdp-server`, {
      args: ["--host", "127.0.0.1", "--port", "0", "--log-format", "json"],
      stdout: "piped",
    }).spawn();
    const reader = server.stdout.pipeThrough(new TextDecoderStream()).getReader();
    const first = await reader.read();
    const port = JSON.parse(first.value!.split("\n")[0]!).properties.port;
    const client = await new Deno.Command(`${out}/rtp-multicast-client`, {
      args: ["--sdp", `http://127.0.0.1:${port}/streams/default.sdp`, "--timeout", "0.5", "--json"],
    }).output();
    server.kill("SIGTERM");
    await reader.cancel();
    await server.status;
    assert.equal(client.code, 4, "read the description, then nothing was sent: exit 4");
  },
});

if (!runtimeAvailable()) {
  console.log(
    "compile_test: the denort runtime is not available here (no DENORT_BIN, not cached, offline): " +
      "the compile step itself was not exercised, only its clear failure.",
  );
}
