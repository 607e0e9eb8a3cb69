// Receiver statistics as JSON lines: one object per source per interval, and a summary per source
// at exit (RFC 3550 §6.4.1 figures, raw UDP counts, the TR 101 290 `ts` object of MPEG-TS streams).
// Pure functions from snapshots to records; the terminal tables are in stats_table.ts and
// streams_table.ts.
import type { ReceptionState } from "./stream_watch.ts";
import type { ReceiverSnapshot } from "../rtp/session_stats.ts";
import type { SourceSnapshot } from "../rtp/source_stats.ts";
import type { PayloadFormat } from "../rtp/payload_format.ts";
import type { StreamTransport } from "../sdp/stream.ts";
import type { TsSnapshot } from "../ts/ts_report.ts";
import { UDP_KEY } from "./ts_watch.ts";
import type { UdpSnapshot } from "./udp_stats.ts";

/** What the view shows besides the figures. */
export interface ViewContext {
  readonly group: string;
  readonly port: number;
  readonly interfaceName: string;
  readonly formats: readonly PayloadFormat[];
  readonly state: ReceptionState;
  readonly elapsedS: number;
  readonly stalls: number;
  readonly stalledS: number;
  /** `--stall-after`: a source quiet this long is stalled. */
  readonly stallAfterS: number;
  /** True for the table drawn at exit: the header says how the run ended, not RECEIVING. */
  readonly final?: boolean;
  /** The `stream` label (default `group:port`). */
  readonly stream?: string;
  /** How the stream is described (default `rtp`); records of raw UDP datagrams say `udp`. */
  readonly transport?: StreamTransport;
  /** Kernel drops on the stream's socket for the period (interval or run); null: unknown. */
  readonly socketDrops?: number | null;
  /** MPEG-TS figures for the period by SSRC (UDP_KEY for raw UDP): the records' `ts` objects. */
  readonly ts?: ReadonlyMap<number, TsSnapshot>;
  /** Raw MPEG-TS over UDP counts for the period, when such datagrams arrived. */
  readonly udp?: UdpSnapshot;
}

/** The keys of a `stats` JSON line, in order (later tools read them). */
export const STATS_KEYS = [
  "type",
  "time",
  "stream",
  "group",
  "port",
  "transport",
  "ssrc",
  "payloadType",
  "packets",
  "bytes",
  "expected",
  "lost",
  "fractionLost",
  "duplicates",
  "reordered",
  "discarded",
  "jitterMs",
  "bitrateBps",
  "packetsPerSecond",
  "invalid",
  "socketDrops",
  "state",
] as const;

/** One JSON line object; MPEG-TS streams add a `ts` object (TsSnapshot) after `state`. */
export type StatsRecord = Record<string, string | number | null | TsSnapshot>;

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

function record(
  type: "stats" | "summary",
  time: Date,
  context: ViewContext,
  source: SourceSnapshot | undefined,
  invalid: number,
): StatsRecord {
  const ts = source === undefined ? undefined : context.ts?.get(source.ssrc);
  return {
    type,
    time: time.toISOString(),
    stream: streamLabel(context),
    group: context.group,
    port: context.port,
    transport: source === undefined ? context.transport ?? "rtp" : "rtp",
    ssrc: source?.ssrc ?? null,
    payloadType: source === undefined || source.payloadType < 0 ? null : source.payloadType,
    packets: source?.packets ?? 0,
    bytes: source?.bytes ?? 0,
    expected: source?.expected ?? 0,
    lost: source?.lost ?? 0,
    fractionLost: round(source?.fractionLost ?? 0, 6),
    duplicates: source?.duplicates ?? 0,
    reordered: source?.reordered ?? 0,
    discarded: source?.discarded ?? 0,
    jitterMs: round(source?.jitterMs ?? 0, 3),
    bitrateBps: Math.round(source?.bitrateBps ?? 0),
    packetsPerSecond: round(source?.packetsPerSecond ?? 0, 1),
    invalid,
    socketDrops: context.socketDrops ?? null,
    state: context.state,
    ...(ts === undefined ? {} : { ts }),
  };
}

/** The `stream` label of records: the context's, else `group:port`. */
function streamLabel(context: ViewContext): string {
  return context.stream ?? `${context.group}:${context.port}`;
}

/**
 * The record of raw MPEG-TS over UDP datagrams: no SSRC, payload type, sequence or jitter (null),
 * `lost` null as well; `fractionLost` is estimated from the continuity counters (TS packets
 * missing / expected), the count itself is `ts.estimatedLostPackets`.
 */
function udpRecord(
  type: "stats" | "summary",
  time: Date,
  context: ViewContext,
  udp: UdpSnapshot,
  invalid: number,
): StatsRecord {
  const ts = context.ts?.get(UDP_KEY);
  const missing = ts?.estimatedLostPackets ?? 0;
  const whole = (ts?.packets ?? 0) + missing;
  return {
    type,
    time: time.toISOString(),
    stream: streamLabel(context),
    group: context.group,
    port: context.port,
    transport: "udp",
    ssrc: null,
    payloadType: null,
    packets: udp.packets,
    bytes: udp.bytes,
    expected: null,
    lost: null,
    fractionLost: round(whole > 0 ? missing / whole : 0, 6),
    duplicates: null,
    reordered: null,
    discarded: null,
    jitterMs: null,
    bitrateBps: Math.round(udp.bitrateBps),
    packetsPerSecond: round(udp.packetsPerSecond, 1),
    invalid,
    socketDrops: context.socketDrops ?? null,
    state: context.state,
    ...(ts === undefined ? {} : { ts }),
  };
}

/** True when the source sent anything A.1 saw: counted packets or discarded ones. */
function heard(source: SourceSnapshot): boolean {
  return source.packets > 0 || source.discarded > 0;
}

/**
 * `stats` records of one interval: one per source that sent packets in it (counted or discarded)
 * and one for raw UDP datagrams if any came; when none did, one for the most recent source (the
 * raw UDP record for a stream that only had those, or `ssrc: null` before any), so a stall is
 * still reported.
 */
export function intervalRecords(
  interval: ReceiverSnapshot,
  context: ViewContext,
  time: Date,
): StatsRecord[] {
  const active = interval.sources.filter(heard);
  const udp = context.udp;
  const out = active.map((s) => record("stats", time, context, s, interval.invalid));
  if (udp !== undefined && udp.packets > 0) {
    out.push(udpRecord("stats", time, context, udp, interval.invalid));
  }
  if (out.length > 0) return out;
  const latest = interval.sources.at(-1);
  if (udp !== undefined && (latest === undefined || udpIsLatest(udp, latest))) {
    return [udpRecord("stats", time, context, udp, interval.invalid)];
  }
  return [record("stats", time, context, latest, interval.invalid)];
}

/** True when the raw UDP datagrams came after the last packet of `source`. */
function udpIsLatest(udp: UdpSnapshot, source: SourceSnapshot): boolean {
  return (udp.lastArrivalMs ?? -Infinity) >= (source.lastArrivalMs ?? -Infinity);
}

/**
 * `summary` records of the run: one per source with cumulative figures (rates averaged over the
 * time the source was sending) and one for raw UDP datagrams if any came, plus `durationS`,
 * `stalls`, `stalledS`, `filtered`, `unexpectedPayloadType`, `restarts`, `evictedSources` and
 * `untrackedPackets` (SSRC table pressure), then `ts` for MPEG-TS; one with `ssrc: null` when
 * nothing arrived.
 */
export function summaryRecords(
  total: ReceiverSnapshot,
  context: ViewContext,
  time: Date,
): StatsRecord[] {
  const withExtras = (base: StatsRecord, restarts: number | null): StatsRecord => {
    const { ts, ...figures } = base;
    return {
      ...figures,
      durationS: round(context.elapsedS, 3),
      stalls: context.stalls,
      stalledS: round(context.stalledS, 3),
      filtered: total.filtered,
      unexpectedPayloadType: total.unexpectedPayloadType,
      restarts,
      evictedSources: total.evictedSources,
      untrackedPackets: total.untrackedPackets,
      ...(ts === undefined ? {} : { ts }),
    };
  };
  const sources = total.sources.filter(heard);
  const out = sources.map((s) =>
    withExtras(record("summary", time, context, s, total.invalid), s.restarts)
  );
  if (context.udp !== undefined && context.udp.packets > 0) {
    out.push(withExtras(udpRecord("summary", time, context, context.udp, total.invalid), null));
  }
  if (out.length > 0) return out;
  return [withExtras(record("summary", time, context, undefined, total.invalid), 0)];
}

/** Records as JSON lines text. */
export function jsonLines(records: readonly StatsRecord[]): string {
  return records.map((r) => JSON.stringify(r) + "\n").join("");
}
