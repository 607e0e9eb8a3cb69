// The client's live terminal table of RFC 3550 receiver statistics: a header (group, format,
// interface, state), one row per recent source and a footer, fitted to the terminal's width by
// leaving out the less important columns, with unhealthy figures marked. Pure: snapshots to text.
import type { ReceiverSnapshot } from "../rtp/session_stats.ts";
import type { SourceSnapshot } from "../rtp/source_stats.ts";
import { formatEncoding } from "../rtp/payload_format.ts";
import { paint, ssrcHex, type Style, truncateVisible, visibleLength } from "./terminal_text.ts";
import type { ViewContext } from "./stats_view.ts";

/** Options of {@link renderTable}. */
export interface TableOptions {
  /** Terminal width; lines are fitted to `columns - 1`. Default: no limit (every column). */
  readonly columns?: number;
  /** Terminal height; the table keeps to `rows - 1` lines. Default: no limit. */
  readonly rows?: number;
  /** Colour the state and the unhealthy figures (SGR). Default off. */
  readonly color?: boolean;
}

/** What a source is doing, as the table's last column says. */
export type SourceState = "ok" | "LOSS" | "STALLED" | "ended";

/** Most source rows shown; older quiet sources beyond it are summed up in one line. */
export const MAX_SOURCE_ROWS = 8;

/** A source that has been quiet this long (or `--stall-after`, if shorter) and was followed by another SSRC has ended. */
const ENDED_AFTER_MS = 1000;

/**
 * The state of `source` at `nowMs`: `ended` when it has been quiet for a while and a newer SSRC
 * started after its last packet (VLC `--loop` starts a new SSRC every pass) or the run is over,
 * `STALLED` when it has been quiet for `--stall-after`, `LOSS` when `interval` lost packets (or A.1
 * discarded some), else `ok`.
 */
export function sourceState(
  source: SourceSnapshot,
  interval: SourceSnapshot | undefined,
  all: readonly SourceSnapshot[],
  context: Pick<ViewContext, "stallAfterS" | "final">,
  nowMs: number,
): SourceState {
  const quietMs = nowMs - (source.lastArrivalMs ?? nowMs);
  const stallMs = context.stallAfterS * 1000;
  const endedMs = Math.min(stallMs, ENDED_AFTER_MS);
  const replaced = all.some((other) =>
    other.ssrc !== source.ssrc && (other.firstArrivalMs ?? -Infinity) > (source.lastArrivalMs ?? 0)
  );
  if (quietMs >= endedMs && (replaced || context.final === true)) return "ended";
  if (quietMs >= stallMs) return "STALLED";
  if ((interval?.lost ?? 0) > 0 || (interval?.discarded ?? 0) > 0) return "LOSS";
  return "ok";
}

interface Cell {
  readonly text: string;
  readonly style?: Style;
}

interface Column {
  readonly header: string;
  readonly width: number;
  /** 0: always shown; higher numbers are left out first when the terminal is narrow. */
  readonly priority: number;
  readonly align?: "left";
  readonly cell: (row: Row) => Cell;
}

interface Row {
  readonly total: SourceSnapshot;
  readonly rate: SourceSnapshot | undefined;
  readonly state: SourceState;
}

const STATE_STYLES: Record<SourceState, Style | undefined> = {
  ok: "green",
  LOSS: "red",
  STALLED: "red",
  ended: "dim",
};

function mbps(bps: number): string {
  return (bps / 1e6).toFixed(2);
}

function count(value: number, style: Style): Cell {
  return value > 0 ? { text: String(value), style } : { text: String(value) };
}

/** The columns in display order; the first seven keep the order of the original table. */
const COLUMNS: readonly Column[] = [
  {
    header: "SSRC",
    width: 10,
    priority: 0,
    cell: (r) => ({ text: ssrcHex(r.total.ssrc) }),
  },
  {
    header: "PT",
    width: 3,
    priority: 0,
    cell: (r) => ({ text: r.total.payloadType < 0 ? "-" : String(r.total.payloadType) }),
  },
  { header: "packets", width: 8, priority: 0, cell: (r) => ({ text: String(r.total.packets) }) },
  { header: "lost", width: 6, priority: 0, cell: (r) => count(r.total.lost, "red") },
  {
    header: "loss%",
    width: 6,
    priority: 0,
    cell: (r) => ({
      text: (r.total.fractionLost * 100).toFixed(2),
      ...(r.total.lost > 0 ? { style: "red" as const } : {}),
    }),
  },
  { header: "dup", width: 5, priority: 3, cell: (r) => count(r.total.duplicates, "yellow") },
  { header: "reord", width: 5, priority: 4, cell: (r) => count(r.total.reordered, "yellow") },
  { header: "disc", width: 5, priority: 5, cell: (r) => count(r.total.discarded, "yellow") },
  {
    header: "jit ms",
    width: 7,
    priority: 2,
    cell: (r) => ({ text: r.total.jitterMs.toFixed(2) }),
  },
  {
    header: "Mbit/s",
    width: 6,
    priority: 1,
    cell: (r) => ({ text: mbps(r.rate?.bitrateBps ?? 0) }),
  },
  {
    header: "wire Mbit/s",
    width: 11,
    priority: 7,
    cell: (r) => ({ text: mbps(r.rate?.wireBitrateBps ?? 0) }),
  },
  {
    header: "pkt/s",
    width: 6,
    priority: 6,
    cell: (r) => ({ text: (r.rate?.packetsPerSecond ?? 0).toFixed(0) }),
  },
  {
    header: "state",
    width: 7,
    priority: 0,
    align: "left",
    cell: (r) => ({
      text: r.state,
      ...(STATE_STYLES[r.state] ? { style: STATE_STYLES[r.state] } : {}),
    }),
  },
];

/** The columns that fit in `width`, most important first, kept in display order. */
function fittingColumns(width: number): readonly Column[] {
  const chosen = new Set<Column>();
  let used = -1; // n columns need n - 1 separators
  for (const column of [...COLUMNS].sort((a, b) => a.priority - b.priority)) {
    if (column.priority === 0 || used + 1 + column.width <= width) {
      chosen.add(column);
      used += 1 + column.width;
    }
  }
  return COLUMNS.filter((c) => chosen.has(c));
}

function align(text: string, column: Column): string {
  // The left-aligned column is the last one: it needs no padding.
  return column.align === "left"
    ? text
    : " ".repeat(Math.max(0, column.width - text.length)) + text;
}

/**
 * The header line: group and port, formats, interface, state, time and stalls. When it does not fit
 * `width`, the interface goes first, then the formats, then the stalls; the rest is cut with "…".
 */
function headerLine(context: ViewContext, width: number, color: boolean): string {
  const formats = context.formats.map((f) => `${formatEncoding(f)} (PT ${f.payloadType})`).join(
    ", ",
  );
  const [label, style] = stateLabel(context);
  const parts: { text: string; priority: number }[] = [
    { text: `${context.group} port ${context.port}`, priority: 0 },
    { text: formats || "any format", priority: 2 },
    { text: `on ${context.interfaceName}`, priority: 3 },
    { text: paint(label, style, color), priority: 0 },
    { text: `${context.elapsedS.toFixed(0)} s`, priority: 0 },
    ...(context.stalls > 0
      ? [{ text: `stalls ${context.stalls} (${context.stalledS.toFixed(1)} s)`, priority: 1 }]
      : []),
  ];
  for (const drop of [3, 2, 1]) {
    const line = parts.map((p) => p.text).join("  ");
    if (visibleLength(line) <= width) return line;
    for (let i = parts.length - 1; i >= 0; i--) if (parts[i]!.priority === drop) parts.splice(i, 1);
  }
  return truncateVisible(parts.map((p) => p.text).join("  "), width);
}

/** The header's state: live (RECEIVING, STALLED, WAITING) or, in the final table, how it ended. */
function stateLabel(context: ViewContext): [string, Style] {
  if (context.final === true) {
    if (context.state === "waiting") return ["NO PACKETS", "red"];
    return context.state === "stalled" ? ["STALLED AT END", "red"] : ["DONE", "green"];
  }
  if (context.state === "stalled") return ["STALLED", "red"];
  return context.state === "waiting" ? ["WAITING", "yellow"] : ["RECEIVING", "green"];
}

/**
 * The table: a header line (group, port, format, interface, state, time), the column titles, one
 * row per recent source (cumulative counts, the interval's rates, its state) and a footer. Sources
 * that sent in the interval are shown, and the most recent quiet ones (marked `ended` or
 * `STALLED`) up to {@link MAX_SOURCE_ROWS}. With `columns`, every line fits in `columns - 1`: less
 * important columns are left out (wire rate, packet rate, then discarded, reordered, duplicates,
 * jitter, payload rate) and what still does not fit is cut with "…". A final table (context.final)
 * is drawn from the totals: its rates are averages over each source's sending time.
 */
export function renderTable(
  total: ReceiverSnapshot,
  interval: ReceiverSnapshot,
  context: ViewContext,
  options: TableOptions = {},
): string {
  const width = options.columns === undefined ? Infinity : Math.max(20, options.columns - 1);
  const color = options.color ?? false;
  const columns = fittingColumns(width);
  const fit = (line: string) => (width === Infinity ? line : truncateVisible(line, width));
  const lines = [
    headerLine(context, width, color),
    fit(columns.map((c) => align(c.header, c)).join(" ").trimEnd()),
  ];

  const rates = new Map(interval.sources.map((s) => [s.ssrc, s]));
  const listed = total.sources.filter((s) => s.packets > 0);
  const active = new Set(listed.filter((s) => (rates.get(s.ssrc)?.packets ?? 0) > 0));
  const heightLimit = options.rows === undefined ? Infinity : Math.max(1, options.rows - 5);
  const limit = Math.max(1, Math.min(MAX_SOURCE_ROWS, heightLimit));
  // Active sources first, then the most recently heard quiet ones; shown in order of appearance.
  const byRecency = [...listed].sort((a, b) =>
    Number(active.has(b)) - Number(active.has(a)) ||
    (b.lastArrivalMs ?? 0) - (a.lastArrivalMs ?? 0)
  );
  const shown = new Set(byRecency.slice(0, limit));
  for (const source of listed) {
    if (!shown.has(source)) continue;
    const rate = rates.get(source.ssrc);
    const row: Row = {
      total: source,
      rate,
      state: sourceState(source, rate, total.sources, context, total.atMs),
    };
    const cells = columns.map((c) => {
      const cell = c.cell(row);
      return paint(align(cell.text, c), cell.style, color);
    });
    lines.push(fit(cells.join(" ").trimEnd()));
  }
  if (listed.length === 0) lines.push("  (no packets yet)");
  const hidden = listed.length - shown.size;
  if (hidden > 0) lines.push(fit(`  … and ${hidden} older source${hidden === 1 ? "" : "s"}`));
  const pressure = total.evictedSources + total.untrackedPackets > 0
    ? `  evicted sources ${total.evictedSources} (untracked packets ${total.untrackedPackets})`
    : "";
  const footer =
    `invalid ${total.invalid}  unexpected payload type ${total.unexpectedPayloadType}  ` +
    `filtered by source ${total.filtered}${pressure}`;
  lines.push(
    visibleLength(footer) <= width ? footer : fit(
      `invalid ${total.invalid}  unexpected PT ${total.unexpectedPayloadType}  filtered ${total.filtered}` +
        (pressure === "" ? "" : `  evicted ${total.evictedSources}`),
    ),
  );
  return lines.join("\n") + "\n";
}
