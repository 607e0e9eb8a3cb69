// The log's batched output buffer (lib/common/log_writer.ts): lines gathered and written in order in
// few system calls, at the size limit, after the delay, on dispose, and before the process ends
// (Deno.exit, the end of the program, an uncaught error); partial writes and a failing target.
import assert from "node:assert/strict";
import { LogWriter, type SyncTarget } from "../../lib/common/log_writer.ts";
import { runDeno } from "../../scripts/support/process.ts";

/** A target that records each write's bytes, taking at most `chunk` bytes per call. */
class Recorder implements SyncTarget {
  readonly writes: Uint8Array[] = [];
  constructor(readonly chunk = Infinity) {}
  writeSync(bytes: Uint8Array): number {
    const n = Math.min(bytes.length, this.chunk);
    this.writes.push(bytes.slice(0, n));
    return n;
  }
  get text(): string {
    const all = new Uint8Array(this.writes.reduce((sum, w) => sum + w.length, 0));
    let at = 0;
    for (const w of this.writes) {
      all.set(w, at);
      at += w.length;
    }
    return new TextDecoder("utf-8", { fatal: true }).decode(all);
  }
}

async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("Condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

Deno.test("LogWriter gathers the lines of a burst and writes them with one call after the delay", async () => {
  const target = new Recorder();
  using writer = new LogWriter({ target, flushAfterMs: 10 });
  const lines = Array.from({ length: 500 }, (_, i) => `line ${i}\n`);
  for (const line of lines) writer.write(line);
  assert.equal(target.writes.length, 0, "nothing written on the request's path");
  assert.equal(writer.pending, lines.join("").length);
  await until(() => target.writes.length > 0);
  assert.equal(target.writes.length, 1);
  assert.equal(target.text, lines.join(""));
  assert.equal(writer.pending, 0);
});

Deno.test("LogWriter writes at once when the buffer reaches flushAt, and keeps the order", () => {
  const target = new Recorder();
  using writer = new LogWriter({ target, flushAfterMs: 60_000, flushAt: 100 });
  const lines = Array.from({ length: 30 }, (_, i) => `${String(i).padStart(9, "0")}\n`);
  for (const line of lines) writer.write(line);
  // 10 characters a line: every tenth line fills the buffer.
  assert.equal(target.writes.length, 3);
  assert.equal(target.text, lines.join(""));
});

Deno.test("LogWriter writes multi-byte text and huge records whole, through partial writes", () => {
  for (const chunk of [Infinity, 7]) {
    const target = new Recorder(chunk);
    const writer = new LogWriter({ target, flushAfterMs: 60_000, flushAt: 64 });
    const text = ["gateway·http: é 日本 🎥\n", `${"x".repeat(1000)}é\n`, "\u2028 ok\n"];
    for (const line of text) writer.write(line);
    writer[Symbol.dispose]();
    assert.equal(target.text, text.join(""), `chunk ${chunk}`);
  }
});

Deno.test("LogWriter writes the rest on dispose and on flush(), and survives a failing target", () => {
  const target = new Recorder();
  const writer = new LogWriter({ target, flushAfterMs: 60_000 });
  writer.write("a\n");
  writer.flush();
  assert.equal(target.text, "a\n");
  writer.write("b\n");
  writer[Symbol.dispose]();
  assert.equal(target.text, "a\nb\n");
  const broken = new LogWriter({
    target: {
      writeSync(): number {
        throw new Deno.errors.BrokenPipe("closed");
      },
    },
    flushAfterMs: 60_000,
  });
  broken.write("lost\n");
  broken[Symbol.dispose](); // does not throw
});

Deno.test("LogWriter hands the text to a write function instead of a target", async () => {
  const texts: string[] = [];
  using writer = new LogWriter({ write: (text) => void texts.push(text), flushAfterMs: 5 });
  writer.write("one\n");
  writer.write("two\n");
  await until(() => texts.length > 0);
  assert.deepEqual(texts, ["one\ntwo\n"]);
});

const LOG_WRITER_URL = new URL("../../lib/common/log_writer.ts", import.meta.url).href;

/** A program that buffers `lines` lines to stdout with a one-minute delay, then ends by `ending`. */
function program(lines: number, ending: string): string {
  return `import { LogWriter } from ${JSON.stringify(LOG_WRITER_URL)};
const writer = new LogWriter({ target: Deno.stdout, flushAfterMs: 60_000 });
for (let i = 0; i < ${lines}; i++) writer.write("line " + i + "\\n");
${ending}`;
}

Deno.test("LogWriter loses no line when the process ends: Deno.exit, the program's end, an uncaught error or rejection", async (t) => {
  const expected = Array.from({ length: 2000 }, (_, i) => `line ${i}\n`).join("");
  const endings = [
    ["Deno.exit(3)", 3],
    ["// the program just ends", 0],
    ["throw new Error('boom')", 1],
    ["Promise.reject(new Error('boom'))", 1],
    ["setTimeout(() => { throw new Error('late boom'); }, 10)", 1],
  ] as const;
  for (const [ending, code] of endings) {
    await t.step(ending, async () => {
      const result = await runDeno(["eval", "--quiet", program(2000, ending)]);
      assert.equal(result.code, code, result.stderr);
      assert.equal(result.stdout, expected);
    });
  }
});
