// The server's memory of receiver reports: the last report of each receiver (receiver id + address)
// per stream, with running totals since the receiver started, bounded in count (per stream and in
// all) and in age, so that any number of reports keeps memory flat.
import {
  type ReportedRecord,
  type ReportedTs,
  type ReportState,
  TS_COUNTER_KEYS,
  type TsCounterKey,
  type ValidReport,
} from "./report_validation.ts";

/** Defaults of {@link ReceiverStore}. */
export const RECEIVER_STORE_DEFAULTS = {
  /** Receivers kept per stream; a new one beyond it replaces the longest silent one. */
  MAX_RECEIVERS_PER_STREAM: 1000,
  /** Receivers kept over all streams. */
  MAX_RECEIVERS: 10_000,
  /** A receiver silent this long (seconds) is forgotten. */
  MAX_AGE_S: 300,
  /** PIDs with continuity errors kept per receiver (the worst ones). */
  MAX_PIDS: 8,
} as const;

/** MPEG-TS figures kept of a report period: counters summed over its intervals, and the PIDs that
 * had continuity errors (worst first). The programme map itself is not kept, to bound memory. */
export type KeptTs = Readonly<Record<TsCounterKey, number>> & {
  readonly pids: readonly { readonly pid: number; readonly ccErrors: number }[];
};

/** Options of {@link ReceiverStore}. */
export interface ReceiverStoreOptions {
  readonly maxReceiversPerStream?: number;
  readonly maxReceivers?: number;
  readonly maxAgeS?: number;
  /** Wall clock in ms since the epoch; default Date.now. */
  readonly now?: () => number;
}

/** Figures of a receiver's last report period. */
export interface PeriodFigures {
  readonly packets: number;
  readonly expected: number;
  readonly lost: number;
  /** lost / expected in [0, 1], 0 when nothing was expected. */
  readonly fractionLost: number;
  readonly duplicates: number;
  readonly reordered: number;
  /** Highest jitter of the period. */
  readonly jitterMs: number;
  /** Mean payload bitrate over the period's intervals. */
  readonly bitrateBps: number;
}

/** Running totals of a receiver since it started. */
export interface ReceiverTotals {
  readonly packets: number;
  readonly expected: number;
  readonly lost: number;
  readonly fractionLost: number;
  readonly duplicates: number;
  readonly reordered: number;
  readonly stalls: number;
  readonly stalledS: number;
  readonly durationS: number;
  /** MPEG-TS counters, for MPEG-TS streams. */
  readonly ts?: Readonly<Record<TsCounterKey, number>>;
}

/** One receiver as `GET /streams/{name}/receivers` shows it. */
export interface ReceiverView extends PeriodFigures {
  readonly id: string;
  readonly address: string;
  readonly firstReportAt: string;
  readonly lastReportAt: string;
  readonly reports: number;
  readonly state: ReportState | null;
  /** MPEG-TS figures of the period. */
  readonly ts: KeptTs | null;
  readonly total: ReceiverTotals;
}

/** Per-stream aggregates over the receivers' last reports (for the server's metrics). */
export interface StreamAggregate {
  readonly receivers: number;
  readonly withLoss: number;
  readonly stalled: number;
  readonly withContinuityErrors: number;
  readonly worstFractionLost: number;
  readonly worstJitterMs: number;
}

interface Entry {
  readonly stream: string;
  readonly id: string;
  readonly address: string;
  readonly key: string;
  readonly firstMs: number;
  lastMs: number;
  reports: number;
  state: ReportState | null;
  period: PeriodFigures;
  ts: KeptTs | null;
  total: ReceiverTotals;
}

const ZERO_PERIOD: PeriodFigures = {
  packets: 0,
  expected: 0,
  lost: 0,
  fractionLost: 0,
  duplicates: 0,
  reordered: 0,
  jitterMs: 0,
  bitrateBps: 0,
};

/** The last report of each receiver, per stream. */
export class ReceiverStore {
  readonly #maxPerStream: number;
  readonly #max: number;
  readonly #maxAgeMs: number;
  readonly #now: () => number;
  /** Every entry, least recently reported first. */
  readonly #all = new Map<string, Entry>();
  /** Entries per stream, least recently reported first. */
  readonly #byStream = new Map<string, Map<string, Entry>>();
  #evictedByCap = 0;
  #expired = 0;

  constructor(options: ReceiverStoreOptions = {}) {
    this.#maxPerStream = Math.max(
      1,
      options.maxReceiversPerStream ?? RECEIVER_STORE_DEFAULTS.MAX_RECEIVERS_PER_STREAM,
    );
    this.#max = Math.max(1, options.maxReceivers ?? RECEIVER_STORE_DEFAULTS.MAX_RECEIVERS);
    this.#maxAgeMs = (options.maxAgeS ?? RECEIVER_STORE_DEFAULTS.MAX_AGE_S) * 1000;
    this.#now = options.now ?? Date.now;
  }

  /** Keeps `report` as the last one of receiver (`report.receiverId`, `address`) on `stream`. */
  put(stream: string, address: string, report: ValidReport): void {
    const now = this.#now();
    this.#expire(now);
    const key = `${report.receiverId}\u0000${address}`;
    let streamEntries = this.#byStream.get(stream);
    let entry = streamEntries?.get(key);
    if (entry === undefined) {
      if (streamEntries === undefined) {
        streamEntries = new Map();
        this.#byStream.set(stream, streamEntries);
      }
      while (streamEntries.size >= this.#maxPerStream) this.#evictFirst(streamEntries);
      while (this.#all.size >= this.#max) this.#evictFirst(this.#all);
      entry = {
        stream,
        id: report.receiverId,
        address,
        key,
        firstMs: now,
        lastMs: now,
        reports: 0,
        state: null,
        period: ZERO_PERIOD,
        ts: null,
        total: emptyTotals(),
      };
    } else {
      streamEntries!.delete(key);
      this.#all.delete(`${stream}\u0000${key}`);
    }
    update(entry, report, now);
    streamEntries!.set(key, entry);
    this.#byStream.set(stream, streamEntries!); // evictions may have emptied and dropped it
    this.#all.set(`${stream}\u0000${key}`, entry);
  }

  /** The receivers of `stream`: stalled first, then by loss (worst first), then by id. */
  list(stream: string): ReceiverView[] {
    this.#expire(this.#now());
    const entries = [...this.#byStream.get(stream)?.values() ?? []];
    entries.sort((a, b) =>
      Number(b.state === "stalled") - Number(a.state === "stalled") ||
      b.period.fractionLost - a.period.fractionLost ||
      (a.id < b.id ? -1 : a.id > b.id ? 1 : a.address < b.address ? -1 : 1)
    );
    return entries.map(view);
  }

  /** Aggregates of every stream that has receivers. */
  aggregates(): Map<string, StreamAggregate> {
    this.#expire(this.#now());
    const out = new Map<string, StreamAggregate>();
    for (const [stream, entries] of this.#byStream) {
      let withLoss = 0, stalled = 0, withCc = 0, worstLoss = 0, worstJitter = 0;
      for (const e of entries.values()) {
        if (e.period.lost > 0) withLoss++;
        if (e.state === "stalled") stalled++;
        if ((e.ts?.ccErrors ?? 0) > 0) withCc++;
        worstLoss = Math.max(worstLoss, e.period.fractionLost);
        worstJitter = Math.max(worstJitter, e.period.jitterMs);
      }
      out.set(stream, {
        receivers: entries.size,
        withLoss,
        stalled,
        withContinuityErrors: withCc,
        worstFractionLost: worstLoss,
        worstJitterMs: worstJitter,
      });
    }
    return out;
  }

  /** Receivers kept now, over all streams. */
  get size(): number {
    return this.#all.size;
  }

  /** Receivers forgotten so far: replaced for room (`cap`) or silent too long (`age`). */
  get forgotten(): { readonly cap: number; readonly age: number } {
    return { cap: this.#evictedByCap, age: this.#expired };
  }

  #expire(now: number): void {
    for (const entry of this.#all.values()) {
      if (now - entry.lastMs <= this.#maxAgeMs) break;
      this.#remove(entry);
      this.#expired++;
    }
  }

  #evictFirst(map: Map<string, Entry>): void {
    const first = map.values().next();
    if (first.done) return;
    this.#remove(first.value);
    this.#evictedByCap++;
  }

  #remove(entry: Entry): void {
    this.#all.delete(`${entry.stream}\u0000${entry.key}`);
    const streamEntries = this.#byStream.get(entry.stream);
    streamEntries?.delete(entry.key);
    if (streamEntries?.size === 0) this.#byStream.delete(entry.stream);
  }
}

function emptyTotals(): ReceiverTotals {
  return {
    packets: 0,
    expected: 0,
    lost: 0,
    fractionLost: 0,
    duplicates: 0,
    reordered: 0,
    stalls: 0,
    stalledS: 0,
    durationS: 0,
  };
}

function fraction(lost: number, expected: number): number {
  return expected > 0 && lost > 0 ? Math.min(1, lost / expected) : 0;
}

/** Records grouped by interval (`time`); several SSRCs of one interval share a time. */
function byInterval(records: readonly ReportedRecord[]): ReportedRecord[][] {
  const groups = new Map<string, ReportedRecord[]>();
  for (const record of records) {
    const group = groups.get(record.time);
    if (group === undefined) groups.set(record.time, [record]);
    else group.push(record);
  }
  return [...groups.values()];
}

function sumCounters(
  list: readonly Readonly<Record<TsCounterKey, number>>[],
): Record<TsCounterKey, number> {
  const out = {} as Record<TsCounterKey, number>;
  for (const key of TS_COUNTER_KEYS) out[key] = list.reduce((sum, ts) => sum + ts[key], 0);
  return out;
}

function update(entry: Entry, report: ValidReport, now: number): void {
  const records = report.records;
  const sum = (key: "packets" | "expected" | "lost" | "duplicates" | "reordered") =>
    records.reduce((total, r) => total + r[key], 0);
  const intervals = byInterval(records);
  const rates = intervals.map((group) => group.reduce((total, r) => total + r.bitrateBps, 0));
  const period: PeriodFigures = {
    packets: sum("packets"),
    expected: sum("expected"),
    lost: sum("lost"),
    fractionLost: fraction(sum("lost"), sum("expected")),
    duplicates: sum("duplicates"),
    reordered: sum("reordered"),
    jitterMs: records.reduce((max, r) => Math.max(max, r.jitterMs), 0),
    bitrateBps: rates.length === 0 ? 0 : rates.reduce((a, b) => a + b, 0) / rates.length,
  };
  // One ts object per interval (every SSRC's record of an interval carries the stream's).
  const tsList = intervals.flatMap((group) => group.find((r) => r.ts !== undefined)?.ts ?? []);
  let stallsSeen = 0;
  let state = entry.state;
  for (const record of records) {
    if (record.state === "stalled" && state !== "stalled") stallsSeen++;
    if (record.state !== null) state = record.state;
  }
  entry.total = report.summary.length > 0
    ? totalsFromSummary(report.summary)
    : addPeriod(entry.total, period, stallsSeen, tsList);
  entry.period = period;
  entry.ts = tsList.length === 0 ? null : { ...sumCounters(tsList), pids: erroredPids(tsList) };
  entry.state = state;
  entry.lastMs = now;
  entry.reports++;
}

/** The PIDs with continuity errors over the period, worst first, at most MAX_PIDS. */
function erroredPids(tsList: readonly ReportedTs[]): { pid: number; ccErrors: number }[] {
  const errors = new Map<number, number>();
  for (const ts of tsList) {
    for (const p of ts.pids) {
      if (p.ccErrors > 0) errors.set(p.pid, (errors.get(p.pid) ?? 0) + p.ccErrors);
    }
  }
  return [...errors].map(([pid, ccErrors]) => ({ pid, ccErrors }))
    .sort((a, b) => b.ccErrors - a.ccErrors || a.pid - b.pid)
    .slice(0, RECEIVER_STORE_DEFAULTS.MAX_PIDS);
}

/** Totals as the client counted them: summed over its SSRCs' summary records. */
function totalsFromSummary(summary: readonly ReportedRecord[]): ReceiverTotals {
  const sum = (key: "packets" | "expected" | "lost" | "duplicates" | "reordered") =>
    summary.reduce((total, r) => total + r[key], 0);
  const max = (key: "stalls" | "stalledS" | "durationS") =>
    summary.reduce((m, r) => Math.max(m, r[key]), 0);
  const ts = summary.find((r) => r.ts !== undefined)?.ts;
  return {
    packets: sum("packets"),
    expected: sum("expected"),
    lost: sum("lost"),
    fractionLost: fraction(sum("lost"), sum("expected")),
    duplicates: sum("duplicates"),
    reordered: sum("reordered"),
    stalls: max("stalls"),
    stalledS: max("stalledS"),
    durationS: max("durationS"),
    ...(ts === undefined ? {} : { ts: sumCounters([ts]) }),
  };
}

/** Totals kept by the server from the periods, for reports without `summary`. */
function addPeriod(
  total: ReceiverTotals,
  period: PeriodFigures,
  stalls: number,
  tsList: readonly ReportedTs[],
): ReceiverTotals {
  const ts = tsList.length === 0 && total.ts === undefined ? undefined : sumCounters([
    ...tsList,
    ...(total.ts === undefined ? [] : [total.ts]),
  ]);
  return {
    packets: total.packets + period.packets,
    expected: total.expected + period.expected,
    lost: total.lost + period.lost,
    fractionLost: fraction(total.lost + period.lost, total.expected + period.expected),
    duplicates: total.duplicates + period.duplicates,
    reordered: total.reordered + period.reordered,
    stalls: total.stalls + stalls,
    stalledS: total.stalledS,
    durationS: total.durationS,
    ...(ts === undefined ? {} : { ts }),
  };
}

function view(entry: Entry): ReceiverView {
  return {
    id: entry.id,
    address: entry.address,
    firstReportAt: new Date(entry.firstMs).toISOString(),
    lastReportAt: new Date(entry.lastMs).toISOString(),
    reports: entry.reports,
    state: entry.state,
    ...entry.period,
    ts: entry.ts,
    total: entry.total,
  };
}
