// Tests of lib/server/open_file_limit.ts: the descriptor budget behind the default
// --max-connections (RLIMIT_NOFILE, issue 11 item 1).
import assert from "node:assert/strict";
import {
  maxConnectionsFor,
  parseOpenFileLimit,
  probeFreeDescriptors,
} from "../../lib/server/open_file_limit.ts";

Deno.test("parseOpenFileLimit() reads the soft limit of /proc/PID/limits", () => {
  const text = "Limit                     Soft Limit           Hard Limit           Units     \n" +
    "Max processes             96363                96363                processes \n" +
    "Max open files            256                  4096                 files     \n";
  assert.equal(parseOpenFileLimit(text), 256);
  assert.equal(parseOpenFileLimit(text.replace("256 ", "unlimited ")), undefined);
  assert.equal(parseOpenFileLimit("garbage"), undefined);
});

Deno.test("maxConnectionsFor() is half the descriptors, from 16 to 4096", () => {
  assert.deepEqual(
    [10, 234, 1024, 20_000, 1_048_576].map(maxConnectionsFor),
    [16, 117, 512, 4096, 4096],
  );
});

Deno.test("probeFreeDescriptors() counts what a process under ulimit -n can still open", async () => {
  const here = probeFreeDescriptors(100);
  assert.equal(here, 100); // the test runner has plenty
  // In a child under ulimit -n 64: less than 64, and every probe descriptor closed again.
  const script = "import { probeFreeDescriptors } from " +
    JSON.stringify(new URL("../../lib/server/open_file_limit.ts", import.meta.url).href) +
    "; const a = probeFreeDescriptors(1000); const b = probeFreeDescriptors(1000);" +
    " console.log(JSON.stringify([a, b]));";
  const output = await new Deno.Command("prlimit", {
    args: ["--nofile=64:64", Deno.execPath(), "eval", script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  const [first, second] = JSON.parse(new TextDecoder().decode(output.stdout));
  assert.ok(first > 16 && first < 64, String(first));
  assert.equal(second, first);
});
