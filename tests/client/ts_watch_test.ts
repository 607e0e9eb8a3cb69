// Tests of lib/client/ts_watch.ts, lib/client/udp_stats.ts and lib/client/membership_schedule.ts:
// bounded analysers whose retired totals keep the stream's counts growing, raw UDP rates over the
// sending time, and the IGMP renewal clock (periodic refresh, re-join while stalled, querier hint).
import assert from "node:assert/strict";
import { TS_WATCH_DEFAULTS, TsWatch, UDP_KEY } from "../../lib/client/ts_watch.ts";
import { UdpStats } from "../../lib/client/udp_stats.ts";
import { MEMBERSHIP_TIMING, MembershipSchedule } from "../../lib/client/membership_schedule.ts";
import { ConfigError } from "../../lib/common/errors.ts";
import { muxRun } from "../support/ts_packets.ts";

Deno.test("TsWatch keeps at most MAX_LIVE analysers and its totals never go down", () => {
  const run = muxRun({ bitrate: 1_000_000, faults: { ccSkips: { atMs: 50, count: 3 } } }, 1);
  const watch = new TsWatch({});
  let previous = 0;
  const ssrcs = TS_WATCH_DEFAULTS.MAX_LIVE + 3;
  for (let ssrc = 1; ssrc <= ssrcs; ssrc++) {
    run.datagrams.forEach((d, i) => watch.feedRtp(ssrc, i, d, ssrc * 10_000 + i, false));
    const totals = watch.totals(ssrc * 10_000 + run.datagrams.length);
    assert.equal(totals.ccErrors, ssrc * run.truth.ccErrors, `after SSRC ${ssrc}`);
    assert.ok(totals.packets > previous);
    previous = totals.packets;
  }
  const snapshots = watch.snapshots(1e9);
  assert.equal(snapshots.size, ssrcs, "retired SSRCs keep their totals for their records");
  assert.equal(watch.takeInterval(1e9).size, TS_WATCH_DEFAULTS.MAX_LIVE);
  assert.deepEqual(watch.figures(1e9).pids.find((p) => p.pid === 0x100)?.ccErrors, ssrcs * 3);
  watch.prune(new Set([ssrcs]));
  assert.equal(watch.snapshots(1e9).size, TS_WATCH_DEFAULTS.MAX_LIVE, "pruned the retired ones");
  assert.equal(watch.totals(1e9).ccErrors, ssrcs * 3, "totals stay");
});

Deno.test("TsWatch skips duplicates and marks a sequence gap as RTP loss", () => {
  const run = muxRun({ bitrate: 1_000_000 }, 1);
  const watch = new TsWatch({});
  run.datagrams.forEach((d, i) => {
    if (i >= 40 && i < 46) return; // lost: the next one carries a gap
    watch.feedRtp(9, i, d, i, false);
    if (i === 20) watch.feedRtp(9, i, d, i, true); // a duplicate RTP packet: never analysed
  });
  const totals = watch.totals(run.datagrams.length);
  assert.ok(totals.ccErrors > 0);
  assert.equal(totals.ccErrorsWithoutRtpLoss, 0);
  assert.equal(totals.packets, (run.datagrams.length - 6) * 7);
  const raw = new TsWatch({});
  run.datagrams.forEach((d, i) => raw.feedUdp(d, i));
  assert.equal(raw.totals(1e6).ccErrorsWithoutRtpLoss, null);
  assert.ok(raw.snapshots(1e6).has(UDP_KEY));
  assert.equal(raw.active, true);
  assert.equal(new TsWatch({}).active, false);
});

Deno.test("TsWatch refuses a TR 101 290 limit out of range up front", () => {
  assert.throws(() => new TsWatch({ limits: { pcrIntervalMs: 0 } }), ConfigError);
});

Deno.test("UdpStats rates leave out the silences of a stream that stalled", () => {
  const stats = new UdpStats({ silenceLimitMs: 1000 });
  for (let i = 0; i < 100; i++) stats.onDatagram(1316, i * 10); // 1 s at 100 datagrams/s
  for (let i = 0; i < 100; i++) stats.onDatagram(1316, 5000 + i * 10); // after a 4 s stall
  const total = stats.snapshot(20_000);
  assert.equal(total.packets, 200);
  assert.ok(Math.abs(total.packetsPerSecond - 100) < 1, `${total.packetsPerSecond}`);
  assert.ok(Math.abs(total.bitrateBps - 1316 * 8 * 100) / (1316 * 800) < 0.01);
  const first = stats.takeInterval(6000);
  assert.equal(first.packets, 200);
  assert.equal(stats.takeInterval(7000).packets, 0);
  assert.equal(new UdpStats({ silenceLimitMs: 1 }).snapshot(5).bitrateBps, 0);
});

Deno.test("MembershipSchedule refreshes every --rejoin-every and re-joins every 10 s while stalled", () => {
  const schedule = new MembershipSchedule({ joinedMs: 0, refreshEveryMs: 60_000 });
  const renewals: [number, string][] = [];
  let stalled = false;
  for (let at = 0; at <= 200_000; at += 100) {
    if (at === 100_000) stalled = true;
    if (at === 125_000) {
      stalled = false;
      schedule.receiving(at);
    }
    const due = schedule.due(at, stalled);
    if (due !== undefined) {
      renewals.push([at, due]);
      schedule.renewed(at);
    }
  }
  assert.deepEqual(renewals, [
    [60_000, "refresh"],
    // Stalled from 100 s: 10 s after the last renewal or start of reception...
    [100_000, "stalled"],
    [110_000, "stalled"],
    [120_000, "stalled"],
    // ...then receiving again from 125 s: the refresh counts from the last renewal (120 s).
    [180_000, "refresh"],
  ]);
  const off = new MembershipSchedule({ joinedMs: 0, refreshEveryMs: 0 });
  assert.equal(off.due(1e9, false), undefined, "0 turns the refresh off");
  assert.equal(off.due(MEMBERSHIP_TIMING.STALLED_REJOIN_EVERY_MS, true), "stalled");
});

Deno.test("MembershipSchedule says a stall 250-270 s after the join or renewal looks like no querier", () => {
  const schedule = new MembershipSchedule({ joinedMs: 1000, refreshEveryMs: 0 });
  assert.equal(schedule.looksLikeMissingQuerier(1000 + 249_000), false);
  assert.equal(schedule.looksLikeMissingQuerier(1000 + 250_000), true);
  assert.equal(schedule.looksLikeMissingQuerier(1000 + 262_000), true);
  assert.equal(schedule.looksLikeMissingQuerier(1000 + 271_000), false);
  schedule.renewed(200_000);
  assert.equal(schedule.looksLikeMissingQuerier(1000 + 262_000), false, "renewed since");
  assert.equal(schedule.looksLikeMissingQuerier(200_000 + 260_000), true);
});
