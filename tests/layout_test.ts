// The layering rules (README "Layout", STYLE.md): in lib/, shared foundations at the bottom, the
// server, client and source parts above them, and no part importing a part beside it; scripts never
// import tests/, and tests import from scripts/ only its support/ (or the script a test is about).
import assert from "node:assert/strict";

const root = new URL("../", import.meta.url);
const lib = new URL("lib/", root);
const scripts = new URL("scripts/", root);
const scriptSupport = new URL("scripts/support/", root);
const tests = new URL("tests/", root);

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

/** The files that `text` (the source of `file`) imports through relative specifiers. */
function importedFiles(text: string, file: URL): { target: URL; specifier: string }[] {
  return [...text.matchAll(/(?:from|import)\s*\(?\s*"(\.{1,2}\/[^"]+)"/g)].map((match) => ({
    target: new URL(match[1]!, file),
    specifier: match[1]!,
  }));
}

/** Repository-relative path of a file URL. */
function relative(file: URL): string {
  return file.href.slice(root.href.length);
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

Deno.test("lib/ imports neither scripts/ nor tests/", () => {
  const violations: string[] = [];
  for (const file of tsFiles(lib)) {
    for (const { target, specifier } of importedFiles(Deno.readTextFileSync(file), file)) {
      if (target.href.startsWith(scripts.href) || target.href.startsWith(tests.href)) {
        violations.push(`${relative(file)} imports ${specifier}`);
      }
    }
  }
  assert.deepEqual(violations, []);
});

Deno.test("scripts never import tests/, and scripts/support/ imports no script", () => {
  const violations: string[] = [];
  for (const file of tsFiles(scripts)) {
    const inSupport = file.href.startsWith(scriptSupport.href);
    for (const { target, specifier } of importedFiles(Deno.readTextFileSync(file), file)) {
      const intoScripts = target.href.startsWith(scripts.href) &&
        !target.href.startsWith(scriptSupport.href);
      if (target.href.startsWith(tests.href) || (inSupport && intoScripts)) {
        violations.push(`${relative(file)} imports ${specifier}`);
      }
    }
  }
  assert.deepEqual(violations, []);
});

Deno.test("tests import from scripts/ only scripts/support/, or the script they test", () => {
  const violations: string[] = [];
  for (const file of tsFiles(tests)) {
    // tests/scripts/NAME_test.ts may import scripts/NAME.ts to run it in-process.
    const subject = /^tests\/scripts\/(.+)_test\.ts$/.exec(relative(file))?.[1];
    for (const { target, specifier } of importedFiles(Deno.readTextFileSync(file), file)) {
      if (!target.href.startsWith(scripts.href) || target.href.startsWith(scriptSupport.href)) {
        continue;
      }
      if (subject !== undefined && relative(target) === `scripts/${subject}.ts`) continue;
      violations.push(`${relative(file)} imports ${specifier}`);
    }
  }
  assert.deepEqual(violations, []);
});
