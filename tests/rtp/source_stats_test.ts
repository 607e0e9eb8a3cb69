// Tests of lib/stream_stats.ts: per-SSRC receiver statistics (RFC 3550 A.3 loss and fraction
// lost, A.8 jitter), counted from injected arrival times, so no test waits on a clock.

import assert from "node:assert/strict";
import type { RtpHeaderFields } from "../../lib/rtp/packet.ts";
import { SourceStats, WIRE_OVERHEAD_BYTES } from "../../lib/rtp/source_stats.ts";

const SSRC = 0x11223344;
const DATAGRAM = 1328; // 12-byte header + 7 × 188-byte MPEG-TS packets
const PAYLOAD = 1316;

function fields(sequenceNumber: number, timestamp = 0, payloadType = 33): RtpHeaderFields {
  return {
    payloadType,
    marker: false,
    sequenceNumber: sequenceNumber & 0xffff,
    timestamp: timestamp >>> 0,
    ssrc: SSRC,
    payloadOffset: 12,
    payloadLength: PAYLOAD,
  };
}

/** Feeds `seqs` with a constant transit: packet n has timestamp n × 900 and arrives at n × 10 ms (90 kHz). */
function feedSteady(stats: SourceStats, seqs: readonly number[], startMs = 0): void {
  seqs.forEach((seq, i) =>
    stats.update(fields(seq, (startMs + i * 10) * 90), DATAGRAM, startMs + i * 10)
  );
}

function range(from: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => (from + i) & 0xffff);
}

Deno.test("SourceStats counts an in-order stream: packets, bytes, expected, no loss", () => {
  const stats = new SourceStats({ ssrc: SSRC, clockRate: 90000 });
  feedSteady(stats, range(100, 500));
  const s = stats.snapshot(5000);
  assert.equal(s.ssrc, SSRC);
  assert.equal(s.payloadType, 33);
  assert.equal(s.valid, true);
  assert.equal(s.packets, 500);
  assert.equal(s.bytes, 500 * DATAGRAM);
  assert.equal(s.payloadBytes, 500 * PAYLOAD);
  assert.equal(s.expected, 500);
  assert.equal(s.lost, 0);
  assert.equal(s.fractionLost, 0);
  assert.equal(s.duplicates, 0);
  assert.equal(s.reordered, 0);
  assert.equal(s.jitter, 0);
  assert.equal(s.firstArrivalMs, 0);
  assert.equal(s.lastArrivalMs, 4990);
});

Deno.test("SourceStats counts single and burst loss", async (t) => {
  await t.step("single loss", () => {
    const stats = new SourceStats({ ssrc: SSRC, clockRate: 90000 });
    feedSteady(stats, range(1, 100).filter((seq) => seq !== 50));
    const s = stats.snapshot(1000);
    assert.equal(s.expected, 100);
    assert.equal(s.lost, 1);
    assert.equal(s.fractionLost, 0.01);
    assert.equal(s.packets, 99);
  });
  await t.step("burst of 20 across a wrap", () => {
    const stats = new SourceStats({ ssrc: SSRC, clockRate: 90000 });
    feedSteady(stats, [...range(65500, 30), ...range(65550, 30)]);
    const s = stats.snapshot(1000);
    assert.equal(s.expected, 80);
    assert.equal(s.lost, 20);
    assert.equal(s.fractionLost, 0.25);
  });
});

Deno.test("SourceStats keeps loss right when duplicates outnumber losses", () => {
  const stats = new SourceStats({ ssrc: SSRC, clockRate: 90000 });
  // 1..10 without 4; 7 arrives four times. A counter of "received" including duplicates would
  // give 12 received for 10 expected: lost −2 (or 2^32 − 2 unsigned).
  feedSteady(stats, [1, 2, 3, 5, 6, 7, 7, 7, 7, 8, 9, 10]);
  const s = stats.snapshot(1000);
  assert.equal(s.packets, 12);
  assert.equal(s.duplicates, 3);
  assert.equal(s.expected, 10);
  assert.equal(s.lost, 1);
  assert.equal(s.fractionLost, 0.1);
});

Deno.test("SourceStats never reports negative loss when late packets precede the first one", () => {
  const stats = new SourceStats({ ssrc: SSRC, clockRate: 90000 });
  feedSteady(stats, [10, 11, 12, 9, 8, 7, 12, 12]);
  const s = stats.snapshot(1000);
  assert.equal(s.expected, 3);
  assert.equal(s.lost, 0);
  assert.equal(s.fractionLost, 0);
  assert.equal(s.reordered, 3);
  assert.equal(s.duplicates, 2);
});

Deno.test("SourceStats counts reordered packets without loss", () => {
  const stats = new SourceStats({ ssrc: SSRC, clockRate: 90000 });
  feedSteady(stats, [1, 2, 4, 3, 5, 8, 6, 7, 9]);
  const s = stats.snapshot(1000);
  assert.equal(s.reordered, 3);
  assert.equal(s.duplicates, 0);
  assert.equal(s.expected, 9);
  assert.equal(s.lost, 0);
  assert.equal(s.packets, 9);
});

Deno.test("SourceStats counts a late pre-wrap packet after a wrap without false loss", () => {
  const stats = new SourceStats({ ssrc: SSRC, clockRate: 90000 });
  feedSteady(stats, [65533, 65534, 0, 1, 2, 65535, 3]);
  const s = stats.snapshot(1000);
  assert.equal(s.expected, 7);
  assert.equal(s.lost, 0);
  assert.equal(s.reordered, 1);
});

Deno.test("SourceStats starts a new epoch when the sender restarts with the same SSRC", () => {
  const stats = new SourceStats({ ssrc: SSRC, clockRate: 90000 });
  feedSteady(stats, range(1, 100));
  // The sender restarts: sequence and timestamp jump; arrivals continue every 10 ms.
  for (let i = 0; i < 100; i++) {
    stats.update(fields(40000 + i, 0x7000_0000 + i * 900), DATAGRAM, 1000 + i * 10);
  }
  const s = stats.snapshot(2000);
  assert.equal(s.restarts, 1);
  assert.equal(s.packets, 200, "the packet that started the jump counts once confirmed");
  assert.equal(s.expected, 200);
  assert.equal(s.lost, 0, "no ~25 000 false loss from the jump");
  assert.equal(s.discarded, 0);
  assert.equal(s.jitter, 0, "the transit was reseeded at the restart");
});

Deno.test("SourceStats holds probation and BAD packets until A.1 confirms them", async (t) => {
  await t.step("a lone packet is pending, not counted", () => {
    const stats = new SourceStats({ ssrc: SSRC, clockRate: 90000 });
    stats.update(fields(7), DATAGRAM, 5);
    const s = stats.snapshot(10);
    assert.equal(s.valid, false);
    assert.equal(s.packets, 0);
    assert.equal(s.expected, 0);
    assert.equal(s.firstArrivalMs, 5);
    assert.equal(s.lastArrivalMs, 5);
  });
  await t.step("a broken probation run is discarded", () => {
    const stats = new SourceStats({ ssrc: SSRC, clockRate: 90000 });
    feedSteady(stats, [10, 20, 21, 22]);
    const s = stats.snapshot(100);
    assert.deepEqual([s.packets, s.bytes, s.expected, s.lost, s.discarded], [
      3,
      3 * DATAGRAM,
      3,
      0,
      1,
    ]);
  });
  await t.step("an unconfirmed jump is discarded when a newer one replaces it", () => {
    const stats = new SourceStats({ ssrc: SSRC, clockRate: 90000 });
    feedSteady(stats, [...range(1, 10), 20000, 11]);
    // The held jump is not counted as a packet, but it is not lost from sight either (issue 10).
    assert.deepEqual([stats.snapshot(200).packets, stats.snapshot(200).discarded], [11, 1]);
    feedSteady(stats, [30000, 30001], 200);
    const s = stats.snapshot(300);
    assert.equal(s.restarts, 1);
    assert.equal(s.discarded, 1);
    assert.equal(s.packets, 13);
    assert.equal(s.payloadBytes, 13 * PAYLOAD);
    assert.equal(s.expected, 13);
    assert.equal(s.lost, 0);
  });
});

Deno.test("SourceStats computes A.8 jitter for a hand-worked example", () => {
  // Clock 8000 Hz, so 1 ms = 8 timestamp units; packets every 20 ms = 160 units.
  //   packet  timestamp  arrival  arrival(ts)  transit = arrival − ts  D = Δtransit   J += (|D| − J)/16
  //   0       1000       0 ms     0            −1000                   (seeds)        0
  //   1       1160       20 ms    160          −1000                   0              0
  //   2       1320       45 ms    360          −960                    40             0 + 40/16 = 2.5
  //   3       1480       60 ms    480          −1000                   −40            2.5 + (40 − 2.5)/16 = 4.84375
  // jitterMs = 4.84375 / 8000 × 1000 = 0.60546875
  const stats = new SourceStats({ ssrc: SSRC, clockRate: 8000 });
  const rows: [number, number, number][] = [[0, 1000, 0], [1, 1160, 20], [2, 1320, 45], [
    3,
    1480,
    60,
  ]];
  const after: number[] = [];
  for (const [seq, ts, arrival] of rows) {
    stats.update(fields(seq, ts), 172, arrival);
    after.push(stats.snapshot(arrival).jitter);
  }
  assert.deepEqual(after, [0, 0, 2.5, 4.84375]);
  assert.equal(stats.snapshot(60).jitterMs, 0.60546875);
});

Deno.test("SourceStats jitter has no spike from the first packet and survives a timestamp wrap", async (t) => {
  await t.step("first packet seeds the transit", () => {
    // Transit is a constant −1 000 000; counting the first packet against a zero transit would
    // give J = 1 000 000 / 16.
    const stats = new SourceStats({ ssrc: SSRC, clockRate: 8000 });
    stats.update(fields(1, 1_000_000), 172, 0);
    stats.update(fields(2, 1_000_160), 172, 20);
    assert.equal(stats.snapshot(20).jitter, 0);
  });
  await t.step("32-bit timestamp wrap", () => {
    const stats = new SourceStats({ ssrc: SSRC, clockRate: 8000 });
    for (let i = 0; i < 10; i++) stats.update(fields(i, 0xffff_ff00 + i * 160), 172, i * 20);
    assert.equal(stats.snapshot(200).jitter, 0);
  });
  await t.step("duplicates do not feed the jitter", () => {
    const stats = new SourceStats({ ssrc: SSRC, clockRate: 8000 });
    stats.update(fields(1, 0), 172, 0);
    stats.update(fields(2, 160), 172, 20);
    stats.update(fields(2, 160), 172, 500);
    stats.update(fields(3, 320), 172, 40);
    assert.equal(stats.snapshot(40).jitter, 0);
    assert.equal(stats.snapshot(40).duplicates, 1);
  });
});

Deno.test("SourceStats reports fractionLost per interval (A.3)", () => {
  const stats = new SourceStats({ ssrc: SSRC, clockRate: 90000 });
  feedSteady(stats, range(1, 100), 0); // 0 … 990 ms
  const first = stats.takeInterval(1000);
  assert.deepEqual(
    [first.packets, first.expected, first.lost, first.fractionLost, first.durationMs],
    [100, 100, 0, 0, 1000],
  );
  assert.equal(first.packetsPerSecond, 100);

  feedSteady(stats, range(101, 100).filter((seq) => seq < 150 || seq >= 160), 1000);
  const second = stats.takeInterval(2000);
  assert.deepEqual(
    [second.packets, second.expected, second.lost, second.fractionLost, second.durationMs],
    [90, 100, 10, 0.1, 1000],
  );
  assert.equal(second.bytes, 90 * DATAGRAM);

  const idle = stats.takeInterval(3000);
  assert.deepEqual([idle.packets, idle.expected, idle.lost, idle.fractionLost], [0, 0, 0, 0]);
  assert.equal(idle.bitrateBps, 0);

  // Five of the lost packets arrive late with ten new ones: more received than expected.
  feedSteady(stats, [150, 151, 152, 153, 154, ...range(201, 10)], 3000);
  const late = stats.takeInterval(4000);
  assert.deepEqual(
    [late.packets, late.expected, late.lost, late.fractionLost, late.reordered],
    [15, 10, 0, 0, 5],
  );

  const total = stats.snapshot(4000);
  assert.deepEqual([total.expected, total.lost, total.packets], [210, 5, 205]);
  assert.equal(total.fractionLost, 5 / 210);
});

Deno.test("SourceStats.snapshot() does not change state", () => {
  const stats = new SourceStats({ ssrc: SSRC, clockRate: 90000 });
  feedSteady(stats, [1, 2, 3, 5, 5, 4, 6]);
  const a = stats.snapshot(100);
  const b = stats.snapshot(100);
  assert.deepEqual(b, a);
  const interval = stats.takeInterval(100);
  assert.deepEqual(interval, a, "the first interval covers the whole run");
  assert.deepEqual(stats.snapshot(100), a, "takeInterval() leaves cumulative figures alone");
  const next = stats.takeInterval(200);
  assert.deepEqual([next.packets, next.duplicates, next.reordered, next.durationMs], [
    0,
    0,
    0,
    100,
  ]);
});

Deno.test("SourceStats computes bitrates and packet rate from injected times", async (t) => {
  const cases = [
    { ipVersion: 4 as const, overhead: 28 },
    { ipVersion: 6 as const, overhead: 48 },
  ];
  for (const { ipVersion, overhead } of cases) {
    await t.step(`IPv${ipVersion}`, () => {
      assert.equal(WIRE_OVERHEAD_BYTES[ipVersion], overhead);
      const stats = new SourceStats({ ssrc: SSRC, clockRate: 90000, ipVersion });
      feedSteady(stats, range(1, 100)); // arrivals 0 … 990 ms
      const s = stats.snapshot(1000);
      assert.equal(s.durationMs, 1000);
      assert.equal(s.packetsPerSecond, 100);
      assert.equal(s.bitrateBps, 100 * PAYLOAD * 8);
      assert.equal(s.wireBitrateBps, 100 * (DATAGRAM + overhead) * 8);
      assert.equal(stats.snapshot(2000).bitrateBps, 100 * PAYLOAD * 8 / 2);
    });
  }
  await t.step("configured start and no packets", () => {
    const stats = new SourceStats({ ssrc: SSRC, clockRate: 90000, firstArrivalMs: 500 });
    const empty = stats.snapshot(1500);
    assert.deepEqual([empty.packets, empty.bitrateBps, empty.durationMs], [0, 0, 1000]);
    assert.equal(empty.lastArrivalMs, null);
    feedSteady(stats, range(1, 10), 1000);
    assert.equal(stats.snapshot(1500).packetsPerSecond, 10, "10 packets over 1 s since the start");
    assert.equal(stats.snapshot(500).bitrateBps, 0, "zero duration gives 0, not Infinity");
  });
});
