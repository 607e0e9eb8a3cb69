// Tests of lib/ts/analyser.ts against the test source's truth (lib/source/ts_truth.ts): every ETSI
// TR 101 290 indicator equals the muxer's count exactly, with and without simulated RTP loss, and
// continuity errors are attributed to RTP loss or not as the correlation window defines.

import assert from "node:assert/strict";
import { mulberry32 } from "../../lib/common/prng.ts";
import { TsAnalyser } from "../../lib/ts/analyser.ts";
import { TS } from "../../lib/ts/constants.ts";
import type { TsSnapshot } from "../../lib/ts/ts_report.ts";
import type { TsFaultOptions } from "../../lib/source/ts_faults.ts";
import { DEFAULT_SERVICE, TS_LAYOUT } from "../../lib/source/ts_tables.ts";
import type { TsTruth } from "../../lib/source/ts_truth.ts";
import { headerOf, muxRun } from "../support/ts_packets.ts";

const TRUTH_KEYS = [
  "ccErrors",
  "transportErrors",
  "crcErrors",
  "patErrors",
  "pmtErrors",
  "pidErrors",
  "pcrRepetitionErrors",
  "pcrDiscontinuityErrors",
  "ptsErrors",
] as const;

function assertTruth(s: TsSnapshot, truth: TsTruth, extra: Partial<Record<string, number>> = {}) {
  const got = Object.fromEntries(TRUTH_KEYS.map((k) => [k, s[k]]));
  const want = Object.fromEntries(TRUTH_KEYS.map((k) => [k, truth[k] + (extra[k] ?? 0)]));
  assert.deepEqual(got, want);
  assert.equal(s.syncLosses, 0);
  assert.equal(s.syncByteErrors, 0);
}

/** Every fault of lib/source/ts_faults.ts, spread over 24 s of stream. */
const ALL_FAULTS: TsFaultOptions = {
  ccSkips: { atMs: 1000, count: 12, everyMs: 170 },
  transportErrors: { atMs: 1100, count: 7, everyMs: 230 },
  crcErrors: { atMs: 3500, count: 3, everyMs: 400, table: "pmt" },
  patGaps: [{ atMs: 5000, durationMs: 1300 }],
  pmtGaps: [{ atMs: 7500, durationMs: 700 }],
  pcrGaps: [{ atMs: 9000, durationMs: 70 }, { atMs: 9500, durationMs: 150 }],
  audioGaps: [{ atMs: 10_500, durationMs: 6000 }],
  pcrJumps: [
    { atMs: 18_000, jumpMs: 300 },
    { atMs: 19_000, jumpMs: -500, flagged: true },
    { atMs: 20_000, jumpMs: -50 },
  ],
};

Deno.test("TsAnalyser finds no error in the test source's clean stream", () => {
  const run = muxRun({ bitrate: 2_000_000 }, 10);
  const analyser = new TsAnalyser();
  run.datagrams.forEach((d, i) => analyser.feed(d, run.timesMs[i]!));
  const s = analyser.snapshot(run.timesMs.at(-1)!);
  assertTruth(s, run.truth);
  assert.ok(TRUTH_KEYS.every((k) => run.truth[k] === 0));
  assert.equal(s.packets, run.datagrams.length * 7);
  assert.equal(s.estimatedLostPackets + s.partialPackets + s.malformedPackets, 0);
  assert.equal(s.malformedSections + s.untrackedPackets, 0);
  assert.deepEqual(s.pids.map((p) => [p.pid, p.role, p.streamType, p.pcr]), [
    [TS.PAT_PID, "PAT", null, false],
    [TS_LAYOUT.SDT_PID, "SDT", null, false],
    [TS_LAYOUT.AUDIO_PID, "audio", "MPEG-1 audio", true],
    [TS_LAYOUT.PMT_PID, "PMT", null, false],
    [TS.NULL_PID, "null", null, false],
  ]);
  assert.equal(s.pids.reduce((n, p) => n + p.packets, 0), s.packets);
  assert.equal(s.pids.find((p) => p.role === "null")!.packets, s.nullPackets);
  assert.ok(Math.abs(s.bitrateBps - 2_000_000) / 2_000_000 < 0.001, `${s.bitrateBps} bit/s`);
  assert.deepEqual(s.services.map(({ pcrDriftPpm: _, pcrJitterMs: __, ...rest }) => rest), [{
    number: TS_LAYOUT.PROGRAM_NUMBER,
    pmtPid: TS_LAYOUT.PMT_PID,
    pcrPid: TS_LAYOUT.AUDIO_PID,
    name: DEFAULT_SERVICE.SERVICE_NAME,
    provider: DEFAULT_SERVICE.PROVIDER_NAME,
  }]);
  // The PCR follows the mux clock: drift near 0 ppm (the 7 packets of a datagram share one
  // arrival time, which biases the fit a little), spread within one datagram's duration.
  const service = s.services[0]!;
  assert.ok(Math.abs(service.pcrDriftPpm!) < 20, `${service.pcrDriftPpm} ppm`);
  assert.ok(service.pcrJitterMs! <= (7 * 188 * 8 * 1000) / 2_000_000, `${service.pcrJitterMs} ms`);
});

Deno.test("TsAnalyser counts every injected fault exactly as the muxer's truth", async (t) => {
  for (const limits of [{}, { pcrIntervalMs: 40 }, { patIntervalMs: 300, ptsIntervalMs: 250 }]) {
    await t.step(`limits ${JSON.stringify(limits)}`, () => {
      const run = muxRun({ bitrate: 2_000_000, faults: ALL_FAULTS, limits }, 24);
      const analyser = new TsAnalyser(limits);
      run.datagrams.forEach((d, i) => analyser.feed(d, run.timesMs[i]!));
      const s = analyser.snapshot(run.timesMs.at(-1)!);
      assertTruth(s, run.truth);
      assert.equal(s.ccErrorsWithoutRtpLoss, run.truth.ccErrors, "no RTP loss: all upstream");
      assert.equal(s.estimatedLostPackets, run.truth.ccErrors, "each skip hides one packet");
      // Each fault shows: the test is not vacuous.
      for (const key of TRUTH_KEYS) assert.ok(run.truth[key] > 0, `${key} injected`);
      assert.equal(run.truth.ccErrors, 12);
      assert.equal(run.truth.transportErrors, 7);
      assert.equal(run.truth.crcErrors, 3);
      // 2.3b: the 150 ms PCR gap, the 6 s audio gap, +300 ms and −50 ms; the flagged jump is not.
      assert.equal(run.truth.pcrDiscontinuityErrors, 4);
      assert.equal(run.truth.pidErrors, 1, "6 s without audio: one 5 s period");
    });
  }
});

Deno.test("TsAnalyser: each fault alone gives its indicator and no other", async (t) => {
  const cases: [string, TsFaultOptions, Partial<Record<(typeof TRUTH_KEYS)[number], number>>][] = [
    ["ccSkips", { ccSkips: { atMs: 500, count: 4 } }, { ccErrors: 4 }],
    ["transportErrors", { transportErrors: { atMs: 500, count: 3 } }, { transportErrors: 3 }],
    ["crc PAT", { crcErrors: { atMs: 500, count: 2, everyMs: 300 } }, { crcErrors: 2 }],
    ["crc SDT", { crcErrors: { atMs: 500, count: 2, table: "sdt" } }, { crcErrors: 2 }],
    ["PAT withheld 800 ms", { patGaps: [{ atMs: 1000, durationMs: 800 }] }, { patErrors: 1 }],
    ["PAT withheld 1.3 s", { patGaps: [{ atMs: 1000, durationMs: 1300 }] }, { patErrors: 2 }],
    ["PMT withheld 700 ms", { pmtGaps: [{ atMs: 1000, durationMs: 700 }] }, { pmtErrors: 1 }],
    ["PCR gap 70 ms", { pcrGaps: [{ atMs: 1000, durationMs: 80 }] }, {}],
    ["PCR gap 150 ms", { pcrGaps: [{ atMs: 1000, durationMs: 150 }] }, {
      pcrRepetitionErrors: 1,
      pcrDiscontinuityErrors: 1,
    }],
    ["PCR jump", { pcrJumps: [{ atMs: 1000, jumpMs: 200 }] }, { pcrDiscontinuityErrors: 1 }],
    ["flagged PCR jump", { pcrJumps: [{ atMs: 1000, jumpMs: 200, flagged: true }] }, {}],
  ];
  for (const [name, faults, expected] of cases) {
    await t.step(name, () => {
      const run = muxRun({ bitrate: 1_000_000, faults }, 3);
      const analyser = new TsAnalyser();
      run.datagrams.forEach((d, i) => analyser.feed(d, run.timesMs[i]!));
      const s = analyser.snapshot(run.timesMs.at(-1)!);
      assertTruth(s, run.truth);
      for (const key of TRUTH_KEYS) assert.equal(run.truth[key], expected[key] ?? 0, key);
    });
  }
});

/**
 * Spans around faults (and around the edges of withheld windows) where the loss simulation drops
 * nothing, so that a drop never merges with a fault or moves a gap across a limit.
 */
function faultZones(faults: TsFaultOptions, marginMs: number): [number, number][] {
  const zones: [number, number][] = [];
  for (const key of ["ccSkips", "transportErrors", "crcErrors"] as const) {
    const f = faults[key];
    for (let i = 0; f !== undefined && i < f.count; i++) {
      const at = f.atMs + i * (f.everyMs ?? 100);
      zones.push([at - marginMs, at + marginMs]);
    }
  }
  for (const key of ["patGaps", "pmtGaps", "pcrGaps", "audioGaps"] as const) {
    for (const w of faults[key] ?? []) {
      zones.push([w.atMs - marginMs, w.atMs + marginMs]);
      zones.push([w.atMs + w.durationMs - marginMs, w.atMs + w.durationMs + marginMs]);
    }
  }
  for (const j of faults.pcrJumps ?? []) zones.push([j.atMs - marginMs, j.atMs + marginMs]);
  return zones;
}

Deno.test("TsAnalyser with RTP loss: ccErrorsWithoutRtpLoss equals the injected faults exactly", async (t) => {
  for (const seed of [1, 2, 3]) {
    await t.step(`seed ${seed}`, () => {
      const run = muxRun({ bitrate: 2_000_000, faults: ALL_FAULTS }, 24);
      const zones = faultZones(ALL_FAULTS, 250);
      const random = mulberry32(seed);
      const analyser = new TsAnalyser();
      // Independent account of the continuity errors the drops cause: per PID, payload packets
      // dropped since its last received one; a count that is not a multiple of 16 shows.
      const missed = new Map<number, number>();
      let lossErrors = 0;
      let lossPackets = 0;
      let dropped = 0;
      let previousDropped = false;
      let lastDropMs = -Infinity;
      run.datagrams.forEach((d, i) => {
        const time = run.timesMs[i]!;
        // At most one datagram lost per 150 ms: a lost PCR (every 30 ms), PAT or PMT (every
        // 100 ms) then never stretches a repetition interval past its limit.
        const drop = time - lastDropMs >= 150 && i > 20 && random() < 0.15 &&
          !zones.some(([a, b]) => time >= a && time <= b);
        if (drop) lastDropMs = time;
        for (let k = 0; k < 7; k++) {
          const h = headerOf(d, k);
          if (h.pid === TS.NULL_PID || !h.payload) continue;
          if (drop) missed.set(h.pid, (missed.get(h.pid) ?? 0) + 1);
          else {
            const m = (missed.get(h.pid) ?? 0) % 16;
            if (m !== 0) lossErrors++;
            lossPackets += m;
            missed.set(h.pid, 0);
          }
        }
        if (!drop) analyser.feed(d, time, previousDropped);
        dropped += drop ? 1 : 0;
        previousDropped = drop;
      });
      const s = analyser.snapshot(run.timesMs.at(-1)!);
      assert.ok(dropped > 60 && lossErrors > 15, `${dropped} dropped, ${lossErrors} CC errors`);
      assertTruth(s, run.truth, { ccErrors: lossErrors });
      assert.equal(s.ccErrorsWithoutRtpLoss, run.truth.ccErrors);
      assert.equal(s.estimatedLostPackets, run.truth.ccErrors + lossPackets);
      assert.equal(s.packets, (run.datagrams.length - dropped) * 7);
    });
  }
});

Deno.test("TsAnalyser takeInterval() splits the counts and snapshot() changes nothing", () => {
  const run = muxRun({ bitrate: 2_000_000, faults: ALL_FAULTS }, 24);
  const analyser = new TsAnalyser();
  const intervals: TsSnapshot[] = [];
  let nextInterval = 1000;
  run.datagrams.forEach((d, i) => {
    const time = run.timesMs[i]!;
    if (time >= nextInterval) {
      const before = JSON.stringify(analyser.snapshot(time));
      assert.equal(JSON.stringify(analyser.snapshot(time)), before, "snapshot() is pure");
      intervals.push(analyser.takeInterval(time));
      nextInterval += 1000;
    }
    analyser.feed(d, time);
  });
  const end = run.timesMs.at(-1)!;
  intervals.push(analyser.takeInterval(end));
  const total = analyser.snapshot(end);
  for (const key of [...TRUTH_KEYS, "packets", "nullPackets", "estimatedLostPackets"] as const) {
    assert.equal(intervals.reduce((n, s) => n + s[key], 0), total[key], key);
  }
  assert.equal(intervals.reduce((n, s) => n + s.ccErrorsWithoutRtpLoss!, 0), total.ccErrors);
  const audio = (s: TsSnapshot) => s.pids.find((p) => p.pid === TS_LAYOUT.AUDIO_PID)!;
  assert.equal(intervals.reduce((n, s) => n + audio(s).packets, 0), audio(total).packets);
  assert.equal(intervals.reduce((n, s) => n + audio(s).ccErrors, 0), audio(total).ccErrors);
  // A whole second of the clean start: 2 Mbit/s and no PID silent.
  const first = intervals[0]!;
  assert.ok(Math.abs(first.bitrateBps - 2_000_000) < 20_000, `${first.bitrateBps}`);
  // The audio gap (10.5 s to 16.5 s) shows as silent intervals of the audio PID.
  assert.equal(audio(intervals[12]!).packets, 0);
  assert.equal(audio(intervals[12]!).bitrateBps, 0);
});

Deno.test("TsAnalyser for raw UDP reports ccErrorsWithoutRtpLoss as null", () => {
  const run = muxRun({ bitrate: 1_000_000, faults: { ccSkips: { atMs: 200, count: 3 } } }, 2);
  const analyser = new TsAnalyser({ transport: "udp" });
  run.datagrams.forEach((d, i) => analyser.feed(d, run.timesMs[i]!));
  const s = analyser.snapshot(2000);
  assert.equal(s.ccErrors, 3);
  assert.equal(s.ccErrorsWithoutRtpLoss, null);
  assert.equal(s.estimatedLostPackets, 3, "loss estimated from the continuity counters");
});

Deno.test("TsAnalyser rejects limits and caps out of range", () => {
  assert.throws(() => new TsAnalyser({ pcrIntervalMs: 0 }), /pcrIntervalMs must be/);
  assert.throws(() => new TsAnalyser({ patIntervalMs: Number.NaN }), /patIntervalMs/);
  assert.throws(() => new TsAnalyser({ maxPids: 3 }), /maxPids must be an integer/);
  assert.throws(() => new TsAnalyser({ maxServices: 1.5 }), /maxServices/);
  assert.equal(new TsAnalyser({ pcrIntervalMs: 40 }).limits.pcrIntervalMs, 40);
});
