// Checks of a script's command line as a subprocess: a bad flag gets one `program: message` line on
// stderr and exit 2, and --help lists every flag and exits 0.
import assert from "node:assert/strict";
import { type ChildResult, runDeno } from "../../scripts/support/process.ts";

/** `deno run --no-prompt --allow-net SCRIPT ARGS` to the end (the `source` permission set). */
export function runNetScript(script: string, args: string[]): Promise<ChildResult> {
  return runDeno(["run", "--no-prompt", "--allow-net", script, ...args]);
}

/** One step per case: `script ARGS` exits 2 with one `rtp-…: message` line matching the pattern. */
export async function assertUsageErrors(
  t: Deno.TestContext,
  script: string,
  cases: readonly (readonly [string[], RegExp])[],
): Promise<void> {
  for (const [args, pattern] of cases) {
    await t.step(`${script} ${args.join(" ")}`, async () => {
      const result = await runNetScript(script, args);
      assert.equal(result.code, 2, result.stderr);
      assert.equal(result.stdout, "");
      assert.match(result.stderr, /^rtp-(source|impair): [^\n]+\n$/);
      assert.match(result.stderr, pattern);
    });
  }
}

/** The flags scripts/source.ts and scripts/impair.ts both take (scripts/support/truth_program.ts). */
export const SHARED_SOURCE_FLAGS = [
  "--ttl",
  "--interface",
  "--packets",
  "--duration",
  "--loss",
  "--duplicate",
  "--reorder",
  "--seed",
  "--json",
] as const;

/** `script --help` exits 0 and has a `  --flag ` line for each of `flags`. */
export async function assertHelpLists(script: string, flags: readonly string[]): Promise<void> {
  const result = await runNetScript(script, ["--help"]);
  assert.equal(result.code, 0);
  for (const flag of flags) assert.match(result.stdout, new RegExp(`^  ${flag} `, "m"));
}
