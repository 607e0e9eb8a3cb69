// The access log's fixed-layout lines (lib/server/access_log.ts) against LogTape's own records of the
// same request formatted by lib/common/logging.ts, byte for byte, for text and JSON lines; hostile
// paths stay on one line; through createHandler() and a real Deno.serve with raw request targets.
import assert from "node:assert/strict";
import { configureSync, getLogger, type LogRecord, resetSync } from "@logtape/logtape";
import { recordFormatter } from "../../lib/common/logging.ts";
import { type LogFormat } from "../../lib/common/logging.ts";
import {
  ACCESS_CATEGORY,
  ACCESS_TEMPLATE,
  accessLine,
  FixedAccessLog,
} from "../../lib/server/access_log.ts";
import { Catalog, validateStreams } from "../../lib/server/catalog.ts";
import { createHandler } from "../../lib/server/http_app.ts";
import { LogWriter } from "../../lib/common/log_writer.ts";
import { mulberry32 } from "../../lib/common/prng.ts";

const offerText = Deno.readTextFileSync(
  new URL("../testdata/offer_vlc_style.sdp", import.meta.url),
);
const catalog = new Catalog(
  validateStreams([{
    name: "default",
    address: "239.0.0.1",
    port: 5004,
    formats: [{ payloadType: 33 }],
  }]),
);

/** What a log line must not carry raw: C0 controls but tab, DEL, C1 controls, U+2028, U+2029. */
const RAW_CONTROL = new RegExp(String.raw`[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]`);

/** Request lines whose parts a peer chooses, hostile ones among them. */
const CASES: readonly { name: string; method: string; path: string; status: number; ms: number }[] =
  [
    { name: "an offer", method: "POST", path: "/offer", status: 200, ms: 5.65 },
    { name: "a whole duration", method: "GET", path: "/streams", status: 200, ms: 3 },
    { name: "a zero duration", method: "HEAD", path: "/", status: 200, ms: 0 },
    {
      name: "a query-less encoded path",
      method: "GET",
      path: "/streams/a%20b.sdp",
      status: 404,
      ms: 0.01,
    },
    { name: "quotes and backslashes", method: "GET", path: '/a"b\\c"', status: 404, ms: 1.5 },
    {
      name: "a newline and a forged line",
      method: "GET",
      path: "/x\n2026 [INF] forged",
      status: 404,
      ms: 1,
    },
    { name: "a carriage return", method: "GET", path: "/x\rforged", status: 404, ms: 1 },
    { name: "a terminal escape", method: "GET", path: "/\x1b[31mred\x1b[0m", status: 404, ms: 1 },
    { name: "NUL, DEL and a tab", method: "GET", path: "/a\x00b\x7fc\td", status: 404, ms: 1 },
    { name: "C1 controls (NEL, CSI)", method: "GET", path: "/a\x85b\x9bc", status: 404, ms: 1 },
    {
      name: "line and paragraph separators",
      method: "GET",
      path: "/a\u2028b\u2029c",
      status: 404,
      ms: 1,
    },
    { name: "non-ASCII text", method: "GET", path: "/chaîne/日本/🎥", status: 404, ms: 12.34 },
    { name: "a lone surrogate", method: "GET", path: "/a\ud800b", status: 404, ms: 1 },
    { name: "an odd method", method: 'PRO"PFIND', path: "/", status: 405, ms: 0.5 },
  ];

/** LogTape's own record of the access line, formatted as the server's log formats it. */
function logTapeLine(
  format: LogFormat,
  c: (typeof CASES)[number],
): { line: string; record: LogRecord } {
  const records: LogRecord[] = [];
  configureSync({
    reset: true,
    sinks: { capture: (record) => void records.push(record) },
    loggers: [
      { category: ["gateway"], lowestLevel: "info", sinks: ["capture"] },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: [] },
    ],
  });
  try {
    getLogger([...ACCESS_CATEGORY]).info(ACCESS_TEMPLATE, {
      method: c.method,
      path: c.path,
      status: c.status,
      durationMs: c.ms,
    });
  } finally {
    resetSync();
  }
  assert.equal(records.length, 1);
  return { line: recordFormatter(format)(records[0]!), record: records[0]! };
}

for (const format of ["text", "json"] as const) {
  Deno.test(`accessLine() writes the ${format} line LogTape's record of the request gives, byte for byte`, async (t) => {
    for (const c of CASES) {
      await t.step(c.name, () => {
        const { line, record } = logTapeLine(format, c);
        const ours = accessLine(format, record.timestamp, c.method, c.path, c.status, c.ms);
        assert.equal(ours, line);
        // One line, ending in its newline: no peer-chosen character ends it early or drives a terminal.
        assert.ok(ours.endsWith("\n"));
        assert.doesNotMatch(ours.slice(0, -1), RAW_CONTROL);
      });
    }
  });
}

Deno.test("accessLine() JSON lines parse back to the request's exact fields", () => {
  for (const c of CASES) {
    const line = accessLine(
      "json",
      Date.UTC(2026, 11, 1, 23, 46, 40, 342),
      c.method,
      c.path,
      c.status,
      c.ms,
    );
    const parsed = JSON.parse(line);
    assert.deepEqual(parsed, {
      "@timestamp": "2026-12-01T23:46:40.342Z",
      level: "info",
      logger: "gateway.http",
      message: `${c.method} ${c.path} ${c.status} ${c.ms}ms`,
      properties: { method: c.method, path: c.path, status: c.status, durationMs: c.ms },
    }, c.name);
  }
});

Deno.test("accessLine() text lines have LogTape's layout and escape controls as LogTape's sanitizer does", () => {
  const at = Date.UTC(2026, 11, 1, 23, 46, 40, 342);
  assert.equal(
    accessLine("text", at, "POST", "/offer", 200, 5.65),
    "2026-12-01 23:46:40.342 +00:00 [INF] gateway·http: POST /offer 200 5.65ms\n",
  );
  assert.equal(
    accessLine("text", at, "GET", "/x\n\x1b[2J\u2028", 404, 1),
    "2026-12-01 23:46:40.342 +00:00 [INF] gateway·http: GET /x\\n\\x1b[2J\\u2028 404 1ms\n",
  );
});

Deno.test("FixedAccessLog stamps each line with the clock's millisecond, in order", () => {
  const lines: string[] = [];
  let now = Date.UTC(2026, 0, 2, 3, 4, 5, 6);
  for (const format of ["text", "json"] as const) {
    const log = new FixedAccessLog({ format, write: (line) => lines.push(line), now: () => now });
    log.record("POST", "/offer", 200, 1.25);
    log.record("GET", "/healthz", 200, 0.5);
    now += 1;
    log.record("GET", "/streams", 200, 0.75);
    assert.deepEqual(lines.splice(0), [
      accessLine(format, now - 1, "POST", "/offer", 200, 1.25),
      accessLine(format, now - 1, "GET", "/healthz", 200, 0.5),
      accessLine(format, now, "GET", "/streams", 200, 0.75),
    ]);
    now += 1000;
  }
});

Deno.test("createHandler() gives one access line per request with its method, path, status and duration", async () => {
  const lines: string[] = [];
  const handler = createHandler({
    catalog: () => catalog,
    accessLog: new FixedAccessLog({ format: "json", write: (line) => lines.push(line) }),
  });
  const offer = await handler(
    new Request("http://127.0.0.1:8080/offer", {
      method: "POST",
      headers: { "content-type": "application/sdp" },
      body: offerText,
    }),
  );
  assert.equal(offer.status, 200);
  await offer.body?.cancel();
  const missing = await handler(new Request("http://127.0.0.1:8080/nope%0Aforged?q=1"));
  assert.equal(missing.status, 404);
  await missing.body?.cancel();
  const wrong = await handler(new Request("http://127.0.0.1:8080/offer", { method: "DELETE" }));
  assert.equal(wrong.status, 405);
  await wrong.body?.cancel();
  const records = lines.map((line) => JSON.parse(line));
  assert.deepEqual(
    records.map((r) => [r.properties.method, r.properties.path, r.properties.status, r.logger]),
    [
      ["POST", "/offer", 200, "gateway.http"],
      ["GET", "/nope%0Aforged", 404, "gateway.http"],
      ["DELETE", "/offer", 405, "gateway.http"],
    ],
  );
  for (const r of records) {
    const ms = r.properties.durationMs;
    assert.ok(typeof ms === "number" && ms >= 0 && ms < 10_000, `duration ${ms}`);
    assert.equal(Math.round(ms * 100) / 100, ms, "rounded to 0.01 ms");
    assert.equal(
      r.message,
      `${r.properties.method} ${r.properties.path} ${r.properties.status} ${ms}ms`,
    );
  }
});

/** Sends `head` (a request line and headers) over TCP and returns the status code of the answer. */
async function rawRequest(port: number, head: Uint8Array): Promise<number> {
  using connection = await Deno.connect({ hostname: "127.0.0.1", port });
  await connection.write(head);
  const buffer = new Uint8Array(4096);
  let text = "";
  while (!text.includes("\r\n")) {
    const n = await connection.read(buffer);
    if (n === null) break;
    text += new TextDecoder().decode(buffer.subarray(0, n));
  }
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
}

Deno.test("a real Deno.serve: raw request targets with quotes, backslashes and UTF-8 line separators log one line each", async () => {
  const targets = ['/a"b\\c', "/\u2028forged", "/\u0085x", "/é?x=1"];
  for (const format of ["text", "json"] as const) {
    const lines: string[] = [];
    const handler = createHandler({
      catalog: () => catalog,
      accessLog: new FixedAccessLog({ format, write: (line) => lines.push(line) }),
    });
    await using server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, handler);
    const encoder = new TextEncoder();
    for (const target of targets) {
      const head = encoder.encode(
        `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`,
      );
      const status = await rawRequest(server.addr.port, head);
      assert.equal(status, 404, JSON.stringify(target));
    }
    const deadline = Date.now() + 5000;
    while (lines.length < targets.length && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.equal(lines.length, targets.length, `${format}: one line per request`);
    for (const line of lines) {
      assert.equal(line.indexOf("\n"), line.length - 1, `${format}: ${JSON.stringify(line)}`);
      assert.doesNotMatch(line.slice(0, -1), RAW_CONTROL);
    }
    // The characters reached the path raw (Deno passes them through) and were escaped, not lost.
    const paths = targets.map((target) => target.split("?")[0]!);
    if (format === "json") {
      assert.deepEqual(lines.map((line) => JSON.parse(line).properties.path), paths);
    } else {
      assert.deepEqual(
        lines.map((line) => / gateway·http: GET (\S+) 404 /.exec(line)?.[1]),
        ['/a"b\\c', "/\\u2028forged", "/\\x85x", "/é"],
      );
    }
  }
});

/** A LogWriter target that keeps what is written. */
function capture(): { target: { writeSync(bytes: Uint8Array): number }; text: () => string } {
  const chunks: Uint8Array[] = [];
  return {
    target: {
      writeSync(bytes: Uint8Array): number {
        chunks.push(bytes.slice());
        return bytes.length;
      },
    },
    text: () => chunks.map((c) => new TextDecoder().decode(c)).join(""),
  };
}

Deno.test("FixedAccessLog writes the same lines as bytes into the log's buffer as accessLine() does", () => {
  const durations = [0, 0.01, 0.05, 0.1, 0.5, 0.99, 1, 1.1, 5.65, 10, 12.34, 100.1, 99_999.99];
  const random = mulberry32(7);
  for (let i = 0; i < 2000; i++) {
    durations.push(Math.round(random() * 10 ** (1 + (i % 9)) * 100) / 100);
  }
  const statuses = [100, 200, 204, 304, 404, 413, 503, 599];
  for (const format of ["text", "json"] as const) {
    const out = capture();
    const at = Date.UTC(2026, 11, 1, 23, 46, 40, 342);
    let now = at;
    const expected: string[] = [];
    {
      using writer = new LogWriter({ target: out.target, flushAfterMs: 60_000, flushAt: 4096 });
      // LogTape's lines go through the same buffer: the order is kept.
      writer.write("a LogTape line é\n");
      expected.push("a LogTape line é\n");
      const log = new FixedAccessLog({ format, writer, now: () => now });
      for (const [i, ms] of durations.entries()) {
        const status = statuses[i % statuses.length]!;
        const c = CASES[i % CASES.length]!;
        log.record(c.method, c.path, status, ms);
        expected.push(accessLine(format, now, c.method, c.path, status, ms));
        if (i % 7 === 0) now++;
      }
    }
    // As bytes: a lone surrogate in a path is written as U+FFFD either way.
    const bytes = (text: string) => new TextDecoder().decode(new TextEncoder().encode(text));
    assert.equal(out.text(), bytes(expected.join("")), format);
  }
});
