// Tests of scripts/bench/ts_bench.ts: the MPEG-TS analyser micro benchmark prints its three figures
// as JSON lines (baseline, analyser against it, analyser against the target) and refuses bad flags.

import assert from "node:assert/strict";

const script = new URL("../../scripts/bench/ts_bench.ts", import.meta.url).pathname;

async function run(...args: string[]) {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", script, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code,
    stdout: new TextDecoder().decode(stdout),
    stderr: new TextDecoder().decode(stderr),
  };
}

Deno.test("ts_bench prints the bare loop, the analyser and the target ratio as JSON lines", async () => {
  const { code, stdout, stderr } = await run("--seconds", "0.3");
  assert.equal(code, 0, stderr);
  const figures = stdout.trim().split("\n").map((line) => JSON.parse(line));
  assert.deepEqual(figures.map((f) => [f.name, f.baseline]), [
    ["ts.bare_pid_loop", null],
    ["ts.analyser_packets_per_s", "ts.bare_pid_loop"],
    ["ts.analyser_vs_target", "target"],
  ]);
  const [bare, analyser, target] = figures;
  assert.ok(bare.value > 0 && analyser.value > 0);
  assert.equal(analyser.baselineValue, bare.value);
  assert.equal(target.baselineValue, 1_000_000);
  assert.ok(Math.abs(target.ratio - analyser.value / 1_000_000) < 0.01);
  assert.match(stderr, /MPEG-TS analyser/);
});

Deno.test("ts_bench refuses a duration out of range with exit code 2", async () => {
  const long = await run("--seconds", "61");
  assert.equal(long.code, 2);
  assert.match(long.stderr, /at most 60/);
  const { code, stderr } = await run("--seconds", "0");
  assert.equal(code, 2);
  assert.match(stderr, /^ts_bench: --seconds: expected seconds greater than 0/);
});
