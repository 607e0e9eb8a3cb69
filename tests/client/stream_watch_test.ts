// Tests of lib/client/stream_watch.ts and its records (stats_view.ts): one stream fed datagrams with
// an injected clock: RFC 3550 figures and the TR 101 290 analysis of MPEG-TS over RTP (with and
// without RTP loss) against the test muxer's truth, raw MPEG-TS over UDP, the state machine, the
// source filter and the kernel drop count.
import assert from "node:assert/strict";
import { DatagramBatch } from "../../lib/net/datagram_batch.ts";
import { writeRtpHeader } from "../../lib/rtp/writer.ts";
import { StreamWatch } from "../../lib/client/stream_watch.ts";
import { UDP_KEY } from "../../lib/client/ts_watch.ts";
import { entryContext } from "../../lib/client/client_output.ts";
import { intervalRecords, STATS_KEYS, summaryRecords } from "../../lib/client/stats_view.ts";
import { muxRun } from "../support/ts_packets.ts";
import { mp2tTarget } from "../support/receiver_fixtures.ts";
import type { TsSnapshot } from "../../lib/ts/ts_report.ts";

function watchOf(target = mp2tTarget(), sources: string[] = []): StreamWatch {
  return new StreamWatch({ name: "tv", target, sources, stallAfterMs: 1000, startMs: 0 });
}

/** `payload` behind an RTP header (PT 33, 90 kHz timestamps from `atMs`). */
function rtp(payload: Uint8Array, seq: number, ssrc: number, atMs: number): Uint8Array {
  const packet = new Uint8Array(12 + payload.length);
  writeRtpHeader(packet, {
    payloadType: 33,
    marker: false,
    sequenceNumber: seq & 0xffff,
    timestamp: Math.round(atMs * 90) >>> 0,
    ssrc,
  });
  packet.set(payload, 12);
  return packet;
}

const FAULTS = {
  ccSkips: { atMs: 200, count: 6, everyMs: 150 },
  transportErrors: { atMs: 300, count: 4, everyMs: 200 },
  crcErrors: { atMs: 400, count: 2, everyMs: 300 },
};

Deno.test("StreamWatch analyses MPEG-TS over RTP: TR 101 290 figures equal the muxer's truth", () => {
  const run = muxRun({ bitrate: 2_000_000, faults: FAULTS }, 4);
  const watch = watchOf();
  run.datagrams.forEach((d, i) => {
    assert.equal(watch.onDatagram(rtp(d, 100 + i, 0xabc, run.timesMs[i]!), run.timesMs[i]!), true);
  });
  const at = run.timesMs.at(-1)!;
  const totals = watch.ts.totals(at);
  assert.equal(totals.ccErrors, run.truth.ccErrors);
  assert.equal(totals.ccErrorsWithoutRtpLoss, run.truth.ccErrors, "no RTP loss: all upstream");
  assert.equal(totals.transportErrors, run.truth.transportErrors);
  assert.equal(totals.crcErrors, run.truth.crcErrors);
  assert.deepEqual([run.truth.ccErrors, run.truth.transportErrors, run.truth.crcErrors], [6, 4, 2]);
  const snapshot = watch.snapshot(at);
  assert.equal(snapshot.ts.get(0xabc)?.packets, run.datagrams.length * 7);
  assert.equal(snapshot.rtp.sources[0]?.packets, run.datagrams.length);
  assert.equal(watch.transport, "rtp");
});

Deno.test("StreamWatch tells continuity errors of RTP loss from those already in the stream", () => {
  const run = muxRun({
    bitrate: 2_000_000,
    faults: { ccSkips: { atMs: 100, count: 5, everyMs: 100 } },
  }, 4);
  const watch = watchOf();
  // The faults lie in the first 0.6 s; datagrams are lost later, and a duplicate is skipped.
  const dropped = new Set([200, 260, 261, 400, 555]);
  let duplicates = 0;
  run.datagrams.forEach((d, i) => {
    if (dropped.has(i)) return;
    const packet = rtp(d, i, 0x77, run.timesMs[i]!);
    watch.onDatagram(packet, run.timesMs[i]!);
    if (i === 300) {
      watch.onDatagram(packet, run.timesMs[i]! + 0.1);
      duplicates++;
    }
  });
  const at = run.timesMs.at(-1)!;
  const source = watch.snapshot(at).rtp.sources[0]!;
  assert.deepEqual([source.lost, source.duplicates], [dropped.size, duplicates]);
  const totals = watch.ts.totals(at);
  assert.equal(totals.ccErrorsWithoutRtpLoss, 5, "exactly the injected skips");
  assert.ok(totals.ccErrors > 5, `the lost datagrams broke continuity too (${totals.ccErrors})`);
  assert.ok(totals.ccErrors <= 5 + dropped.size, `${totals.ccErrors}`);
});

Deno.test("StreamWatch counts raw MPEG-TS over UDP as TS traffic, not as invalid RTP", () => {
  const run = muxRun({ bitrate: 2_000_000, faults: FAULTS }, 3);
  const watch = watchOf(mp2tTarget({ transport: "udp", formats: [] }));
  const kept = run.datagrams.filter((_, i) => i !== 50 && i !== 51);
  kept.forEach((d, i) => assert.equal(watch.onDatagram(d, i * 5), true));
  const at = kept.length * 5;
  const figures = watch.snapshot(at);
  assert.equal(figures.rtp.invalid, 0);
  assert.equal(figures.udp?.packets, kept.length);
  const ts = figures.ts.get(UDP_KEY)!;
  assert.equal(ts.ccErrorsWithoutRtpLoss, null, "no RTP to correlate with");
  assert.equal(ts.transportErrors, run.truth.transportErrors);
  assert.equal(ts.crcErrors, run.truth.crcErrors);
  assert.ok(ts.ccErrors >= run.truth.ccErrors, "the skips, and the two lost datagrams");
  assert.ok(ts.estimatedLostPackets > 0);
  assert.equal(watch.transport, "udp");
  const entry = { watch, interval: figures, total: figures, status: watch.status(at) };
  const context = entryContext(entry, figures, { interfaceName: "lo", stallAfterS: 1 });
  const [summary, ...others] = summaryRecords(figures.rtp, context, new Date(0));
  assert.equal(others.length, 0, "one record: the raw UDP one");
  assert.deepEqual(Object.keys(summary!).slice(0, STATS_KEYS.length), [...STATS_KEYS]);
  assert.deepEqual(
    [summary!.transport, summary!.ssrc, summary!.lost, summary!.jitterMs, summary!.packets],
    ["udp", null, null, null, kept.length],
  );
  assert.ok((summary!.fractionLost as number) > 0, "estimated from the continuity counters");
  assert.equal((summary!.ts as { crcErrors: number }).crcErrors, run.truth.crcErrors);
  assert.equal(summary!.stream, "tv");
});

Deno.test("StreamWatch moves waiting → receiving → stalled → receiving on the injected clock", () => {
  const watch = watchOf();
  const run = muxRun({ bitrate: 2_000_000 }, 1);
  assert.equal(watch.state, "waiting");
  watch.tick(5000);
  assert.equal(watch.takeChange(), undefined, "waiting stays waiting");
  watch.onDatagram(rtp(run.datagrams[0]!, 1, 1, 0), 6000);
  assert.equal(watch.takeChange(), "receiving");
  watch.tick(6999);
  assert.equal(watch.state, "receiving");
  watch.tick(7000);
  assert.equal(watch.takeChange(), "stalled");
  assert.deepEqual(watch.status(8000), { state: "stalled", elapsedS: 8, stalls: 1, stalledS: 1 });
  watch.onDatagram(rtp(run.datagrams[1]!, 2, 1, 5), 9000);
  assert.equal(watch.takeChange(), "receiving");
  assert.deepEqual(watch.status(9500), {
    state: "receiving",
    elapsedS: 9.5,
    stalls: 1,
    stalledS: 2,
  });
  // Garbage is neither traffic nor a way out of a stall.
  watch.tick(10_000);
  assert.equal(watch.onDatagram(new Uint8Array([1, 2, 3]), 10_100), false);
  assert.equal(watch.state, "stalled");
  assert.equal(watch.accepted, 2);
});

Deno.test("StreamWatch accepts a batch's datagrams by sender, and follows the kernel drop count", () => {
  const watch = watchOf(mp2tTarget(), ["192.0.2.7"]);
  const data = new Uint8Array(2 * 64);
  const batch = new DatagramBatch({ data, capacity: 2, slotBytes: 64 });
  batch.count = 2;
  batch.family.set([4, 4]);
  batch.address.set([192, 0, 2, 7], 0);
  batch.address.set([192, 0, 2, 8], 16);
  assert.deepEqual([watch.accepts(batch, 0), watch.accepts(batch, 1)], [true, false]);
  const socketA = {};
  const socketB = {};
  watch.noteSocketDrops(socketA, 10); // drops before the stream joined are not its own
  watch.noteSocketDrops(socketA, 13);
  assert.equal(watch.takeInterval(1000).socketDrops, 3);
  watch.noteSocketDrops(socketB, 0); // a new socket starts its own count
  watch.noteSocketDrops(socketB, 2);
  assert.equal(watch.takeInterval(2000).socketDrops, 2);
  assert.equal(watch.snapshot(2000).socketDrops, 5);
  const unknown = watchOf();
  unknown.noteSocketDrops(socketA, undefined);
  assert.equal(unknown.snapshot(0).socketDrops, undefined);
});

Deno.test("records carry stream, transport, socketDrops and the ts object of their SSRC", () => {
  const run = muxRun({ bitrate: 2_000_000 }, 1);
  const watch = watchOf();
  run.datagrams.forEach((d, i) =>
    watch.onDatagram(rtp(d, i, 0x42, run.timesMs[i]!), run.timesMs[i]!)
  );
  watch.noteSocketDrops({}, 0);
  const at = 1000;
  const interval = watch.takeInterval(at);
  const entry = { watch, interval, total: watch.snapshot(at), status: watch.status(at) };
  const context = entryContext(entry, interval, { interfaceName: "lo", stallAfterS: 1 });
  const [record] = intervalRecords(interval.rtp, context, new Date(0));
  assert.deepEqual(Object.keys(record!), [...STATS_KEYS, "ts"]);
  assert.deepEqual([record!.stream, record!.transport, record!.socketDrops], ["tv", "rtp", 0]);
  const ts = record!.ts as TsSnapshot;
  assert.equal(ts.packets, run.datagrams.length * 7);
  assert.ok(ts.pids.some((p) => p.pid === 0), "the PAT's PID is listed");
});

Deno.test("StreamWatch keeps its maps bounded through thousands of SSRC changes", () => {
  const run = muxRun({ bitrate: 2_000_000 }, 0.1);
  const watch = watchOf();
  let at = 0;
  for (let ssrc = 1; ssrc <= 3000; ssrc++) {
    at += 1000; // each SSRC ends before the next starts (so the old ones may be evicted)
    for (let i = 0; i < 3; i++) watch.onDatagram(rtp(run.datagrams[i]!, i, ssrc, at), at += 5);
    if (ssrc % 10 === 0) watch.takeInterval(at);
  }
  const figures = watch.snapshot(at);
  assert.ok(figures.rtp.sources.length <= 64, `${figures.rtp.sources.length} SSRCs tracked`);
  assert.ok(figures.ts.size <= 64 + 4, `${figures.ts.size} TS snapshots kept`);
  assert.equal(watch.takeInterval(at).ts.size, 4, "4 live analysers");
  assert.equal(watch.ts.totals(at).packets, 3000 * 3 * 7, "every TS packet counted");
});
