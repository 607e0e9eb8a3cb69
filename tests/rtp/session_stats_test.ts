// Tests of lib/receiver_stats.ts: header validation counts, payload-type filter, routing to
// per-SSRC statistics, the SSRC cap, and interval/cumulative snapshots (RFC 3550 §6.4.1, A).

import assert from "node:assert/strict";
import { ReceiverStats } from "../../lib/rtp/session_stats.ts";
import { mulberry32 } from "../../lib/common/prng.ts";

/** A 12-byte RTP header (V=2, no CSRC/extension/padding) followed by `payloadLength` bytes. */
function rtp(
  seq: number,
  options: { ssrc?: number; pt?: number; ts?: number; payloadLength?: number } = {},
): Uint8Array {
  const u8 = new Uint8Array(12 + (options.payloadLength ?? 188));
  const view = new DataView(u8.buffer);
  view.setUint8(0, 0x80);
  view.setUint8(1, options.pt ?? 33);
  view.setUint16(2, seq & 0xffff);
  view.setUint32(4, (options.ts ?? seq * 900) >>> 0);
  view.setUint32(8, (options.ssrc ?? 0xaaaa0001) >>> 0);
  return u8;
}

function hex(text: string): Uint8Array {
  return Uint8Array.from(text.replace(/\s+/g, "").match(/../g) ?? [], (b) => parseInt(b, 16));
}

Deno.test("ReceiverStats counts garbage as invalid, by reason, without throwing", () => {
  const stats = new ReceiverStats();
  const garbage = [
    new Uint8Array(0),
    hex("80 21 00"),
    hex("00 21 00 01 00 00 00 64 12 34 56 78"),
    hex("c0 21 00 01 00 00 00 64 12 34 56 78 ff"),
    hex("83 21 00 01 00 00 00 64 12 34 56 78 00 00 00 01"),
    hex("90 21 00 01 00 00 00 64 12 34 56 78 be de 00 09"),
    hex("a0 21 00 01 00 00 00 64 12 34 56 78 47 00"),
  ];
  garbage.forEach((u8, i) => stats.onDatagram(u8, i));
  const s = stats.snapshot(10);
  assert.equal(s.datagrams, 7);
  assert.equal(s.invalid, 7);
  assert.deepEqual(s.invalidByReason, {
    tooShort: 2,
    badVersion: 2,
    badCsrc: 1,
    badExtension: 1,
    badPadding: 1,
  });
  assert.deepEqual(s.sources, []);
  assert.equal(stats.firstPacketMs, undefined);
});

Deno.test("ReceiverStats counts packets of an unexpected payload type and does not measure them", async (t) => {
  await t.step("PT 96 in a PT 33 session", () => {
    const stats = new ReceiverStats({ expectedPayloadTypes: new Set([33]) });
    for (let i = 0; i < 5; i++) stats.onDatagram(rtp(i, { pt: 96 }), i);
    for (let i = 0; i < 10; i++) stats.onDatagram(rtp(100 + i), 10 + i);
    const s = stats.snapshot(100);
    assert.equal(s.unexpectedPayloadType, 5);
    assert.equal(s.invalid, 0);
    assert.equal(s.sources.length, 1);
    assert.equal(s.sources[0]?.packets, 10);
    assert.equal(s.sources[0]?.payloadType, 33);
    assert.equal(stats.firstPacketMs, 10, "the first measured packet, not the first datagram");
  });
  await t.step("an empty set accepts any payload type", () => {
    const stats = new ReceiverStats();
    stats.onDatagram(rtp(1, { pt: 96 }), 0);
    stats.onDatagram(rtp(2, { pt: 96 }), 1);
    assert.equal(stats.snapshot(2).unexpectedPayloadType, 0);
    assert.equal(stats.snapshot(2).sources[0]?.packets, 2);
  });
});

Deno.test("ReceiverStats tracks two SSRCs apart: an SSRC change is a new source without loss", () => {
  const stats = new ReceiverStats();
  for (let i = 0; i < 100; i++) stats.onDatagram(rtp(1 + i, { ssrc: 0xa }), i);
  for (let i = 0; i < 100; i++) stats.onDatagram(rtp(50000 + i, { ssrc: 0xb }), 100 + i);
  const s = stats.snapshot(200);
  assert.deepEqual(
    s.sources.map((x) => [x.ssrc, x.packets, x.expected, x.lost, x.restarts]),
    [[0xa, 100, 100, 0, 0], [0xb, 100, 100, 0, 0]],
  );
  assert.deepEqual([...stats.sources()].map((x) => x.ssrc), [0xa, 0xb]);
});

Deno.test("ReceiverStats picks each source's clock rate from its payload type", () => {
  const stats = new ReceiverStats({
    clockRates: new Map([[96, 48000], [33, 90000]]),
    defaultClockRate: 8000,
  });
  stats.onDatagram(rtp(1, { ssrc: 1, pt: 96 }), 0);
  stats.onDatagram(rtp(1, { ssrc: 2, pt: 33 }), 0);
  stats.onDatagram(rtp(1, { ssrc: 3, pt: 0 }), 0);
  assert.deepEqual(stats.snapshot(1).sources.map((x) => x.clockRate), [48000, 90000, 8000]);
});

Deno.test("ReceiverStats caps the tracked SSRCs", async (t) => {
  await t.step("random SSRCs do not evict a live valid stream", () => {
    const stats = new ReceiverStats({ maxSources: 4 });
    let seq = 0;
    for (let i = 0; i < 200; i++) {
      stats.onDatagram(rtp(seq++, { ssrc: 0x5eed }), i * 2);
      stats.onDatagram(rtp(i, { ssrc: 0x10000 + i }), i * 2 + 1); // a new SSRC each time
    }
    const s = stats.snapshot(400);
    assert.equal(s.sources.length, 4);
    assert.equal(s.evictedSources, 197);
    const live = s.sources.find((x) => x.ssrc === 0x5eed);
    assert.equal(live?.packets, 200);
    assert.equal(live?.lost, 0);
  });
  await t.step("sources still on probation go before an older valid one", () => {
    const stats = new ReceiverStats({ maxSources: 3 });
    stats.onDatagram(rtp(1, { ssrc: 0x5eed }), 0);
    stats.onDatagram(rtp(2, { ssrc: 0x5eed }), 1); // valid, then silent
    for (let i = 0; i < 10; i++) stats.onDatagram(rtp(i, { ssrc: 0x100 + i }), 10 + i);
    const ssrcs = [...stats.sources()].map((x) => x.ssrc);
    assert.deepEqual(ssrcs, [0x5eed, 0x108, 0x109]);
  });
  await t.step(
    "among valid sources silent for protectActiveMs the least recently seen goes",
    () => {
      const stats = new ReceiverStats({ maxSources: 3, protectActiveMs: 2000 });
      const feed = (ssrc: number, at: number) => {
        stats.onDatagram(rtp(1, { ssrc }), at);
        stats.onDatagram(rtp(2, { ssrc }), at + 1);
      };
      feed(1, 0);
      feed(2, 10_000);
      feed(3, 20_000);
      feed(1, 30_000); // 1 seen again (duplicates): 2 is now the least recently seen
      feed(4, 40_000);
      assert.deepEqual([...stats.sources()].map((x) => x.ssrc).sort(), [1, 3, 4]);
      assert.equal(stats.snapshot(50_000).evictedSources, 1);
    },
  );
});

Deno.test("a flood of new SSRCs in sequential pairs never pushes a live stream out (issue 11, item 10)", () => {
  // A 100 packets/s stream alone for 1 s, then beside 20 000 packets/s of random SSRCs in pairs
  // (each pair passes A.1 probation) for 5 s, in 1 s intervals: the stream is in every interval,
  // exact, and in the summary.
  const stats = new ReceiverStats({ maxSources: 64, protectActiveMs: 2000 });
  const random = mulberry32(11);
  const live = 0x5eed;
  let seq = 60_000; // wraps during the run
  let junk = 0;
  const intervals = [];
  for (let ms = 0; ms < 6000; ms++) {
    if (ms % 10 === 0) stats.onDatagram(rtp(seq++, { ssrc: live, ts: ms * 90 }), ms + 0.5);
    for (let pair = 0; ms >= 1000 && pair < 10; pair++) {
      const ssrc = (random() * 0x1_0000_0000) >>> 0;
      const start = Math.floor(random() * 0x10000);
      stats.onDatagram(rtp(start, { ssrc }), ms + pair / 20);
      stats.onDatagram(rtp(start + 1, { ssrc }), ms + pair / 20 + 0.01);
      junk += 2;
    }
    if (ms % 1000 === 999) intervals.push(stats.takeInterval(ms + 1));
  }
  assert.equal(junk, 100_000);
  for (const [i, interval] of intervals.entries()) {
    const source = interval.sources.find((s) => s.ssrc === live);
    assert.ok(source, `interval ${i} shows the live stream`);
    assert.deepEqual(
      [source.packets, source.lost, source.expected],
      [100, 0, 100],
      `interval ${i}`,
    );
  }
  const total = stats.snapshot(6000);
  const summary = total.sources.find((s) => s.ssrc === live);
  assert.deepEqual(
    [summary?.packets, summary?.lost, summary?.duplicates, summary?.reordered],
    [600, 0, 0, 0],
  );
  assert.equal(total.sources.length, 64);
  // Every junk packet is in a tracked source, in an evicted one, or counted as untracked.
  const tracked = total.sources.reduce((n, s) => n + s.packets, 0) - 600;
  assert.ok(total.evictedSources > 0 && total.untrackedPackets > 0);
  assert.ok(tracked + total.untrackedPackets + 2 * total.evictedSources >= junk);
});

Deno.test("a stream that starts during an SSRC flood is counted as untracked, then tracked", () => {
  const stats = new ReceiverStats({ maxSources: 8, protectActiveMs: 2000 });
  const feedPair = (ssrc: number, at: number) => {
    stats.onDatagram(rtp(1, { ssrc }), at);
    stats.onDatagram(rtp(2, { ssrc }), at);
  };
  for (let i = 0; i < 8; i++) feedPair(0x100 + i, 0); // the table is full of valid, active junk
  for (let i = 0; i < 5; i++) stats.onDatagram(rtp(i, { ssrc: 0x5eed }), 100 + i);
  assert.equal(stats.snapshot(200).untrackedPackets, 5);
  // Once the junk has been silent for protectActiveMs the stream takes a slot.
  for (let i = 5; i < 10; i++) stats.onDatagram(rtp(i, { ssrc: 0x5eed }), 2100 + i);
  const live = stats.snapshot(2200).sources.find((s) => s.ssrc === 0x5eed);
  assert.deepEqual([live?.packets, live?.lost], [5, 0]);
});

Deno.test("ReceiverStats counts packets the caller filtered out", () => {
  const stats = new ReceiverStats();
  stats.countFiltered();
  stats.countFiltered();
  assert.equal(stats.filtered, 2);
  assert.equal(stats.snapshot(0).filtered, 2);
  assert.equal(stats.takeInterval(0).filtered, 2);
  stats.countFiltered();
  assert.equal(stats.takeInterval(1).filtered, 1);
});

Deno.test("ReceiverStats.snapshot() is pure and takeInterval() reports each interval", () => {
  const stats = new ReceiverStats({ expectedPayloadTypes: new Set([33]) });
  for (let i = 0; i < 50; i++) stats.onDatagram(rtp(i), i * 20);
  stats.onDatagram(hex("00"), 990);
  stats.onDatagram(rtp(0, { pt: 8 }), 995);
  const a = stats.snapshot(1000);
  assert.deepEqual(stats.snapshot(1000), a);

  const first = stats.takeInterval(1000);
  assert.deepEqual(first, a, "the first interval covers everything so far");

  for (let i = 50; i < 100; i++) if (i !== 70) stats.onDatagram(rtp(i), 1000 + (i - 50) * 20);
  stats.onDatagram(hex("40 00 00 00 00 00 00 00 00 00 00 00"), 1999);
  const second = stats.takeInterval(2000);
  assert.deepEqual(
    [
      second.datagrams,
      second.invalid,
      second.invalidByReason.badVersion,
      second.invalidByReason.tooShort,
    ],
    [50, 1, 1, 0],
  );
  assert.equal(second.unexpectedPayloadType, 0);
  const source = second.sources[0];
  assert.deepEqual([source?.packets, source?.expected, source?.lost, source?.fractionLost], [
    49,
    50,
    1,
    0.02,
  ]);

  const total = stats.snapshot(2000);
  assert.deepEqual([total.datagrams, total.invalid, total.unexpectedPayloadType], [102, 2, 1]);
  assert.deepEqual([total.sources[0]?.packets, total.sources[0]?.lost], [99, 1]);
});

Deno.test("ReceiverStats survives random datagrams and keeps within the SSRC cap", () => {
  const random = mulberry32(42);
  const stats = new ReceiverStats({ maxSources: 8 });
  for (let i = 0; i < 3000; i++) {
    const u8 = new Uint8Array(Math.floor(random() * 80));
    for (let j = 0; j < u8.length; j++) u8[j] = Math.floor(random() * 256);
    if (u8.length > 0 && random() < 0.5) u8[0] = 0x80;
    stats.onDatagram(u8, i);
  }
  const s = stats.snapshot(3000);
  assert.equal(s.datagrams, 3000);
  assert.ok(s.sources.length <= 8);
  const routed = s.sources.reduce((n, x) => n + x.packets, 0);
  assert.ok(s.invalid > 0 && s.evictedSources > 0);
  assert.ok(routed <= 3000 - s.invalid);
});

Deno.test("ReceiverStats accounts for every datagram: packets A.1 discards are counted as discarded", () => {
  // 999 in-order packets, plus a jump beyond MAX_DROPOUT that no packet confirms and a packet more
  // than MAX_MISORDER late: 1001 datagrams, of which RFC 3550 A.1 counts 999.
  const stats = new ReceiverStats({ clockRates: new Map([[33, 90000]]) });
  let arrival = 0;
  for (let seq = 0; seq < 999; seq++) {
    if (seq === 400) stats.onDatagram(rtp(400 + 5000), arrival++); // unconfirmed jump
    if (seq === 800) stats.onDatagram(rtp(800 - 150), arrival++); // later than MAX_MISORDER
    stats.onDatagram(rtp(seq), arrival++);
  }
  const s = stats.snapshot(arrival);
  const [source] = s.sources;
  assert.equal(s.datagrams, 1001);
  assert.deepEqual([source!.packets, source!.discarded, source!.lost], [999, 2, 0]);
  const accounted = s.invalid + s.unexpectedPayloadType +
    s.sources.reduce((n, x) => n + x.packets + x.discarded, 0);
  assert.equal(accounted, 1001);
  // Per interval: each discard shows in the interval it happened in.
  const fresh = new ReceiverStats();
  for (let seq = 0; seq < 10; seq++) fresh.onDatagram(rtp(seq), seq);
  assert.equal(fresh.takeInterval(10).sources[0]!.discarded, 0);
  fresh.onDatagram(rtp(30_000), 11);
  fresh.onDatagram(rtp(10), 12);
  assert.equal(fresh.takeInterval(20).sources[0]!.discarded, 1);
  assert.equal(fresh.takeInterval(30).sources[0]!.discarded, 0);
  assert.equal(fresh.snapshot(30).sources[0]!.discarded, 1);
});

Deno.test("ReceiverStats averages a source's cumulative rates over the time it was sending", () => {
  // 2 s at 100 packets/s, a 5 s stall, 2 s more, then silence for 10 s until the snapshot.
  const stats = new ReceiverStats({ silenceLimitMs: 2000 });
  let seq = 0;
  for (let t = 0; t < 2000; t += 10) stats.onDatagram(rtp(seq++, { payloadLength: 1316 }), t);
  for (let t = 7000; t < 9000; t += 10) stats.onDatagram(rtp(seq++, { payloadLength: 1316 }), t);
  const [source] = stats.snapshot(19_000).sources;
  // Sending: 0-1990 and 7000-8990 (the 10 ms gaps, under 2 s, count; the stall does not), and one
  // mean gap after the last packet: 3990 ms.
  assert.ok(Math.abs(source!.durationMs - 3990) < 0.1, String(source!.durationMs));
  assert.equal(source!.packets, 400);
  assert.equal(Math.round(source!.packetsPerSecond), 100, "400 packets over 4 s, not over 19 s");
  assert.equal(Math.round(source!.bitrateBps / 1e4), Math.round((400 * 1316 * 8) / 3.99 / 1e4));
  // While it sends, the time since its last packet counts.
  const [live] = stats.snapshot(9000).sources;
  assert.equal(live!.durationMs, 3990);
});
