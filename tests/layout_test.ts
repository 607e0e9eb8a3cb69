// The layering rule of lib/ (README "Layout", STYLE.md): shared foundations at the bottom, the
// server, client and source parts above them, and no part importing a part beside it.
import assert from "node:assert/strict";

const lib = new URL("../lib/", import.meta.url);

/** What each folder of lib/ may import besides itself. */
const ALLOWED: Record<string, readonly string[]> = {
  common: [],
  net: ["common"],
  rtp: ["common"],
  ts: ["common"],
  sdp: ["common", "net", "rtp"],
  sap: ["common", "net", "rtp", "sdp"],
  server: ["common", "net", "rtp", "sdp", "sap", "ts"],
  client: ["common", "net", "rtp", "sdp", "sap", "ts"],
  source: ["common", "net", "rtp", "sdp", "ts"],
};

function* tsFiles(dir: URL): Generator<URL> {
  for (const entry of Deno.readDirSync(dir)) {
    const url = new URL(entry.name + (entry.isDirectory ? "/" : ""), dir);
    if (entry.isDirectory) yield* tsFiles(url);
    else if (entry.name.endsWith(".ts")) yield url;
  }
}

/** Folders of lib/ that `text` (the source of `file`) imports, from its relative specifiers. */
function importedParts(text: string, file: URL): { part: string; specifier: string }[] {
  const found: { part: string; specifier: string }[] = [];
  for (const match of text.matchAll(/(?:from|import)\s*\(?\s*"(\.{1,2}\/[^"]+)"/g)) {
    const target = new URL(match[1]!, file);
    if (!target.href.startsWith(lib.href)) continue;
    const part = target.href.slice(lib.href.length).split("/")[0]!;
    found.push({ part, specifier: match[1]! });
  }
  return found;
}

Deno.test("lib/ has only the known part folders, and no file at its top", () => {
  for (const entry of Deno.readDirSync(lib)) {
    assert.ok(entry.isDirectory, `lib/${entry.name} should live in a part folder`);
    assert.ok(entry.name in ALLOWED, `lib/${entry.name}/ is not a known part (see ALLOWED)`);
  }
});

Deno.test("each part of lib/ imports only the parts below it: client and server never each other", () => {
  const violations: string[] = [];
  for (const file of tsFiles(lib)) {
    const part = file.href.slice(lib.href.length).split("/")[0]!;
    for (const { part: imported, specifier } of importedParts(Deno.readTextFileSync(file), file)) {
      if (imported === part) continue;
      if (!ALLOWED[part]?.includes(imported)) {
        violations.push(`lib/${file.href.slice(lib.href.length)} imports ${specifier}`);
      }
    }
  }
  assert.deepEqual(violations, []);
});

Deno.test("the layout scan finds a client file importing the server", () => {
  const file = new URL("client/example.ts", lib);
  const text = 'import { createHandler } from "../server/http_app.ts";\nimport "./view.ts";\n';
  const parts = importedParts(text, file);
  assert.deepEqual(parts.map((p) => p.part), ["server", "client"]);
  assert.ok(!ALLOWED.client!.includes("server"));
});
