// The server's V8 flags and permission set are spelled once, in scripts/support/server_flags.ts:
// deno.json's tasks and the README cannot import it, so this test holds them to it, and no other
// source file may spell the flags itself.
import assert from "node:assert/strict";
import {
  SERVER_PERMISSION_SET,
  SERVER_V8_FLAGS,
  SERVER_V8_FLAGS_ARG,
} from "../../scripts/support/server_flags.ts";

const root = new URL("../../", import.meta.url);

function* sourceFiles(dir: URL): Generator<URL> {
  for (const entry of Deno.readDirSync(dir)) {
    if (entry.name.startsWith(".") || entry.name === "node_modules" || entry.name === "dist") {
      continue;
    }
    const url = new URL(entry.name + (entry.isDirectory ? "/" : ""), dir);
    if (entry.isDirectory) yield* sourceFiles(url);
    else if (entry.name.endsWith(".ts")) yield url;
  }
}

Deno.test("deno.json's server tasks run server.ts with SERVER_V8_FLAGS and its permission set", () => {
  const config = JSON.parse(Deno.readTextFileSync(new URL("deno.json", root))) as {
    tasks: Record<string, string>;
    permissions: Record<string, unknown>;
  };
  for (const task of ["server", "dev"]) {
    const line = config.tasks[task] ?? "";
    assert.match(line, /\bserver\.ts\b/, `task ${task} runs server.ts`);
    const flags = line.split(/\s+/).filter((word) => word.startsWith("--v8-flags="));
    assert.deepEqual(flags, [SERVER_V8_FLAGS_ARG], `task ${task}: ${line}`);
    assert.ok(line.split(/\s+/).includes(`-P=${SERVER_PERMISSION_SET}`), `task ${task}: ${line}`);
  }
  assert.ok(SERVER_PERMISSION_SET in config.permissions);
});

Deno.test("the README shows the server's V8 flags as SERVER_V8_FLAGS", () => {
  const readme = Deno.readTextFileSync(new URL("README.md", root));
  const spelled = [...readme.matchAll(/--optimize-for-size[^\s`]*/g)].map((m) => m[0]);
  assert.ok(spelled.length >= 1, "the README names the flags");
  for (const text of spelled) assert.equal(text, SERVER_V8_FLAGS);
});

Deno.test("no source file but scripts/support/server_flags.ts spells the server's V8 flags", () => {
  const own = new URL("scripts/support/server_flags.ts", root).href;
  const self = import.meta.url;
  const spelling = [];
  for (const file of sourceFiles(root)) {
    if (file.href === own || file.href === self) continue;
    if (Deno.readTextFileSync(file).includes("--max-old-space-size")) {
      spelling.push(file.href.slice(root.href.length));
    }
  }
  assert.deepEqual(spelling, []);
});
