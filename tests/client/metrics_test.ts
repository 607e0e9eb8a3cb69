// Tests of lib/client/metrics.ts and lib/common/prometheus.ts: samples equal the RFC 3550 snapshots
// and the client's JSON summary, counters never go down across SSRC changes and re-joins, gone
// series end, and the rendered text passes the real Prometheus linter (promtool).
import assert from "node:assert/strict";
import { ReceiverStats } from "../../lib/rtp/session_stats.ts";
import {
  CLIENT_FAMILIES,
  ClientMetrics,
  type StreamFigures,
  type TsFigures,
} from "../../lib/client/metrics.ts";
import { summaryRecords } from "../../lib/client/stats_view.ts";
import { createExposition, type Sample } from "../../lib/common/prometheus.ts";
import { promtoolCheck } from "../support/prometheus.ts";
import { peerTest } from "../support/peer_requirements.ts";
import { feedSequence, range, viewContext } from "../support/receiver_fixtures.ts";

function value(
  samples: Map<string, Sample[]>,
  name: string,
  labels: Record<string, string>,
): number | undefined {
  const found = samples.get(name)?.find((s) =>
    Object.entries(labels).every(([k, v]) => s.labels[k] === v) &&
    Object.keys(s.labels).length === Object.keys(labels).length
  );
  return found?.value;
}

function figures(
  name: string,
  stats: ReceiverStats,
  nowMs: number,
  extra: Partial<StreamFigures> = {},
): StreamFigures {
  return { name, state: "receiving", stalls: 0, total: stats.snapshot(nowMs), ...extra };
}

/** promtool's one remark on the client's metrics (see the exposition test). */
const BITS_LINT = 'rtp_bitrate_bits_per_second use base unit "bytes" instead of "bits"';

const context = viewContext({ elapsedS: 1 });

Deno.test("ClientMetrics exports each SSRC's figures equal to the snapshot and the JSON summary", () => {
  const stats = new ReceiverStats();
  // 0..199 with 5 lost (50..54), 3 duplicates, 2 late packets (swapped pairs).
  const seqs = range(0, 200).filter((s) => s < 50 || s > 54);
  seqs.splice(100, 0, 99, 98, 97);
  [seqs[150], seqs[151]] = [seqs[151]!, seqs[150]!];
  [seqs[160], seqs[161]] = [seqs[161]!, seqs[160]!];
  let at = feedSequence(stats, 0x1234, seqs, 1000);
  at = feedSequence(stats, 0x9999, range(7000, 7100), at);
  const metrics = new ClientMetrics();
  const samples = metrics.collect([figures("news", stats, at)], at);
  const total = stats.snapshot(at);
  const summary = summaryRecords(total, context, new Date(0));
  assert.equal(total.sources.length, 2);
  for (const source of total.sources) {
    const labels = { stream: "news", ssrc: String(source.ssrc) };
    const json = summary.find((r) => r.ssrc === source.ssrc)!;
    assert.equal(value(samples, "rtp_packets_received_total", labels), source.packets);
    assert.equal(value(samples, "rtp_packets_received_total", labels), json.packets);
    assert.equal(value(samples, "rtp_packets_expected_total", labels), json.expected);
    assert.equal(value(samples, "rtp_packets_lost_total", labels), json.lost);
    assert.equal(value(samples, "rtp_packets_duplicated_total", labels), json.duplicates);
    assert.equal(value(samples, "rtp_packets_reordered_total", labels), json.reordered);
    assert.equal(value(samples, "rtp_jitter_seconds", labels), source.jitterMs / 1000);
    assert.equal(value(samples, "rtp_bitrate_bits_per_second", labels), source.bitrateBps);
  }
  const first = total.sources[0]!;
  assert.deepEqual([first.lost, first.duplicates, first.reordered], [5, 3, 2]);
  assert.equal(value(samples, "rtp_stream_up", { stream: "news" }), 1);
  assert.equal(value(samples, "rtp_stalls_total", { stream: "news" }), 0);
  assert.equal(samples.get("socket_receive_buffer_drops_total")!.length, 0, "unknown: no series");
  assert.equal(samples.get("mpegts_pat_errors_total")!.length, 0, "not MPEG-TS: no series");
});

Deno.test("ClientMetrics takes the bitrate of the interval when one is given, and 0 for a quiet SSRC", () => {
  const stats = new ReceiverStats();
  let at = feedSequence(stats, 1, range(0, 100), 0);
  stats.takeInterval(at);
  at = feedSequence(stats, 1, range(100, 150), at, 5);
  const interval = stats.takeInterval(at);
  const metrics = new ClientMetrics();
  let samples = metrics.collect([figures("a", stats, at, { interval })], at);
  const rate = interval.sources[0]!.bitrateBps;
  assert.ok(rate > stats.snapshot(at).sources[0]!.bitrateBps, "the interval ran twice as fast");
  assert.equal(value(samples, "rtp_bitrate_bits_per_second", { stream: "a", ssrc: "1" }), rate);
  samples = metrics.collect([
    figures("a", stats, at + 1000, { interval: stats.takeInterval(at + 1000), state: "stalled" }),
  ], at + 1000);
  assert.equal(value(samples, "rtp_bitrate_bits_per_second", { stream: "a", ssrc: "1" }), 0);
  assert.equal(value(samples, "rtp_stream_up", { stream: "a" }), 0);
});

Deno.test("ClientMetrics counters never go down across a re-join, with or without an epoch", async (t) => {
  for (const withEpoch of [true, false]) {
    await t.step(withEpoch ? "epoch given" : "restart found from the figures", () => {
      const metrics = new ClientMetrics();
      const labels = { stream: "s", ssrc: "7" };
      let stats = new ReceiverStats();
      let at = feedSequence(stats, 7, range(0, 100).filter((s) => s !== 10), 0);
      const epoch = (n: number) => (withEpoch ? { epoch: n } : {});
      metrics.observe([figures("s", stats, at, { stalls: 2, ...epoch(1) })], at);
      // Re-join: a fresh ReceiverStats; the same sender (same SSRC) goes on.
      stats = new ReceiverStats();
      metrics.observe([figures("s", stats, at, { stalls: 0, state: "waiting", ...epoch(2) })], at);
      at = feedSequence(stats, 7, range(200, 350).filter((s) => s !== 300), at + 500);
      const samples = metrics.collect([figures("s", stats, at, { stalls: 1, ...epoch(2) })], at);
      assert.equal(value(samples, "rtp_packets_received_total", labels), 99 + 149);
      assert.equal(value(samples, "rtp_packets_lost_total", labels), 2);
      assert.equal(value(samples, "rtp_stalls_total", { stream: "s" }), 3);
    });
  }
});

Deno.test("ClientMetrics keeps an ended SSRC for the retention time beside the new one, then drops it", () => {
  const metrics = new ClientMetrics({ retentionMs: 60_000 });
  const stats = new ReceiverStats();
  let at = feedSequence(stats, 1, range(0, 100), 0);
  at = feedSequence(stats, 2, range(5000, 5100), at); // the sender restarted with a new SSRC
  let samples = metrics.collect([figures("s", stats, at)], at);
  assert.equal(value(samples, "rtp_packets_received_total", { stream: "s", ssrc: "1" }), 100);
  assert.equal(value(samples, "rtp_packets_received_total", { stream: "s", ssrc: "2" }), 100);
  at += 61_000; // both quiet: the older goes, the latest stays (a stalled stream keeps its figures)
  samples = metrics.collect([figures("s", stats, at, { state: "stalled", stalls: 1 })], at);
  assert.equal(value(samples, "rtp_packets_received_total", { stream: "s", ssrc: "1" }), undefined);
  assert.equal(value(samples, "rtp_packets_received_total", { stream: "s", ssrc: "2" }), 100);
  samples = metrics.collect([], at);
  assert.equal(metrics.seriesCount, 0, "a stream that is no longer watched is forgotten");
  assert.ok([...samples.values()].every((list) => list.length === 0));
});

Deno.test("ClientMetrics holds a cumulative lost that dips after a late packet at its high-water mark", () => {
  const metrics = new ClientMetrics();
  const stats = new ReceiverStats();
  let at = feedSequence(stats, 3, range(0, 50).filter((s) => s !== 40), 0);
  metrics.observe([figures("s", stats, at)], at);
  assert.equal(stats.snapshot(at).sources[0]!.lost, 1);
  at = feedSequence(stats, 3, [40], at); // the "lost" packet arrives late
  assert.equal(stats.snapshot(at).sources[0]!.lost, 0);
  const samples = metrics.collect([figures("s", stats, at)], at);
  assert.equal(value(samples, "rtp_packets_lost_total", { stream: "s", ssrc: "3" }), 1);
  assert.equal(value(samples, "rtp_packets_received_total", { stream: "s", ssrc: "3" }), 50);
});

function tsFigures(cc: Record<number, number>, other = 0): TsFigures {
  const pids = Object.entries(cc).map(([pid, ccErrors]) => ({ pid: Number(pid), ccErrors }));
  return {
    ccErrors: pids.reduce((sum, p) => sum + p.ccErrors, 0),
    patErrors: other,
    pmtErrors: other + 1,
    pcrRepetitionErrors: other + 2,
    transportErrors: other + 3,
    pids,
  };
}

Deno.test("ClientMetrics exports MPEG-TS figures per stream and continuity errors per PID", () => {
  const metrics = new ClientMetrics({ retentionMs: 10_000 });
  const stats = new ReceiverStats();
  const at = feedSequence(stats, 1, range(0, 10), 0);
  let samples = metrics.collect([
    figures("tv", stats, at, { ts: tsFigures({ 0: 0, 256: 4, 257: 1 }, 10), socketDrops: 12 }),
  ], at);
  assert.equal(value(samples, "mpegts_continuity_errors_total", { stream: "tv", pid: "256" }), 4);
  assert.equal(value(samples, "mpegts_continuity_errors_total", { stream: "tv", pid: "257" }), 1);
  assert.equal(value(samples, "mpegts_continuity_errors_total", { stream: "tv", pid: "0" }), 0);
  assert.equal(value(samples, "mpegts_pat_errors_total", { stream: "tv" }), 10);
  assert.equal(value(samples, "mpegts_pmt_errors_total", { stream: "tv" }), 11);
  assert.equal(value(samples, "mpegts_pcr_repetition_errors_total", { stream: "tv" }), 12);
  assert.equal(value(samples, "mpegts_transport_errors_total", { stream: "tv" }), 13);
  assert.equal(value(samples, "socket_receive_buffer_drops_total", { stream: "tv" }), 12);
  // Re-join: the analyser restarts; PID 257 is gone from the programme.
  samples = metrics.collect([
    figures("tv", stats, at + 1000, {
      ts: tsFigures({ 0: 0, 256: 2 }, 1),
      socketDrops: 3,
      epoch: 2,
    }),
  ], at + 1000);
  assert.equal(value(samples, "mpegts_continuity_errors_total", { stream: "tv", pid: "256" }), 6);
  assert.equal(value(samples, "mpegts_pat_errors_total", { stream: "tv" }), 11);
  assert.equal(value(samples, "socket_receive_buffer_drops_total", { stream: "tv" }), 15);
  assert.equal(value(samples, "mpegts_continuity_errors_total", { stream: "tv", pid: "257" }), 1);
  samples = metrics.collect([
    figures("tv", stats, at + 20_000, { ts: tsFigures({ 0: 0, 256: 2 }, 1), epoch: 2 }),
  ], at + 20_000);
  assert.equal(
    value(samples, "mpegts_continuity_errors_total", { stream: "tv", pid: "257" }),
    undefined,
  );
});

Deno.test("ClientMetrics keeps its series count flat over 5 000 SSRC changes and stream restarts", () => {
  const metrics = new ClientMetrics({ retentionMs: 30_000 });
  let at = 0;
  const counts: number[] = [];
  for (let round = 0; round < 5000; round++) {
    const streams: StreamFigures[] = [];
    for (let s = 0; s < 5; s++) {
      const stats = new ReceiverStats();
      at = feedSequence(stats, round * 5 + s, range(0, 3), at, 1);
      const pids = { [round % 8191]: 1, 0: 0 };
      streams.push(
        figures(`stream-${(round + s) % 7}`, stats, at, { epoch: round, ts: tsFigures(pids) }),
      );
    }
    at += 1000;
    metrics.observe(streams, at);
    counts.push(metrics.seriesCount);
  }
  const later = counts.slice(1000);
  assert.ok(
    Math.max(...later) <= Math.max(...counts.slice(0, 1000)) + 10,
    `counts ${Math.max(...later)}`,
  );
});

await peerTest({
  name: "the client's exposition passes promtool and escapes hostile stream names",
  peers: ["prometheus"],
  netns: false,
  async fn() {
    const metrics = new ClientMetrics();
    const stats = new ReceiverStats();
    const at = feedSequence(stats, 0xfedcba98, range(0, 20), 0);
    const names = ['quote"d', "back\\slash", "new\nline", "ünïcødé 📺", "plain"];
    const streams = names.map((name) =>
      figures(name, stats, at, { ts: tsFigures({ 256: 1 }), socketDrops: 0 })
    );
    const exposition = await createExposition(CLIENT_FAMILIES, () => metrics.collect(streams, at));
    const text = await exposition.render();
    assert.match(exposition.contentType, /^text\/plain; version=0\.0\.4/);
    assert.ok(text.includes('rtp_packets_received_total{stream="quote\\"d",ssrc="4275878552"} 20'));
    assert.ok(text.includes('stream="back\\\\slash"'));
    assert.ok(text.includes('stream="new\\nline"'));
    assert.ok(text.includes("process_resident_memory_bytes "));
    // The issue names the bitrate in bits (as network tools count); promtool's naming lint prefers
    // bytes. That lint (exit 3) is the only remark allowed: no parse error (exit 1), nothing else.
    const result = await promtoolCheck(text);
    assert.equal(result.code, 3, result.output);
    assert.deepEqual(result.output.trim().split("\n"), [BITS_LINT]);
  },
});

await peerTest({
  name: "promtool rejects what the exposition must never write (the check can fail)",
  peers: ["prometheus"],
  netns: false,
  async fn() {
    const bad = await promtoolCheck('x_total{stream="a"b"} 1\n');
    assert.equal(bad.code, 1, bad.output);
    const lint = await promtoolCheck("# TYPE up_total gauge\nup_total 1\n");
    assert.notEqual(lint.code, 0, lint.output);
  },
});

Deno.test("ClientMetrics does not take a first epoch, given late, for a restart", () => {
  const metrics = new ClientMetrics();
  const stats = new ReceiverStats();
  const at = feedSequence(stats, 5, range(0, 30), 0);
  metrics.observe([figures("s", stats, at, { stalls: 2 })], at);
  const samples = metrics.collect([figures("s", stats, at, { stalls: 2, epoch: 1 })], at);
  assert.equal(value(samples, "rtp_packets_received_total", { stream: "s", ssrc: "5" }), 30);
  assert.equal(value(samples, "rtp_stalls_total", { stream: "s" }), 2);
});
