// Rendering of receiver statistics: JSON lines (one object per source per interval, and a summary),
// and a compact live table for a terminal. Pure functions from snapshots to text.
import type { ReceptionState } from "./reception.ts";
import type { ReceiverSnapshot } from "../rtp/session_stats.ts";
import type { SourceSnapshot } from "../rtp/source_stats.ts";
import { formatEncoding, type PayloadFormat } from "../rtp/payload_format.ts";

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
    jitterMs: round(source?.jitterMs ?? 0, 3),
    bitrateBps: Math.round(source?.bitrateBps ?? 0),
    packetsPerSecond: round(source?.packetsPerSecond ?? 0, 1),
    invalid,
    state: context.state,
  };
}

/**
 * `stats` records of one interval: one per source that sent packets in it; when none did, one for
 * the most recent source (or with `ssrc: null` before any), so a stall is still reported.
 */
export function intervalRecords(
  interval: ReceiverSnapshot,
  context: ViewContext,
  time: Date,
): StatsRecord[] {
  const active = interval.sources.filter((s) => s.packets > 0);
  const shown = active.length > 0 ? active : interval.sources.slice(-1);
  if (shown.length === 0) return [record("stats", time, context, undefined, interval.invalid)];
  return shown.map((s) => record("stats", time, context, s, interval.invalid));
}

/**
 * `summary` records of the run: one per source with cumulative figures, plus `durationS`, `stalls`,
 * `stalledS`, `filtered`, `unexpectedPayloadType`, `evictedSources` and `untrackedPackets` (SSRC
 * table pressure); one with `ssrc: null` when nothing arrived.
 */
export function summaryRecords(
  total: ReceiverSnapshot,
  context: ViewContext,
  time: Date,
): StatsRecord[] {
  const sources = total.sources.filter((s) => s.packets > 0);
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

function pad(text: string, width: number): string {
  return text.length >= width ? text : " ".repeat(width - text.length) + text;
}

function mbps(bps: number): string {
  return (bps / 1e6).toFixed(2);
}

/**
 * The live terminal table: a header line (group, port, format, interface, state, time) and one row
 * per source with cumulative counts and the interval's rates. Sources quiet for the whole interval
 * are shown only while they are the latest.
 */
export function renderTable(
  total: ReceiverSnapshot,
  interval: ReceiverSnapshot,
  context: ViewContext,
): string {
  const formats = context.formats.map((f) => `${formatEncoding(f)} (PT ${f.payloadType})`).join(
    ", ",
  );
  const lines = [
    `${context.group} port ${context.port}  ${
      formats || "any format"
    }  on ${context.interfaceName}  ` +
    `${context.state.toUpperCase()}  ${context.elapsedS.toFixed(0)} s` +
    (context.stalls > 0 ? `  stalls ${context.stalls} (${context.stalledS.toFixed(1)} s)` : ""),
    "      SSRC  PT    packets     lost  loss%   dup  reord  jitter ms  Mbit/s  wire Mbit/s    pkt/s",
  ];
  const rates = new Map(interval.sources.map((s) => [s.ssrc, s]));
  const recent = total.sources.filter((s) => (rates.get(s.ssrc)?.packets ?? 0) > 0);
  const shown = recent.length > 0 ? recent : total.sources.slice(-1);
  for (const s of shown) {
    const rate = rates.get(s.ssrc);
    lines.push(
      pad(`0x${s.ssrc.toString(16).padStart(8, "0")}`, 10) +
        pad(s.payloadType < 0 ? "-" : String(s.payloadType), 4) +
        pad(String(s.packets), 11) +
        pad(String(s.lost), 9) +
        pad((s.fractionLost * 100).toFixed(2), 7) +
        pad(String(s.duplicates), 6) +
        pad(String(s.reordered), 7) +
        pad(s.jitterMs.toFixed(2), 11) +
        pad(mbps(rate?.bitrateBps ?? 0), 8) +
        pad(mbps(rate?.wireBitrateBps ?? 0), 13) +
        pad((rate?.packetsPerSecond ?? 0).toFixed(0), 9),
    );
  }
  if (shown.length === 0) lines.push("  (no packets yet)");
  lines.push(
    `invalid ${total.invalid}  unexpected payload type ${total.unexpectedPayloadType}  ` +
      `filtered by source ${total.filtered}` +
      (total.evictedSources + total.untrackedPackets > 0
        ? `  evicted sources ${total.evictedSources} (untracked packets ${total.untrackedPackets})`
        : ""),
  );
  return lines.join("\n") + "\n";
}

/** ANSI sequence that moves the cursor up over `lines` lines and clears to the end of the screen. */
export function eraseLines(lines: number): string {
  return lines > 0 ? `\x1b[${lines}F\x1b[J` : "";
}
