// Tests of lib/server/report_validation.ts: a report the client writes is accepted with its figures;
// each malformed body is refused with a ReportError naming the field; a fuzz slice of mutated and
// random bodies never throws anything else.
import assert from "node:assert/strict";
import { parseReport, ReportError } from "../../lib/server/report_validation.ts";
import { mulberry32 } from "../../lib/common/prng.ts";
import { sampleReport } from "../../scripts/support/sample_report.ts";

const encoder = new TextEncoder();

function bytes(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value;
  return encoder.encode(typeof value === "string" ? value : JSON.stringify(value));
}

Deno.test("parseReport() accepts the client's report and keeps its figures", () => {
  const report = parseReport(bytes(sampleReport()), "news");
  assert.equal(report.receiverId, "probe-1");
  assert.equal(report.records.length, 2);
  const second = report.records[1]!;
  assert.deepEqual(
    [second.packets, second.expected, second.lost, second.duplicates, second.state, second.ssrc],
    [190, 200, 10, 1, "receiving", 305441741],
  );
  assert.equal(second.ts?.ccErrors, 2);
  assert.equal(second.ts?.pids[1]?.streamType, "H.264");
  assert.equal(second.ts?.services[0]?.name, "News");
  assert.equal(report.summary[0]!.stalls, 1);
  assert.equal(report.summary[0]!.lost, 20);
});

Deno.test("parseReport() ignores unknown keys and never keeps them, __proto__ included", () => {
  const raw = sampleReport();
  const text = JSON.stringify({ ...raw, extra: { deep: [1, 2] } })
    .replace('"type":"stats"', '"__proto__":{"polluted":true},"futureKey":"x","type":"stats"');
  const report = parseReport(encoder.encode(text), "news");
  const record = report.records[0] as unknown as Record<string, unknown>;
  assert.equal(record.futureKey, undefined);
  assert.equal(Object.getPrototypeOf(record), Object.prototype);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.deepEqual(parseReport(bytes({ receiverId: "r", records: [] }), "news").records, []);
});

Deno.test("parseReport() refuses malformed reports, naming the field", async (t) => {
  const withRecord = (patch: Record<string, unknown>) => {
    const raw = sampleReport();
    (raw.records as Record<string, unknown>[])[1] = {
      ...(raw.records as Record<string, unknown>[])[1],
      ...patch,
    };
    return raw;
  };
  const withTs = (patch: Record<string, unknown>) =>
    withRecord({ ts: { ...(sampleReport().records as { ts: object }[])[0]!.ts, ...patch } });
  const cases: [string, unknown, string][] = [
    ["not JSON", "{receiverId:", ""],
    ["not UTF-8", Uint8Array.of(0x7b, 0xff, 0x7d), ""],
    ["an array", [sampleReport()], "report"],
    ["no receiver id", { records: [] }, "receiverId"],
    ["a receiver id with a space", { receiverId: "a b", records: [] }, "receiverId"],
    ["a receiver id of 65 characters", { receiverId: "r".repeat(65), records: [] }, "receiverId"],
    ["another stream", { receiverId: "r", stream: "sport", records: [] }, "stream"],
    ["records not an array", { receiverId: "r", records: {} }, "records"],
    [
      "too many records",
      { receiverId: "r", records: Array(121).fill({ type: "stats" }) },
      "records",
    ],
    ["a summary record in records", withRecord({ type: "summary" }), "records[1].type"],
    ["a negative count", withRecord({ lost: -1 }), "records[1].lost"],
    ["a fractional count", withRecord({ packets: 1.5 }), "records[1].packets"],
    ["a count past 2^53", withRecord({ packets: 2 ** 60 }), "records[1].packets"],
    [
      "an infinite jitter",
      '{"receiverId":"r","records":[{"type":"stats","jitterMs":1e400}]}',
      "records[0].jitterMs",
    ],
    ["a fraction over 1", withRecord({ fractionLost: 1.5 }), "records[1].fractionLost"],
    ["a count as a string", withRecord({ packets: "190" }), "records[1].packets"],
    ["an unknown state", withRecord({ state: "dead" }), "records[1].state"],
    ["an SSRC past 32 bits", withRecord({ ssrc: 2 ** 32 }), "records[1].ssrc"],
    ["a port past 65535", withRecord({ port: 70000 }), "records[1].port"],
    ["a NUL in a string", withRecord({ time: "2026\u0000" }), "records[1].time"],
    [
      "a newline in a string",
      withRecord({ group: "239.0.0.1\nX-Injected: 1" }),
      "records[1].group",
    ],
    ["a right-to-left override", withRecord({ stream: "news\u202e" }), "records[1].stream"],
    ["a lone surrogate", withRecord({ time: "\ud800" }), "records[1].time"],
    ["a string of 257 characters", withRecord({ time: "t".repeat(257) }), "records[1].time"],
    ["ts not an object", withRecord({ ts: [1] }), "records[1].ts"],
    ["a negative TS counter", withTs({ ccErrors: -2 }), "records[1].ts.ccErrors"],
    ["too many PIDs", withTs({ pids: Array(65).fill({ pid: 1 }) }), "records[1].ts.pids"],
    ["a PID past 8191", withTs({ pids: [{ pid: 8192 }] }), "records[1].ts.pids[0].pid"],
    [
      "scrambled not a boolean",
      withTs({ pids: [{ pid: 1, scrambled: "yes" }] }),
      "records[1].ts.pids[0].scrambled",
    ],
    [
      "a service number past 65535",
      withTs({ services: [{ number: 65536 }] }),
      "records[1].ts.services[0].number",
    ],
    [
      "a provider with a control character",
      withTs({ services: [{ number: 1, provider: "\u0007" }] }),
      "records[1].ts.services[0].provider",
    ],
    ["too many summary records", {
      receiverId: "r",
      records: [],
      summary: Array(17).fill({ type: "summary" }),
    }, "summary"],
  ];
  for (const [name, body, field] of cases) {
    await t.step(name, () => {
      assert.throws(() => parseReport(bytes(body), "news"), (error: unknown) => {
        assert.ok(error instanceof ReportError, String(error));
        assert.equal(error.field, field);
        assert.ok(!error.message.includes("\n"), "one line");
        return true;
      });
    });
  }
});

Deno.test("parseReport() fuzz: mutated and random bodies give a report or a ReportError, nothing else", () => {
  const random = mulberry32(13);
  const valid = bytes(sampleReport());
  const values: unknown[] = [
    null,
    true,
    -1,
    0,
    1.5,
    2 ** 64,
    "",
    "x".repeat(300),
    [],
    {},
    [[[]]],
    "\u0000",
  ];
  let accepted = 0;
  for (let i = 0; i < 3000; i++) {
    let input: Uint8Array;
    const kind = i % 3;
    if (kind === 0) {
      input = valid.slice(0, Math.floor(random() * valid.length));
      const flips = 1 + Math.floor(random() * 4);
      for (let f = 0; f < flips && input.length > 0; f++) {
        input[Math.floor(random() * input.length)] = Math.floor(random() * 256);
      }
    } else if (kind === 1) {
      // Replace one value somewhere in the report's tree with a hostile one.
      const report = sampleReport();
      const paths: [Record<string, unknown>, string][] = [];
      const walk = (node: unknown) => {
        if (typeof node !== "object" || node === null) return;
        for (const key of Object.keys(node)) {
          paths.push([node as Record<string, unknown>, key]);
          walk((node as Record<string, unknown>)[key]);
        }
      };
      walk(report);
      const [parent, key] = paths[Math.floor(random() * paths.length)]!;
      parent[key] = values[Math.floor(random() * values.length)];
      input = bytes(report);
    } else {
      input = Uint8Array.from(
        { length: Math.floor(random() * 300) },
        () => Math.floor(random() * 256),
      );
      if (random() < 0.5 && input.length > 0) input[0] = 0x7b;
    }
    try {
      parseReport(input, "news");
      accepted++;
    } catch (error) {
      assert.ok(error instanceof ReportError, `input ${i}: ${error}`);
    }
  }
  assert.ok(accepted > 50, `some mutations stay valid (${accepted})`);
});

Deno.test("parseReport() refuses deeply nested JSON without a stack overflow escaping", () => {
  const deep = `{"receiverId":"r","records":[],"x":${"[".repeat(60000)}${"]".repeat(60000)}}`;
  try {
    parseReport(encoder.encode(deep), "news");
  } catch (error) {
    assert.ok(error instanceof ReportError, String(error));
  }
});
