// Receiver statistics as JSON lines: one object per source per interval, and a summary per source
// at exit (RFC 3550 §6.4.1 figures). Pure functions from snapshots to records; the terminal table is
// in stats_table.ts.
import type { ReceptionState } from "./reception.ts";
import type { ReceiverSnapshot } from "../rtp/session_stats.ts";
import type { SourceSnapshot } from "../rtp/source_stats.ts";
import type { PayloadFormat } from "../rtp/payload_format.ts";

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
}

/** The keys of a `stats` JSON line, in order (later tools read them). */
export const STATS_KEYS = [
  "type",
  "time",
  "group",
  "port",
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
  "state",
] as const;

/** One JSON line object. */
export type StatsRecord = Record<string, string | number | null>;

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
  return {
    type,
    time: time.toISOString(),
    group: context.group,
    port: context.port,
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
    state: context.state,
  };
}

/** True when the source sent anything A.1 saw: counted packets or discarded ones. */
function heard(source: SourceSnapshot): boolean {
  return source.packets > 0 || source.discarded > 0;
}

/**
 * `stats` records of one interval: one per source that sent packets in it (counted or discarded);
 * when none did, one for the most recent source (or with `ssrc: null` before any), so a stall is
 * still reported.
 */
export function intervalRecords(
  interval: ReceiverSnapshot,
  context: ViewContext,
  time: Date,
): StatsRecord[] {
  const active = interval.sources.filter(heard);
  const shown = active.length > 0 ? active : interval.sources.slice(-1);
  if (shown.length === 0) return [record("stats", time, context, undefined, interval.invalid)];
  return shown.map((s) => record("stats", time, context, s, interval.invalid));
}

/**
 * `summary` records of the run: one per source with cumulative figures (rates averaged over the
 * time the source was sending), plus `durationS`, `stalls`, `stalledS`, `filtered`,
 * `unexpectedPayloadType`, `restarts`, `evictedSources` and `untrackedPackets` (SSRC table
 * pressure); one with `ssrc: null` when nothing arrived.
 */
export function summaryRecords(
  total: ReceiverSnapshot,
  context: ViewContext,
  time: Date,
): StatsRecord[] {
  const sources = total.sources.filter(heard);
  const list = sources.length > 0 ? sources : [undefined];
  return list.map((s) => ({
    ...record("summary", time, context, s, total.invalid),
    durationS: round(context.elapsedS, 3),
    stalls: context.stalls,
    stalledS: round(context.stalledS, 3),
    filtered: total.filtered,
    unexpectedPayloadType: total.unexpectedPayloadType,
    restarts: s?.restarts ?? 0,
    evictedSources: total.evictedSources,
    untrackedPackets: total.untrackedPackets,
  }));
}

/** Records as JSON lines text. */
export function jsonLines(records: readonly StatsRecord[]): string {
  return records.map((r) => JSON.stringify(r) + "\n").join("");
}
