// The client's Prometheus metrics: maps each watched stream's RFC 3550 receiver statistics and its
// MPEG-TS (ETSI TR 101 290) figures to metric families with `stream`, `ssrc` and `pid` labels.
// Counters never go down across re-joins and SSRC changes; series of gone streams, SSRCs and PIDs end.
import type { MetricFamily, Sample } from "../common/prometheus.ts";
import type { ReceiverSnapshot } from "../rtp/session_stats.ts";
import type { SourceSnapshot } from "../rtp/source_stats.ts";
import type { ReceptionState } from "./stream_watch.ts";
import { MonotonicCounter } from "./monotonic_counter.ts";

/** Figures of one PID, as the `ts.pids` entries of the JSON records (issue 12). */
export interface TsPidFigures {
  readonly pid: number;
  /** Continuity count errors (TR 101 290 1.4) on this PID, cumulative. */
  readonly ccErrors: number;
}

/** Cumulative MPEG-TS figures of a stream, with the keys of the JSON records' `ts` object. */
export interface TsFigures {
  /** Continuity count errors of all PIDs (TR 101 290 1.4). */
  readonly ccErrors: number;
  /** PAT errors (1.3). */
  readonly patErrors: number;
  /** PMT errors (1.5). */
  readonly pmtErrors: number;
  /** PCR repetition errors (2.3a). */
  readonly pcrRepetitionErrors: number;
  /** Packets with the transport error indicator set (2.1). */
  readonly transportErrors: number;
  /** Per-PID figures. */
  readonly pids: readonly TsPidFigures[];
}

/** What the metrics read of one watched stream at a moment. */
export interface StreamFigures {
  /** Catalog name (or the SDP's `s=`): the `stream` label. */
  readonly name: string;
  readonly state: ReceptionState;
  /** Stalls so far (cumulative). */
  readonly stalls: number;
  /** Cumulative statistics (ReceiverStats.snapshot()). */
  readonly total: ReceiverSnapshot;
  /** The latest interval (ReceiverStats.takeInterval()): its bitrate is exported when given;
   * otherwise the bitrate is the cumulative average. */
  readonly interval?: ReceiverSnapshot;
  /** Datagrams the kernel dropped on this stream's socket for lack of buffer space, when known. */
  readonly socketDrops?: number;
  /** Cumulative MPEG-TS figures, for MPEG-TS streams. */
  readonly ts?: TsFigures;
  /** Any value that changes when the stream's statistics restart from zero (new ReceiverStats and
   * analyser after a re-join). Without it, restarts are found from figures that went down. */
  readonly epoch?: number;
}

/** Defaults of {@link ClientMetrics}. */
export const CLIENT_METRICS_DEFAULTS = {
  /** An SSRC or PID quiet this long stops being exported (the stream's latest SSRC stays). */
  RETENTION_MS: 300_000,
  /** Most SSRCs kept per stream (as ReceiverStats MAX_SOURCES); the longest quiet one goes. */
  MAX_SSRCS_PER_STREAM: 64,
  /** Most PIDs kept per stream (of 8192 possible); the longest unseen one goes. */
  MAX_PIDS_PER_STREAM: 512,
} as const;

/** Options of {@link ClientMetrics}. */
export interface ClientMetricsOptions {
  /** See {@link CLIENT_METRICS_DEFAULTS}.RETENTION_MS. */
  readonly retentionMs?: number;
  readonly maxSsrcsPerStream?: number;
  readonly maxPidsPerStream?: number;
}

const STREAM = ["stream"] as const;
const SSRC = ["stream", "ssrc"] as const;

function family(
  name: string,
  type: MetricFamily["type"],
  labelNames: readonly string[],
  help: string,
): MetricFamily {
  return { name, type, labelNames, help };
}

/** The client's metric families (documented in the README, "Prometheus metrics"). */
export const CLIENT_FAMILIES: readonly MetricFamily[] = [
  family(
    "rtp_packets_received_total",
    "counter",
    SSRC,
    "RTP packets received, duplicates included (RFC 3550 A.3).",
  ),
  family(
    "rtp_packets_expected_total",
    "counter",
    SSRC,
    "RTP packets expected from the sequence numbers (RFC 3550 A.3).",
  ),
  family(
    "rtp_packets_lost_total",
    "counter",
    SSRC,
    "RTP packets lost: expected minus unique received (RFC 3550 A.3).",
  ),
  family("rtp_packets_duplicated_total", "counter", SSRC, "RTP packets received more than once."),
  family(
    "rtp_packets_reordered_total",
    "counter",
    SSRC,
    "RTP packets that arrived after a later one.",
  ),
  family(
    "rtp_jitter_seconds",
    "gauge",
    SSRC,
    "Interarrival jitter estimate (RFC 3550 A.8) in seconds.",
  ),
  family("rtp_bitrate_bits_per_second", "gauge", SSRC, "RTP payload bitrate of the last interval."),
  family("rtp_stream_up", "gauge", STREAM, "1 while packets arrive, 0 while stalled or waiting."),
  family(
    "rtp_stalls_total",
    "counter",
    STREAM,
    "Times the stream stalled (no packet for --stall-after).",
  ),
  family(
    "socket_receive_buffer_drops_total",
    "counter",
    STREAM,
    "Datagrams the kernel dropped for a full socket receive buffer.",
  ),
  family(
    "mpegts_continuity_errors_total",
    "counter",
    ["stream", "pid"],
    "MPEG-TS continuity count errors (TR 101 290 1.4) per PID.",
  ),
  family("mpegts_pat_errors_total", "counter", STREAM, "MPEG-TS PAT errors (TR 101 290 1.3)."),
  family("mpegts_pmt_errors_total", "counter", STREAM, "MPEG-TS PMT errors (TR 101 290 1.5)."),
  family(
    "mpegts_pcr_repetition_errors_total",
    "counter",
    STREAM,
    "MPEG-TS PCR repetition errors (TR 101 290 2.3a).",
  ),
  family(
    "mpegts_transport_errors_total",
    "counter",
    STREAM,
    "MPEG-TS packets with the transport error indicator (TR 101 290 2.1).",
  ),
];

const SOURCE_COUNTERS = [
  ["rtp_packets_received_total", "packets"],
  ["rtp_packets_expected_total", "expected"],
  ["rtp_packets_lost_total", "lost"],
  ["rtp_packets_duplicated_total", "duplicates"],
  ["rtp_packets_reordered_total", "reordered"],
] as const satisfies readonly (readonly [string, keyof SourceSnapshot])[];

const TS_COUNTERS = [
  ["mpegts_pat_errors_total", "patErrors"],
  ["mpegts_pmt_errors_total", "pmtErrors"],
  ["mpegts_pcr_repetition_errors_total", "pcrRepetitionErrors"],
  ["mpegts_transport_errors_total", "transportErrors"],
] as const satisfies readonly (readonly [string, keyof TsFigures])[];

interface SourceState {
  readonly counters: MonotonicCounter[];
  firstArrivalMs: number | null;
  rawPackets: number;
  lastArrivalMs: number;
  jitterS: number;
  bitrateBps: number;
  resetPending: boolean;
}

interface PidState {
  readonly ccErrors: MonotonicCounter;
  seenMs: number;
  resetPending: boolean;
}

interface StreamState {
  epoch: number | undefined;
  up: number;
  readonly stalls: MonotonicCounter;
  socketDrops: MonotonicCounter | undefined;
  ts: MonotonicCounter[] | undefined;
  readonly sources: Map<number, SourceState>;
  readonly pids: Map<number, PidState>;
}

/**
 * Metrics of every watched stream. Call {@link ClientMetrics.observe} with all streams once per
 * interval (and at each scrape, see {@link ClientMetrics.collect}); pass a stream's last figures
 * once more before discarding its statistics, so that no count is lost at a re-join. A stream
 * missing from an observation is forgotten (its series end).
 */
export class ClientMetrics {
  readonly #retentionMs: number;
  readonly #maxSsrcs: number;
  readonly #maxPids: number;
  #streams = new Map<string, StreamState>();

  constructor(options: ClientMetricsOptions = {}) {
    this.#retentionMs = options.retentionMs ?? CLIENT_METRICS_DEFAULTS.RETENTION_MS;
    this.#maxSsrcs = Math.max(
      1,
      options.maxSsrcsPerStream ?? CLIENT_METRICS_DEFAULTS.MAX_SSRCS_PER_STREAM,
    );
    this.#maxPids = Math.max(
      1,
      options.maxPidsPerStream ?? CLIENT_METRICS_DEFAULTS.MAX_PIDS_PER_STREAM,
    );
  }

  /** Accounts the current figures of all watched streams at `nowMs` (the snapshots' clock). A name
   * given twice counts once (the first). */
  observe(streams: Iterable<StreamFigures>, nowMs: number): void {
    const next = new Map<string, StreamState>();
    for (const figures of streams) {
      if (next.has(figures.name)) continue;
      const state = this.#streams.get(figures.name) ?? newStream(figures.epoch);
      this.#observeStream(state, figures, nowMs);
      next.set(figures.name, state);
    }
    this.#streams = next;
  }

  /** Samples of every family as of the last observation. Pure. */
  samples(): Map<string, Sample[]> {
    const out = new Map<string, Sample[]>(CLIENT_FAMILIES.map((f) => [f.name, []]));
    const add = (name: string, labels: Record<string, string>, value: number) =>
      out.get(name)!.push({ labels, value });
    for (const [stream, state] of this.#streams) {
      for (const [ssrc, source] of state.sources) {
        const labels = { stream, ssrc: String(ssrc) };
        SOURCE_COUNTERS.forEach(([name], i) => add(name, labels, source.counters[i]!.value));
        add("rtp_jitter_seconds", labels, source.jitterS);
        add("rtp_bitrate_bits_per_second", labels, source.bitrateBps);
      }
      add("rtp_stream_up", { stream }, state.up);
      add("rtp_stalls_total", { stream }, state.stalls.value);
      if (state.socketDrops !== undefined) {
        add("socket_receive_buffer_drops_total", { stream }, state.socketDrops.value);
      }
      if (state.ts !== undefined) {
        TS_COUNTERS.forEach(([name], i) => add(name, { stream }, state.ts![i]!.value));
      }
      for (const [pid, figures] of state.pids) {
        add("mpegts_continuity_errors_total", { stream, pid: String(pid) }, figures.ccErrors.value);
      }
    }
    return out;
  }

  /** {@link ClientMetrics.observe} then {@link ClientMetrics.samples}: the scrape-time collector. */
  collect(streams: Iterable<StreamFigures>, nowMs: number): Map<string, Sample[]> {
    this.observe(streams, nowMs);
    return this.samples();
  }

  /** Series currently kept (for memory checks). */
  get seriesCount(): number {
    let count = 0;
    for (const state of this.#streams.values()) {
      count += 2 + state.sources.size * (SOURCE_COUNTERS.length + 2) + state.pids.size +
        (state.socketDrops === undefined ? 0 : 1) +
        (state.ts === undefined ? 0 : TS_COUNTERS.length);
    }
    return count;
  }

  #observeStream(state: StreamState, figures: StreamFigures, nowMs: number): void {
    const restarted = figures.epoch !== undefined && state.epoch !== undefined &&
      figures.epoch !== state.epoch;
    state.epoch = figures.epoch ?? state.epoch;
    state.up = figures.state === "receiving" ? 1 : 0;
    state.stalls.observe(figures.stalls, restarted, true);
    if (figures.socketDrops !== undefined) {
      state.socketDrops ??= new MonotonicCounter();
      state.socketDrops.observe(figures.socketDrops, restarted, true);
    }
    if (restarted) {
      for (const source of state.sources.values()) source.resetPending = true;
      for (const pid of state.pids.values()) pid.resetPending = true;
    }
    this.#observeSources(state, figures, nowMs);
    if (figures.ts !== undefined) this.#observeTs(state, figures.ts, restarted, nowMs);
  }

  #observeSources(state: StreamState, figures: StreamFigures, nowMs: number): void {
    const interval = new Map(figures.interval?.sources.map((s) => [s.ssrc, s]));
    const present = new Set<number>();
    for (const snapshot of figures.total.sources) {
      if (snapshot.packets === 0 && !snapshot.valid) continue; // on probation: maybe noise
      let source = state.sources.get(snapshot.ssrc);
      if (source === undefined) {
        evictOldest(state.sources, this.#maxSsrcs, (s) => s.lastArrivalMs);
        source = newSource(snapshot);
        state.sources.set(snapshot.ssrc, source);
      }
      const reset = source.resetPending || source.firstArrivalMs !== snapshot.firstArrivalMs ||
        snapshot.packets < source.rawPackets;
      SOURCE_COUNTERS.forEach(([, key], i) => source.counters[i]!.observe(snapshot[key], reset));
      source.resetPending = false;
      source.firstArrivalMs = snapshot.firstArrivalMs;
      source.rawPackets = snapshot.packets;
      source.lastArrivalMs = snapshot.lastArrivalMs ?? nowMs;
      source.jitterS = snapshot.jitterMs / 1000;
      source.bitrateBps = figures.interval === undefined
        ? snapshot.bitrateBps
        : interval.get(snapshot.ssrc)?.bitrateBps ?? 0;
      present.add(snapshot.ssrc);
    }
    let latest: SourceState | undefined;
    for (const source of state.sources.values()) {
      if (latest === undefined || source.lastArrivalMs >= latest.lastArrivalMs) latest = source;
    }
    for (const [ssrc, source] of state.sources) {
      if (!present.has(ssrc)) source.bitrateBps = 0;
      if (source !== latest && nowMs - source.lastArrivalMs > this.#retentionMs) {
        state.sources.delete(ssrc);
      }
    }
  }

  #observeTs(state: StreamState, ts: TsFigures, restarted: boolean, nowMs: number): void {
    state.ts ??= TS_COUNTERS.map(() => new MonotonicCounter());
    TS_COUNTERS.forEach(([, key], i) => state.ts![i]!.observe(ts[key], restarted, true));
    for (const figures of ts.pids) {
      if (!Number.isInteger(figures.pid) || figures.pid < 0 || figures.pid > 0x1fff) continue;
      let pid = state.pids.get(figures.pid);
      if (pid === undefined) {
        evictOldest(state.pids, this.#maxPids, (p) => p.seenMs);
        pid = { ccErrors: new MonotonicCounter(), seenMs: nowMs, resetPending: false };
        state.pids.set(figures.pid, pid);
      }
      pid.ccErrors.observe(figures.ccErrors, pid.resetPending || restarted, true);
      pid.resetPending = false;
      pid.seenMs = nowMs;
    }
    for (const [number, pid] of state.pids) {
      if (nowMs - pid.seenMs > this.#retentionMs) state.pids.delete(number);
    }
  }
}

function newStream(epoch: number | undefined): StreamState {
  return {
    epoch,
    up: 0,
    stalls: new MonotonicCounter(),
    socketDrops: undefined,
    ts: undefined,
    sources: new Map(),
    pids: new Map(),
  };
}

function newSource(snapshot: SourceSnapshot): SourceState {
  return {
    counters: SOURCE_COUNTERS.map(() => new MonotonicCounter()),
    firstArrivalMs: snapshot.firstArrivalMs,
    rawPackets: 0,
    lastArrivalMs: snapshot.lastArrivalMs ?? 0,
    jitterS: 0,
    bitrateBps: 0,
    resetPending: false,
  };
}

/** Makes room for one more entry in `map` by dropping the one with the oldest time. */
function evictOldest<K, V>(map: Map<K, V>, max: number, timeOf: (value: V) => number): void {
  while (map.size >= max) {
    let oldest: K | undefined;
    let oldestMs = Infinity;
    for (const [key, value] of map) {
      if (timeOf(value) < oldestMs) [oldest, oldestMs] = [key, timeOf(value)];
    }
    if (oldest === undefined) return;
    map.delete(oldest);
  }
}
