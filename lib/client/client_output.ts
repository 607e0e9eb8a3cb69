// What the client writes per interval and at the end: JSON lines (stats_view.ts records of every
// stream) or, on a terminal, the one-stream table (stats_table.ts) or the streams table
// (streams_table.ts), with the TR 101 290 health line of MPEG-TS streams under it.
import { ssrcHex } from "./terminal_text.ts";
import { formatTsHealth } from "../ts/health.ts";
import type { IntervalEntry } from "./reception.ts";
import { renderTable, type TableOptions } from "./stats_table.ts";
import {
  intervalRecords,
  jsonLines,
  type StatsRecord,
  summaryRecords,
  type ViewContext,
} from "./stats_view.ts";
import { renderStreams } from "./streams_table.ts";
import type { WatchFigures } from "./stream_watch.ts";
import { PID_TABLE_ROWS, pidTableSource, renderPidTable } from "./pid_table.ts";
import { UDP_KEY } from "./ts_watch.ts";

/** What records and tables need besides the figures. */
export interface OutputSettings {
  /** `--interface` as the view names it ("any interface" by default). */
  readonly interfaceName: string;
  readonly stallAfterS: number;
}

/** The view context of one stream's figures for a period. */
export function entryContext(
  entry: IntervalEntry,
  figures: WatchFigures,
  settings: OutputSettings,
  final = false,
): ViewContext {
  const { watch, status } = entry;
  return {
    group: watch.target.group,
    port: watch.target.port,
    interfaceName: settings.interfaceName,
    formats: watch.target.formats,
    stallAfterS: settings.stallAfterS,
    ...status,
    ...(final ? { final: true } : {}),
    stream: watch.name,
    transport: watch.transport,
    socketDrops: figures.socketDrops ?? null,
    ts: figures.ts,
    ...(figures.udp === undefined ? {} : { udp: figures.udp }),
  };
}

/** The `stats` records of one stream's interval. */
export function entryIntervalRecords(
  entry: IntervalEntry,
  settings: OutputSettings,
  time: Date,
): StatsRecord[] {
  return intervalRecords(entry.interval.rtp, entryContext(entry, entry.interval, settings), time);
}

/** The `summary` records of one stream's totals. */
export function entrySummaryRecords(
  entry: IntervalEntry,
  settings: OutputSettings,
  time: Date,
): StatsRecord[] {
  return summaryRecords(entry.total.rtp, entryContext(entry, entry.total, settings), time);
}

/** Options of {@link ClientOutput}. */
export interface ClientOutputOptions extends OutputSettings {
  /** Draws the table in place; undefined writes JSON lines. */
  readonly draw?: (text: string, final: boolean) => boolean;
  /** Writes JSON lines text; false once the output is gone. */
  readonly write: (text: string) => boolean;
  /** The terminal size and colour, for tables. */
  readonly tableOptions: () => TableOptions;
  /** One stream as the client always worked: its own table (RTP) rather than the streams table. */
  readonly single: boolean;
  /** Whether the PID table is shown under the table now (`--pids`, key `p`); default never. */
  readonly pids?: () => boolean;
}

/** Writes the client's intervals and end, as JSON lines or tables. */
export class ClientOutput {
  readonly #options: ClientOutputOptions;
  #open = true;
  /** The last interval drawn, for {@link ClientOutput.redraw}. */
  #last: readonly IntervalEntry[] | undefined;

  constructor(options: ClientOutputOptions) {
    this.#options = options;
  }

  /** False once stdout is gone (a closed pipe): nothing more is written. */
  get open(): boolean {
    return this.#open;
  }

  /** One interval of every stream. */
  interval(entries: readonly IntervalEntry[], time: Date): void {
    if (!this.#open) return;
    const o = this.#options;
    if (o.draw !== undefined) {
      this.#last = entries;
      this.#open = o.draw(this.#table(entries, false), false);
      return;
    }
    this.#open = o.write(jsonLines(entries.flatMap((e) => entryIntervalRecords(e, o, time))));
  }

  /** Draws the last interval's table again (the PID table was switched on or off). */
  redraw(): void {
    const o = this.#options;
    if (!this.#open || o.draw === undefined || this.#last === undefined) return;
    this.#open = o.draw(this.#table(this.#last, false), false);
  }

  /** A stream left during the run (--all: removed or re-described): its summary, in JSON. */
  left(entry: IntervalEntry, time: Date): void {
    if (!this.#open || this.#options.draw !== undefined) return;
    this.#open = this.#options.write(jsonLines(entrySummaryRecords(entry, this.#options, time)));
  }

  /** The end of the run: summaries, or the final table. */
  final(entries: readonly IntervalEntry[], time: Date): void {
    const o = this.#options;
    if (o.draw !== undefined) {
      o.draw(this.#table(entries, true), true);
      return;
    }
    o.write(jsonLines(entries.flatMap((e) => entrySummaryRecords(e, o, time))));
  }

  #table(entries: readonly IntervalEntry[], final: boolean): string {
    const table = this.#statsTable(entries, final);
    if (this.#options.pids?.() !== true) return table;
    return table + this.#pidTables(entries, table.split("\n").length);
  }

  /** The PID table of each MPEG-TS stream, sharing the terminal rows left under `used` lines. */
  #pidTables(entries: readonly IntervalEntry[], used: number): string {
    const options = this.#options.tableOptions();
    const analysed = entries.filter((e) => e.watch.ts.active);
    if (analysed.length === 0) return "\n(no MPEG-TS to show PIDs of)\n";
    const left = options.rows === undefined ? Infinity : options.rows - 1 - used;
    const perStream = Math.floor(left / analysed.length) - 4; // blank, title, header, summary
    const maxRows = Math.max(3, Math.min(PID_TABLE_ROWS, perStream));
    let text = "";
    for (const entry of analysed) {
      const key = pidTableSource(entry.interval.ts, entry.total.ts);
      const total = key === undefined ? undefined : entry.total.ts.get(key);
      if (key === undefined || total === undefined) continue;
      const source = key === UDP_KEY ? "raw UDP" : `SSRC ${ssrcHex(key)}`;
      text += "\n" +
        renderPidTable(
          `PIDs of ${entry.watch.name} (${source})`,
          total,
          entry.interval.ts.get(key),
          {
            ...(options.columns === undefined ? {} : { columns: options.columns - 1 }),
            ...(options.color === undefined ? {} : { color: options.color }),
            maxRows,
          },
        );
    }
    return text;
  }

  #statsTable(entries: readonly IntervalEntry[], final: boolean): string {
    const o = this.#options;
    const options = o.tableOptions();
    const only = entries[0];
    if (o.single && entries.length === 1 && only !== undefined && only.watch.transport === "rtp") {
      const context = entryContext(only, only.total, o, final);
      const table = renderTable(
        only.total.rtp,
        final ? only.total.rtp : only.interval.rtp,
        context,
        {
          ...options,
        },
      );
      return only.watch.ts.active
        ? table + formatTsHealth(only.watch.ts.totals(only.total.atMs)) + "\n"
        : table;
    }
    const elapsedS = Math.max(0, ...entries.map((e) => e.status.elapsedS));
    return renderStreams(
      entries,
      (entry) => (entry.watch.ts.active ? entry.watch.ts.totals(entry.total.atMs) : undefined),
      { ...options, stallAfterS: o.stallAfterS, final, elapsedS },
    );
  }
}
