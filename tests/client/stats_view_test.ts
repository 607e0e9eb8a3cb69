// Tests of lib/client/stats_view.ts: the `stats` and `summary` JSON lines a client writes (their
// documented keys in order, quiet intervals, stall figures), and the table drawn from the same snapshot.
import assert from "node:assert/strict";
import { ReceiverStats } from "../../lib/rtp/session_stats.ts";
import { intervalRecords, STATS_KEYS, summaryRecords } from "../../lib/client/stats_view.ts";
import { renderTable } from "../../lib/client/stats_table.ts";
import { mp2tPacket, viewContext } from "../support/receiver_fixtures.ts";

const context = viewContext({
  interfaceName: "any interface",
  formats: [{ payloadType: 33, encoding: "MP2T", clockRate: 90000 }],
  elapsedS: 2,
});

function feed(): ReceiverStats {
  const stats = new ReceiverStats({ clockRates: new Map([[33, 90000]]) });
  for (let i = 0; i < 100; i++) {
    if (i === 50) continue; // one loss
    stats.onDatagram(mp2tPacket(i, 0xabcd, i * 450), i * 5);
  }
  stats.onDatagram(new Uint8Array([1, 2, 3]), 500);
  return stats;
}

Deno.test("intervalRecords() has exactly the documented keys, in order", () => {
  const stats = feed();
  const records = intervalRecords(stats.takeInterval(1000), context, new Date(0));
  assert.equal(records.length, 1);
  assert.deepEqual(Object.keys(records[0]!), [...STATS_KEYS]);
  assert.deepEqual(
    [
      records[0]!.type,
      records[0]!.ssrc,
      records[0]!.payloadType,
      records[0]!.packets,
      records[0]!.lost,
      records[0]!.invalid,
    ],
    ["stats", 0xabcd, 33, 99, 1, 1],
  );
  assert.equal(records[0]!.time, "1970-01-01T00:00:00.000Z");
});

Deno.test("intervalRecords() still reports a quiet interval, and before any packet with ssrc null", () => {
  const stats = feed();
  stats.takeInterval(1000);
  const quiet = intervalRecords(
    stats.takeInterval(2000),
    { ...context, state: "stalled" },
    new Date(0),
  );
  assert.deepEqual([quiet[0]!.ssrc, quiet[0]!.packets, quiet[0]!.state], [0xabcd, 0, "stalled"]);
  const empty = intervalRecords(new ReceiverStats().takeInterval(1000), {
    ...context,
    state: "waiting",
  }, new Date(0));
  assert.deepEqual([empty[0]!.ssrc, empty[0]!.packets], [null, 0]);
});

Deno.test("summaryRecords() adds durationS and stall figures to the cumulative keys", () => {
  const stats = feed();
  const [summary] = summaryRecords(stats.snapshot(1000), {
    ...context,
    stalls: 2,
    stalledS: 3.5,
    elapsedS: 10,
  }, new Date(0));
  assert.deepEqual(Object.keys(summary!).slice(0, STATS_KEYS.length), [...STATS_KEYS]);
  assert.deepEqual(
    [
      summary!.type,
      summary!.packets,
      summary!.expected,
      summary!.lost,
      summary!.durationS,
      summary!.stalls,
      summary!.stalledS,
    ],
    ["summary", 99, 100, 1, 10, 2, 3.5],
  );
});

Deno.test("renderTable() shows the header and one row per active source", () => {
  const stats = feed();
  const text = renderTable(stats.snapshot(1000), stats.takeInterval(1000), context);
  const lines = text.trimEnd().split("\n");
  assert.match(
    lines[0]!,
    /239\.0\.0\.1 port 5004 {2}MP2T\/90000 \(PT 33\) {2}on any interface {2}RECEIVING/,
  );
  assert.match(lines[2]!, /^0x0000abcd +33 +99 +1 +1\.00 +0 +0 /);
  assert.match(lines[3]!, /invalid 1/);
});
