// The server's --help and README's table of server flags name the same flags, so neither can gain
// a flag the other does not document.
import assert from "node:assert/strict";
import { SERVER_USAGE } from "../../lib/server/config.ts";

/** The flags `--help` lists in its option lines (the usage line and prose are not option lines). */
function usageFlags(): Set<string> {
  const flags = new Set<string>();
  for (const line of SERVER_USAGE.split("\n")) {
    const option = /^ {2}(?:-[a-zA-Z], )?(--[a-z][a-z-]*.*?)(?: {2,}|$)/.exec(line)?.[1];
    if (option === undefined) continue;
    for (const match of option.matchAll(/--[a-z][a-z-]*/g)) flags.add(match[0]);
  }
  flags.delete("--help");
  flags.delete("--version");
  return flags;
}

/** The flags of the first column of README's server table. */
function readmeFlags(): Set<string> {
  const readme = Deno.readTextFileSync(new URL("../../README.md", import.meta.url));
  const section = readme.slice(readme.indexOf("## Server ("), readme.indexOf("### Catalog file"));
  const flags = new Set<string>();
  for (const line of section.split("\n")) {
    const first = /^\| ([^|]+)\|/.exec(line)?.[1];
    if (first === undefined) continue;
    for (const match of first.matchAll(/`(--[a-z][a-z-]*)`/g)) flags.add(match[1]!);
  }
  return flags;
}

Deno.test("README's server flag table and --help name the same flags", () => {
  const usage = usageFlags();
  const readme = readmeFlags();
  assert.ok(usage.size > 30, `${usage.size} flags in --help`);
  assert.deepEqual([...readme].filter((f) => !usage.has(f)), [], "in README, not in --help");
  assert.deepEqual([...usage].filter((f) => !readme.has(f)), [], "in --help, not in README");
});
