// `--discover` output: the SAP sessions heard (RFC 2974 announcements of RFC 8866 SDP) as a
// terminal table fitted to the width, or as `{"type":"announcement",...}` JSON lines, and the counts
// of ignored packets. Pure: snapshot and time to text.
import { printable } from "../common/printable.ts";
import type { DirectoryEvent, DirectorySession, SapIgnoredCounts } from "../sap/directory.ts";
import type { ListenerSnapshot } from "../sap/listener.ts";
import { paint, truncateVisible } from "./terminal_text.ts";

/** Options of {@link renderDiscovery}. */
export interface DiscoveryTableOptions {
  readonly columns?: number;
  readonly color?: boolean;
  /** Seconds since listening began. */
  readonly elapsedS: number;
  readonly port: number;
  /** The last drawing of the run. */
  readonly final?: boolean;
}

/** Longest width the table uses, however wide the terminal. */
const MAX_COLUMNS = 160;

/** `name=count` for each non-zero ignored counter, or "none". */
export function ignoredText(ignored: Readonly<SapIgnoredCounts>): string {
  const parts = Object.entries(ignored).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`);
  return parts.length === 0 ? "none" : parts.join(", ");
}

/** How long ago, in seconds, as a short text. */
function ago(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return s < 60
    ? `${s}s`
    : s < 3600
    ? `${Math.floor(s / 60)}m${s % 60}s`
    : `${Math.floor(s / 3600)}h`;
}

/** `text` cut or padded to `width` visible characters. */
function cell(text: string, width: number): string {
  const cut = text.length > width ? text.slice(0, Math.max(0, width - 1)) + "…" : text;
  return cut.padEnd(width);
}

/** The group and port of a session (`[v6]:port` for IPv6). */
function where(session: DirectorySession): string {
  return `${session.group.includes(":") ? `[${session.group}]` : session.group}:${session.port}`;
}

/**
 * The discovery table: a header line (groups, sessions, packets, ignored counts), one row per
 * session (name, group:port, formats, origin, last heard) and under it its category and description.
 * Sorted by name; every line fits `columns` (default 80).
 */
export function renderDiscovery(
  snapshot: ListenerSnapshot,
  nowMs: number,
  options: DiscoveryTableOptions,
): string {
  const columns = Math.max(40, Math.min(MAX_COLUMNS, options.columns ?? 80));
  const color = options.color ?? false;
  const { sessions, counters } = snapshot;
  const lines: string[] = [];
  const state = options.final ? "ended" : "listening";
  lines.push(
    `SAP discovery (${state}, ${Math.round(options.elapsedS)} s) on ${snapshot.groups.length} ` +
      `groups port ${options.port}: ${sessions.length} session${sessions.length === 1 ? "" : "s"}`,
  );
  lines.push(
    `packets ${counters.datagrams}, announcements ${counters.announcements}, deletions ` +
      `${counters.deletions}, expired ${counters.expired}`,
  );
  lines.push(`ignored: ${ignoredText(counters.ignored)}`);
  // Fixed columns; the name takes what is left.
  const widths = { where: 21, formats: 14, origin: 15, heard: 6 };
  const fixed = widths.where + widths.formats + widths.origin + widths.heard + 4;
  const nameWidth = Math.max(8, columns - fixed);
  const header = [
    cell("NAME", nameWidth),
    cell("GROUP:PORT", widths.where),
    cell("FORMATS", widths.formats),
    cell("ORIGIN", widths.origin),
    "HEARD".padStart(widths.heard),
  ].join(" ");
  lines.push(paint(header, "bold", color));
  if (sessions.length === 0) lines.push(paint("(no announcement heard yet)", "dim", color));
  const sorted = [...sessions].sort((a, b) =>
    a.name.localeCompare(b.name) || a.origin.localeCompare(b.origin)
  );
  for (const s of sorted) {
    const formats = s.transport === "udp" ? `udp ${s.formats.join(" ")}` : s.formats.join(",");
    lines.push(
      [
        cell(printable(s.name), nameWidth),
        cell(where(s), widths.where),
        cell(formats, widths.formats),
        cell(s.origin, widths.origin),
        ago(nowMs - s.lastHeardMs).padStart(widths.heard),
      ].join(" "),
    );
    const about = [s.category, s.description].filter((t) => t !== undefined && t !== "")
      .map((t) => printable(t!)).join(" · ");
    if (about !== "") lines.push(paint(`  ${about}`, "dim", color));
  }
  return lines.map((line) => truncateVisible(line, columns)).join("\n") + "\n";
}

/** One `announcement` JSON record of a directory event. */
export function announcementRecord(event: DirectoryEvent, time: Date): Record<string, unknown> {
  const s = event.session;
  return {
    type: "announcement",
    time: time.toISOString(),
    event: event.type,
    name: s.name,
    description: s.description,
    category: s.category ?? null,
    tool: s.tool ?? null,
    origin: s.origin,
    sender: s.sender,
    heardOn: s.heardOn,
    group: s.group,
    port: s.port,
    transport: s.transport,
    formats: s.formats,
    source: s.source ?? null,
    hash: s.hash,
    announcements: s.announcements,
    intervalMs: s.intervalMs === undefined ? null : Math.round(s.intervalMs),
    lastHeard: new Date(s.lastHeardMs).toISOString(),
  };
}

/** The `discovery` JSON record: the counters (ignored packets by kind) and how many sessions. */
export function discoveryRecord(
  snapshot: ListenerSnapshot,
  time: Date,
  final: boolean,
): Record<string, unknown> {
  const { counters } = snapshot;
  return {
    type: "discovery",
    time: time.toISOString(),
    final,
    groups: snapshot.groups,
    sessions: snapshot.sessions.length,
    datagrams: counters.datagrams,
    announcements: counters.announcements,
    deletions: counters.deletions,
    duplicates: counters.duplicates,
    expired: counters.expired,
    ignored: counters.ignored,
  };
}
