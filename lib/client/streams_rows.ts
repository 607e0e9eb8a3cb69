// The rows of the several-streams table (streams_table.ts): per stream its recent RTP sources
// (RFC 3550 figures and state), its raw MPEG-TS over UDP datagrams (loss from the continuity
// counters), or one waiting row. Pure: a stream's figures to rows.
import { ssrcHex } from "./terminal_text.ts";
import type { SourceSnapshot } from "../rtp/source_stats.ts";
import type { IntervalEntry } from "./reception.ts";
import { type SourceState, sourceState } from "./stats_table.ts";
import type { ReceptionState } from "./stream_watch.ts";
import { UDP_KEY } from "./ts_watch.ts";

/** A row's state: a source's, or `waiting` for a stream with nothing yet. */
export type RowState = SourceState | "waiting";

/** Rows listed per stream at most (its most recent sources). */
export const MAX_ROWS_PER_STREAM = 2;

/** One row of the table. */
export interface Row {
  readonly stream: string;
  readonly ssrc: string;
  readonly packets: number;
  /** Lost packets; for raw UDP the TS packets the continuity counters say are missing. */
  readonly lost: string;
  readonly lossPercent: number;
  readonly duplicates: number | null;
  readonly reordered: number | null;
  readonly jitterMs: number | null;
  readonly bitrateBps: number;
  readonly drops: number | null;
  readonly state: RowState;
  readonly recentMs: number;
}

/** What the rows need of the table's options. */
export interface RowOptions {
  readonly stallAfterS: number;
  /** The table drawn at exit: the run's averages, quiet sources `ended`. */
  readonly final?: boolean;
}

/** The rows of one stream: its recent RTP sources, its raw UDP datagrams, or one waiting row. */
export function streamRows(entry: IntervalEntry, options: RowOptions): Row[] {
  const { watch, total, interval, status } = entry;
  const name = watch.name;
  const rows: Row[] = [];
  const drops = total.socketDrops ?? null;
  // Live: the interval's rates; at exit: the run's averages over each source's sending time.
  const rates = new Map((options.final ? total : interval).rtp.sources.map((s) => [s.ssrc, s]));
  const context = { stallAfterS: options.stallAfterS, final: options.final ?? false };
  const heard = total.rtp.sources.filter((s) => s.packets > 0)
    .sort((a, b) => (b.lastArrivalMs ?? 0) - (a.lastArrivalMs ?? 0))
    .slice(0, MAX_ROWS_PER_STREAM);
  for (const source of heard) {
    const rate = rates.get(source.ssrc);
    const intervalRate = options.final ? undefined : rate;
    const state = sourceState(source, intervalRate, total.rtp.sources, context, total.atMs);
    rows.push(sourceRow(name, source, rate, drops, state));
  }
  const udp = total.udp;
  if (udp !== undefined && udp.packets > 0) {
    const ts = total.ts.get(UDP_KEY);
    const missing = ts?.estimatedLostPackets ?? 0;
    const whole = (ts?.packets ?? 0) + missing;
    const quietMs = total.atMs - (udp.lastArrivalMs ?? total.atMs);
    const lossNow = (interval.ts.get(UDP_KEY)?.estimatedLostPackets ?? 0) > 0;
    rows.push({
      stream: name,
      ssrc: "udp",
      packets: udp.packets,
      lost: missing === 0 ? "0" : `~${missing}`,
      lossPercent: whole > 0 ? (missing / whole) * 100 : 0,
      duplicates: null,
      reordered: null,
      jitterMs: null,
      bitrateBps: (options.final ? udp : interval.udp ?? udp).bitrateBps,
      drops,
      state: quietMs >= options.stallAfterS * 1000
        ? (options.final ? "ended" : "STALLED")
        : lossNow
        ? "LOSS"
        : "ok",
      recentMs: udp.lastArrivalMs ?? 0,
    });
  }
  if (rows.length === 0) {
    rows.push({
      stream: name,
      ssrc: "-",
      packets: 0,
      lost: "0",
      lossPercent: 0,
      duplicates: null,
      reordered: null,
      jitterMs: null,
      bitrateBps: 0,
      drops,
      state: stateRow(status.state),
      recentMs: 0,
    });
  }
  return rows;
}

function stateRow(state: ReceptionState): RowState {
  return state === "stalled" ? "STALLED" : "waiting";
}

function sourceRow(
  stream: string,
  total: SourceSnapshot,
  rate: SourceSnapshot | undefined,
  drops: number | null,
  state: RowState,
): Row {
  return {
    stream,
    ssrc: ssrcHex(total.ssrc),
    packets: total.packets,
    lost: String(total.lost),
    lossPercent: total.fractionLost * 100,
    duplicates: total.duplicates,
    reordered: total.reordered,
    jitterMs: total.jitterMs,
    bitrateBps: rate?.bitrateBps ?? 0,
    drops,
    state,
    recentMs: total.lastArrivalMs ?? 0,
  };
}
