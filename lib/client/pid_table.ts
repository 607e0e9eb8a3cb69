// The PID table under the live view (`--pids`, key `p`): per PID of a stream's MPEG-TS (ISO/IEC
// 13818-1 §2.4.4 programme map) its role, stream type, packets, bitrate, continuity errors
// (TR 101 290 1.4) and scrambling, fitted to the terminal's width. Pure: snapshots to text.
import { printable } from "../common/printable.ts";
import type { TsPidSnapshot, TsSnapshot } from "../ts/ts_report.ts";
import { paint, truncateVisible } from "./terminal_text.ts";

/** Options of {@link renderPidTable}. */
export interface PidTableOptions {
  readonly columns?: number;
  readonly color?: boolean;
  /** Most PID rows; the rest are summed up in one line. */
  readonly maxRows?: number;
}

/** PID rows shown at most by default (a programme has a handful; DVB multiplexes dozens). */
export const PID_TABLE_ROWS = 16;

/** Width of each column; `type` takes what is left up to its maximum. */
const WIDTH = { pid: 6, role: 12, packets: 10, rate: 7, cc: 6, scrambled: 4 } as const;
const TYPE_MIN = 8;
const TYPE_MAX = 30;

/** The stream type as shown: `0x1b H.264 video`, or `-` for a PID that is not a stream. */
function typeText(pid: TsPidSnapshot): string {
  if (pid.streamTypeId === null) return "-";
  const hex = `0x${pid.streamTypeId.toString(16).padStart(2, "0")}`;
  return pid.streamType === null ? hex : `${hex} ${printable(pid.streamType)}`;
}

/** `text` cut with … or padded to `width`. */
function fit(text: string, width: number): string {
  return (text.length > width ? text.slice(0, width - 1) + "…" : text).padEnd(width);
}

/**
 * The PID table of one analysed source: a title line (`PIDs of NAME (SSRC ...)`), a header, one row
 * per PID in PID order, and a line summing up the rows beyond `maxRows`. Packets, continuity errors
 * and scrambling come from `total` (the whole run of that source); the bitrate from `interval` (the
 * last interval) when given, else from `total`.
 */
export function renderPidTable(
  title: string,
  total: TsSnapshot,
  interval: TsSnapshot | undefined,
  options: PidTableOptions = {},
): string {
  const columns = Math.max(40, options.columns ?? 80);
  const color = options.color ?? false;
  const maxRows = Math.max(1, options.maxRows ?? PID_TABLE_ROWS);
  const fixed = WIDTH.pid + WIDTH.role + WIDTH.packets + WIDTH.rate + WIDTH.cc + WIDTH.scrambled +
    6;
  const typeWidth = Math.max(TYPE_MIN, Math.min(TYPE_MAX, columns - fixed));
  const rateOf = new Map((interval?.pids ?? []).map((p) => [p.pid, p.bitrateBps]));
  const lines = [
    paint(title, "bold", color),
    paint(
      [
        "PID".padEnd(WIDTH.pid),
        "role".padEnd(WIDTH.role),
        fit("stream type", typeWidth),
        "packets".padStart(WIDTH.packets),
        "Mbit/s".padStart(WIDTH.rate),
        "CC err".padStart(WIDTH.cc),
        "scr".padStart(WIDTH.scrambled),
      ].join(" "),
      "dim",
      color,
    ),
  ];
  const shown = total.pids.slice(0, maxRows);
  for (const pid of shown) {
    const rate = (interval === undefined ? pid.bitrateBps : rateOf.get(pid.pid) ?? 0) / 1e6;
    const cc = String(pid.ccErrors).padStart(WIDTH.cc);
    const scrambled = (pid.scrambled ? "yes" : "no").padStart(WIDTH.scrambled);
    lines.push(
      [
        `0x${pid.pid.toString(16).padStart(4, "0")}`,
        fit(pid.role + (pid.pcr && pid.role !== "PCR" ? "+PCR" : ""), WIDTH.role),
        fit(typeText(pid), typeWidth),
        String(pid.packets).padStart(WIDTH.packets),
        rate.toFixed(2).padStart(WIDTH.rate),
        pid.ccErrors > 0 ? paint(cc, "red", color) : cc,
        pid.scrambled ? paint(scrambled, "yellow", color) : scrambled,
      ].join(" "),
    );
  }
  if (total.pids.length === 0) lines.push(paint("(no PID seen yet)", "dim", color));
  const hidden = total.pids.slice(maxRows);
  if (hidden.length > 0) {
    const packets = hidden.reduce((n, p) => n + p.packets, 0);
    const cc = hidden.reduce((n, p) => n + p.ccErrors, 0);
    lines.push(`+${hidden.length} more PIDs: ${packets} packets, ${cc} CC errors`);
  }
  return lines.map((line) => truncateVisible(line, columns)).join("\n") + "\n";
}

/**
 * The source whose PIDs to show among a stream's analysed ones (by SSRC, or UDP_KEY): the one that
 * brought the most TS packets in the last interval, else the last one reported.
 */
export function pidTableSource(
  interval: ReadonlyMap<number, TsSnapshot>,
  total: ReadonlyMap<number, TsSnapshot>,
): number | undefined {
  let best: number | undefined;
  let most = 0;
  for (const [key, snapshot] of interval) {
    if (snapshot.packets > most && total.has(key)) [best, most] = [key, snapshot.packets];
  }
  return best ?? [...total.keys()].at(-1);
}
