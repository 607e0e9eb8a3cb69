// The MPEG-TS side of one watched stream (ETSI TR 101 290 via lib/ts/analyser.ts): one analyser per
// RTP SSRC carrying MPEG-TS (RFC 2250) and one for raw MPEG-TS over UDP, a bounded number alive at
// once; retired analysers leave their totals behind, so the stream's counts only grow.
import { TsAnalyser } from "../ts/analyser.ts";
import type { Tr101290Limits } from "../ts/tr101290.ts";
import type { TsSnapshot } from "../ts/ts_report.ts";
import type { TsFigures } from "./metrics.ts";

/** Defaults of {@link TsWatch}. */
export const TS_WATCH_DEFAULTS = {
  /** Analysers alive per stream (the most recently fed SSRCs); an older one is retired. */
  MAX_LIVE: 4,
  /** PIDs whose retired continuity errors are kept per stream (the analyser's own PID cap). */
  MAX_RETIRED_PIDS: 512,
} as const;

/** Key of the raw UDP analyser (SSRCs are 0 to 2^32 − 1). */
export const UDP_KEY = -1;

/** The counters of a {@link TsSnapshot} that add up across analysers. */
const SUMMED = [
  "packets",
  "syncLosses",
  "syncByteErrors",
  "patErrors",
  "ccErrors",
  "pmtErrors",
  "pidErrors",
  "transportErrors",
  "crcErrors",
  "pcrRepetitionErrors",
  "pcrDiscontinuityErrors",
  "ptsErrors",
  "nullPackets",
  "estimatedLostPackets",
  "partialPackets",
  "malformedPackets",
  "malformedSections",
  "untrackedPackets",
] as const satisfies readonly (keyof TsSnapshot)[];

type SummedKey = typeof SUMMED[number];

/** A stream's MPEG-TS totals over all its analysers, live and retired. */
export interface TsTotals extends Readonly<Record<SummedKey, number>> {
  /** Continuity errors without RTP loss; null when only raw UDP (no RTP) was analysed. */
  readonly ccErrorsWithoutRtpLoss: number | null;
  /** Continuity errors per PID, by PID. */
  readonly pids: readonly { readonly pid: number; readonly ccErrors: number }[];
}

interface Live {
  readonly analyser: TsAnalyser;
  /** Sequence number of the last packet fed (−1 before any; raw UDP has none). */
  lastSeq: number;
  lastFedMs: number;
}

/**
 * Analysers of one stream, keyed by SSRC (or {@link UDP_KEY}). Pure: time comes with every call.
 * The hot path (feed) allocates only when a new key appears.
 */
export class TsWatch {
  readonly #limits: Partial<Tr101290Limits>;
  readonly #maxLive: number;
  readonly #live = new Map<number, Live>();
  /** Final totals of retired analysers, for the summary records of their SSRCs. */
  readonly #frozen = new Map<number, TsSnapshot>();
  readonly #retired = new Float64Array(SUMMED.length);
  #retiredWithoutLoss = 0;
  #retiredRtp = false;
  readonly #retiredPids = new Map<number, number>();

  /** Throws ConfigError (from TsAnalyser) when a limit is out of range. */
  constructor(options: { readonly limits?: Partial<Tr101290Limits>; readonly maxLive?: number }) {
    this.#limits = options.limits ?? {};
    this.#maxLive = Math.max(1, options.maxLive ?? TS_WATCH_DEFAULTS.MAX_LIVE);
    new TsAnalyser(this.#limits); // validate the limits once, up front
  }

  /** True once any MPEG-TS was analysed. */
  get active(): boolean {
    return this.#live.size > 0 || this.#frozen.size > 0 || this.#retired[0]! > 0;
  }

  /**
   * Feeds the payload of an RTP packet of `ssrc` with sequence number `seq`; `duplicate` packets
   * (RFC 3550 A.1 saw the number before) are skipped. A sequence number that does not follow the
   * previous one marks an RTP gap (the analyser's network-loss correlation).
   */
  feedRtp(ssrc: number, seq: number, payload: Uint8Array, arrivalMs: number, duplicate: boolean) {
    if (duplicate) return;
    const live = this.#liveFor(ssrc, arrivalMs);
    const gap = live.lastSeq >= 0 && seq !== ((live.lastSeq + 1) & 0xffff);
    live.lastSeq = seq;
    live.lastFedMs = arrivalMs;
    live.analyser.feed(payload, arrivalMs, gap);
  }

  /** Feeds a raw MPEG-TS over UDP datagram. */
  feedUdp(datagram: Uint8Array, arrivalMs: number): void {
    const live = this.#liveFor(UDP_KEY, arrivalMs);
    live.lastFedMs = arrivalMs;
    live.analyser.feed(datagram, arrivalMs, false);
  }

  /** Interval figures of each live analyser, by key; starts the next interval. */
  takeInterval(nowMs: number): Map<number, TsSnapshot> {
    const out = new Map<number, TsSnapshot>();
    for (const [key, live] of this.#live) out.set(key, live.analyser.takeInterval(nowMs));
    return out;
  }

  /** Totals by key: live analysers now, retired ones as they ended. Pure. */
  snapshots(nowMs: number): Map<number, TsSnapshot> {
    const out = new Map(this.#frozen);
    for (const [key, live] of this.#live) out.set(key, live.analyser.snapshot(nowMs));
    return out;
  }

  /** The stream's totals over every analyser it ever had. Pure. */
  totals(nowMs: number): TsTotals {
    const sums = Float64Array.from(this.#retired);
    let withoutLoss = this.#retiredWithoutLoss;
    let rtp = this.#retiredRtp;
    const pids = new Map(this.#retiredPids);
    for (const live of this.#live.values()) {
      const snapshot = live.analyser.snapshot(nowMs);
      SUMMED.forEach((key, i) => (sums[i]! += snapshot[key]));
      if (snapshot.ccErrorsWithoutRtpLoss !== null) {
        rtp = true;
        withoutLoss += snapshot.ccErrorsWithoutRtpLoss;
      }
      for (const pid of snapshot.pids) pids.set(pid.pid, (pids.get(pid.pid) ?? 0) + pid.ccErrors);
    }
    const totals = Object.fromEntries(SUMMED.map((key, i) => [key, sums[i]!])) as Record<
      SummedKey,
      number
    >;
    return {
      ...totals,
      ccErrorsWithoutRtpLoss: rtp ? withoutLoss : null,
      pids: [...pids].sort((a, b) => a[0] - b[0]).map(([pid, ccErrors]) => ({ pid, ccErrors })),
    };
  }

  /** The figures ClientMetrics reads. Pure. */
  figures(nowMs: number): TsFigures {
    const t = this.totals(nowMs);
    return {
      ccErrors: t.ccErrors,
      patErrors: t.patErrors,
      pmtErrors: t.pmtErrors,
      pcrRepetitionErrors: t.pcrRepetitionErrors,
      transportErrors: t.transportErrors,
      pids: t.pids,
    };
  }

  /** Forgets the frozen totals of SSRCs no longer tracked (their records are gone). */
  prune(tracked: ReadonlySet<number>): void {
    for (const key of this.#frozen.keys()) {
      if (key !== UDP_KEY && !tracked.has(key)) this.#frozen.delete(key);
    }
  }

  #liveFor(key: number, nowMs: number): Live {
    let live = this.#live.get(key);
    if (live !== undefined) return live;
    if (this.#live.size >= this.#maxLive) this.#retireOldest(nowMs);
    live = {
      analyser: new TsAnalyser({ ...this.#limits, transport: key === UDP_KEY ? "udp" : "rtp" }),
      lastSeq: -1,
      lastFedMs: nowMs,
    };
    this.#frozen.delete(key);
    this.#live.set(key, live);
    return live;
  }

  #retireOldest(nowMs: number): void {
    let oldest: number | undefined;
    let oldestMs = Infinity;
    for (const [key, live] of this.#live) {
      if (live.lastFedMs < oldestMs) [oldest, oldestMs] = [key, live.lastFedMs];
    }
    if (oldest === undefined) return;
    const snapshot = this.#live.get(oldest)!.analyser.snapshot(nowMs);
    this.#live.delete(oldest);
    this.#frozen.set(oldest, snapshot);
    SUMMED.forEach((key, i) => (this.#retired[i]! += snapshot[key]));
    if (snapshot.ccErrorsWithoutRtpLoss !== null) {
      this.#retiredRtp = true;
      this.#retiredWithoutLoss += snapshot.ccErrorsWithoutRtpLoss;
    }
    for (const pid of snapshot.pids) {
      const known = this.#retiredPids.get(pid.pid);
      if (known !== undefined) this.#retiredPids.set(pid.pid, known + pid.ccErrors);
      else if (this.#retiredPids.size < TS_WATCH_DEFAULTS.MAX_RETIRED_PIDS && pid.ccErrors > 0) {
        this.#retiredPids.set(pid.pid, pid.ccErrors);
      }
    }
  }
}
