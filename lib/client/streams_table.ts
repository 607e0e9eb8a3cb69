// The live terminal table for several streams: a header (how many streams in which state), one row
// per stream and SSRC (RFC 3550 figures; raw MPEG-TS over UDP as `udp`) with its state, unhealthy
// rows first, a footer, and one TR 101 290 health line per MPEG-TS stream. Pure: figures to text.
import { formatTsHealth, type TsHealthFigures } from "../ts/health.ts";
import type { IntervalEntry } from "./reception.ts";
import type { TableOptions } from "./stats_table.ts";
import { type Row, type RowState, streamRows } from "./streams_rows.ts";
import type { ReceptionState } from "./stream_watch.ts";
import { paint, type Style, truncateVisible, visibleLength } from "./terminal_text.ts";

/** Order of the states, unhealthy first. */
const RANK: Record<RowState, number> = { STALLED: 0, LOSS: 1, waiting: 2, ok: 3, ended: 4 };

const STYLES: Record<RowState, Style> = {
  STALLED: "red",
  LOSS: "red",
  waiting: "yellow",
  ok: "green",
  ended: "dim",
};

interface Column {
  readonly header: string;
  readonly width: number;
  readonly priority: number;
  readonly cell: (row: Row) => { text: string; style?: Style };
}

const dash = (value: number | null, digits = 0) => value === null ? "-" : value.toFixed(digits);

const COLUMNS: readonly Column[] = [
  { header: "SSRC", width: 10, priority: 2, cell: (r) => ({ text: r.ssrc }) },
  { header: "packets", width: 8, priority: 0, cell: (r) => ({ text: String(r.packets) }) },
  {
    header: "lost",
    width: 6,
    priority: 0,
    cell: (r) => (r.lost === "0" ? { text: r.lost } : { text: r.lost, style: "red" }),
  },
  {
    header: "loss%",
    width: 6,
    priority: 0,
    cell: (r) => ({
      text: r.lossPercent.toFixed(2),
      ...(r.lossPercent > 0 ? { style: "red" as const } : {}),
    }),
  },
  {
    header: "dup",
    width: 5,
    priority: 4,
    cell: (r) => ({ text: dash(r.duplicates), ...(r.duplicates ? { style: "yellow" } : {}) }),
  },
  {
    header: "reord",
    width: 5,
    priority: 5,
    cell: (r) => ({ text: dash(r.reordered), ...(r.reordered ? { style: "yellow" } : {}) }),
  },
  { header: "jit ms", width: 7, priority: 3, cell: (r) => ({ text: dash(r.jitterMs, 2) }) },
  {
    header: "Mbit/s",
    width: 6,
    priority: 1,
    cell: (r) => ({ text: (r.bitrateBps / 1e6).toFixed(2) }),
  },
  {
    header: "drops",
    width: 6,
    priority: 6,
    cell: (r) => ({ text: dash(r.drops), ...(r.drops ? { style: "red" } : {}) }),
  },
  {
    header: "state",
    width: 7,
    priority: 0,
    cell: (r) => ({ text: r.state, style: STYLES[r.state] }),
  },
];

/** Options of {@link renderStreams}: the table's, plus `--stall-after` and the final flag. */
export interface StreamsTableOptions extends TableOptions {
  readonly stallAfterS: number;
  /** The table drawn at exit: the header says how the run ended. */
  readonly final?: boolean;
  /** Seconds since the run started. */
  readonly elapsedS: number;
}

/** The columns that fit beside a stream column `nameWidth` wide, in display order. */
function fitting(width: number, nameWidth: number): readonly Column[] {
  const chosen = new Set<Column>();
  let used = nameWidth;
  for (const column of [...COLUMNS].sort((a, b) => a.priority - b.priority)) {
    if (column.priority === 0 || used + 1 + column.width <= width) {
      chosen.add(column);
      used += 1 + column.width;
    }
  }
  return COLUMNS.filter((c) => chosen.has(c));
}

function pad(text: string, width: number, left: boolean): string {
  const room = Math.max(0, width - visibleLength(text));
  return left ? text + " ".repeat(room) : " ".repeat(room) + text;
}

/** The header: streams and their states, the time, and at exit how the run ended. */
function header(entries: readonly IntervalEntry[], options: StreamsTableOptions): string {
  const color = options.color ?? false;
  const count = (state: ReceptionState) => entries.filter((e) => e.status.state === state).length;
  const receiving = count("receiving");
  const stalled = count("stalled");
  const waiting = count("waiting");
  const parts = [`${entries.length} stream${entries.length === 1 ? "" : "s"}`];
  if (options.final === true) {
    const label = receiving + stalled === 0
      ? "NO PACKETS"
      : stalled > 0
      ? "STALLED AT END"
      : "DONE";
    parts.push(paint(label, receiving + stalled === 0 || stalled > 0 ? "red" : "green", color));
  }
  parts.push(paint(`${receiving} receiving`, receiving > 0 ? "green" : undefined, color));
  if (stalled > 0) parts.push(paint(`${stalled} STALLED`, "red", color));
  if (waiting > 0) parts.push(paint(`${waiting} waiting`, "yellow", color));
  parts.push(`${options.elapsedS.toFixed(0)} s`);
  return parts.join("  ");
}

/** The health line of an MPEG-TS stream: `NAME  TS OK` or the failing indicators. */
function healthLine(name: string, ts: TsHealthFigures | undefined): string | undefined {
  return ts === undefined ? undefined : `${name}  ${formatTsHealth(ts)}`;
}

/**
 * The table of several streams: header, column titles, one row per stream and recent SSRC (at
 * most MAX_ROWS_PER_STREAM of streams_rows.ts), STALLED and LOSS rows first, then waiting, ok and ended (rows
 * that lost packets before the others of their state), by stream name; a footer with the invalid, filtered and socket-drop counts of all streams; then a
 * TR 101 290 health line per MPEG-TS stream (`TS OK` or the failing indicators with their counts,
 * over the whole run), unhealthy ones first. Every line fits `columns - 1`; rows beyond the
 * terminal's height are summed up in one line.
 */
export function renderStreams(
  entries: readonly IntervalEntry[],
  health: (entry: IntervalEntry) => TsHealthFigures | undefined,
  options: StreamsTableOptions,
): string {
  const width = options.columns === undefined ? Infinity : Math.max(20, options.columns - 1);
  const color = options.color ?? false;
  const fit = (line: string) => (width === Infinity ? line : truncateVisible(line, width));
  // Unhealthy first: by state, then rows that lost packets at some time, then by name.
  const rows = entries.flatMap((e) => streamRows(e, options)).sort((a, b) =>
    RANK[a.state] - RANK[b.state] || Number(b.lost !== "0") - Number(a.lost !== "0") ||
    a.stream.localeCompare(b.stream) || b.recentMs - a.recentMs
  );
  const longest = Math.max(6, ...rows.map((r) => visibleLength(r.stream)));
  const wanted = Math.min(16, longest);
  const columns = fitting(width, wanted);
  const others = columns.reduce((n, c) => n + 1 + c.width, 0);
  const nameWidth = Math.max(4, Math.min(wanted, width === Infinity ? wanted : width - others));
  const healthLines = entries.flatMap((e) => {
    const line = healthLine(e.watch.name, health(e));
    return line === undefined ? [] : [{ line, ok: line.endsWith("TS OK") }];
  }).sort((a, b) => Number(a.ok) - Number(b.ok)).map((h) => h.line);

  const available = options.rows === undefined ? Infinity : Math.max(2, options.rows - 4);
  let rowBudget = rows.length;
  let healthBudget = healthLines.length;
  if (rowBudget + healthBudget > available) {
    healthBudget = Math.min(healthBudget, Math.max(1, Math.floor(available / 3)));
    rowBudget = Math.max(1, available - healthBudget - 2);
  }
  const lines = [
    fit(header(entries, options)),
    fit(
      [
        pad("stream", nameWidth, true),
        ...columns.map((c) => pad(c.header, c.width, c.header === "state")),
      ]
        .join(" ").trimEnd(),
    ),
  ];
  for (const row of rows.slice(0, rowBudget)) {
    const name = truncateVisible(row.stream, nameWidth);
    const cells = columns.map((c) => {
      const cell = c.cell(row);
      // The state column is the last one: left-aligned, it needs no padding.
      const text = c.header === "state" ? cell.text : pad(cell.text, c.width, false);
      return paint(text, cell.style, color);
    });
    lines.push(fit([pad(name, nameWidth, true), ...cells].join(" ").trimEnd()));
  }
  if (entries.length === 0) lines.push("  (no streams)");
  if (rows.length > rowBudget) lines.push(fit(`  … and ${rows.length - rowBudget} more rows`));
  let invalid = 0;
  let filtered = 0;
  let drops: number | null = null;
  for (const entry of entries) {
    invalid += entry.total.rtp.invalid;
    filtered += entry.total.rtp.filtered;
    if (entry.total.socketDrops !== undefined) drops = (drops ?? 0) + entry.total.socketDrops;
  }
  lines.push(
    fit(`invalid ${invalid}  filtered by source ${filtered}  socket drops ${dash(drops)}`),
  );
  for (const line of healthLines.slice(0, healthBudget)) lines.push(fit(line));
  if (healthLines.length > healthBudget) {
    lines.push(fit(`  … and ${healthLines.length - healthBudget} more health lines`));
  }
  return lines.join("\n") + "\n";
}
