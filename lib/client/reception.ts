// The client's reception loop: receives datagrams into one reused buffer, applies the source filter,
// feeds the statistics, and runs the clock: intervals, first-packet timeout, stall detection with
// re-join (IGMP/MLD report) while stalled, --duration and --packets limits.
import type { MulticastReceiver } from "../net/multicast_receiver.ts";
import type { ReceiverSnapshot, ReceiverStats } from "../rtp/session_stats.ts";

/** Reception state shown in the view and in JSON. */
export type ReceptionState = "waiting" | "receiving" | "stalled";

/** Options of {@link receive}. */
export interface ReceptionOptions {
  readonly receiver: MulticastReceiver;
  readonly stats: ReceiverStats;
  /** Accept packets only from these sender addresses; empty = any. */
  readonly sources: readonly string[];
  readonly timeoutS: number;
  readonly stallAfterS: number;
  readonly intervalS: number;
  readonly durationS?: number;
  /** Stop after this many RTP packets counted for a source. */
  readonly packets?: number;
  /** Ends reception (SIGINT/SIGTERM). */
  readonly signal: AbortSignal;
  /** Called once per interval with the interval's and the cumulative figures. */
  readonly onInterval: (
    interval: ReceiverSnapshot,
    total: ReceiverSnapshot,
    status: ReceptionStatus,
  ) => void;
  /** Called when the state changes (e.g. to log a stall). */
  readonly onStateChange?: (state: ReceptionState, status: ReceptionStatus) => void;
  /** Clock in ms; default performance.now. */
  readonly now?: () => number;
}

/** Reception state and timing at a moment. */
export interface ReceptionStatus {
  readonly state: ReceptionState;
  readonly elapsedS: number;
  readonly stalls: number;
  readonly stalledS: number;
}

/** How reception ended. */
export interface ReceptionResult extends ReceptionStatus {
  /** `timeout`: no RTP packet within timeoutS; `done`: duration or packet limit; `interrupted`: signal. */
  readonly outcome: "done" | "timeout" | "interrupted";
  readonly total: ReceiverSnapshot;
}

/** Bytes of the buffer each datagram is received into (above the largest UDP payload); allocated once. */
const DATAGRAM_BUFFER_BYTES = 65_536;
/** Re-join at most this often while stalled. */
const REJOIN_EVERY_MS = 10_000;

/** Receives until the timeout, a limit, or the signal; never throws for bad datagrams. */
export async function receive(options: ReceptionOptions): Promise<ReceptionResult> {
  const now = options.now ?? (() => performance.now());
  const { receiver, stats } = options;
  const sources = new Set(options.sources.map((s) => s.toLowerCase()));
  const buffer = new Uint8Array(DATAGRAM_BUFFER_BYTES);
  const start = now();
  let state = "waiting" as ReceptionState;
  let lastPacketMs = Number.NaN;
  let accepted = 0;
  let stalls = 0;
  let stalledMs = 0;
  let stallStartMs = Number.NaN;
  let lastRejoinMs = start;
  let nextIntervalMs = start + options.intervalS * 1000;
  let outcome: ReceptionResult["outcome"] | undefined;

  const status = (at: number): ReceptionStatus => ({
    state,
    elapsedS: (at - start) / 1000,
    stalls,
    stalledS: (stalledMs + (state === "stalled" ? at - stallStartMs : 0)) / 1000,
  });
  let finished!: () => void;
  const finishedPromise = new Promise<void>((resolve) => (finished = resolve));
  const finish = (why: ReceptionResult["outcome"]) => {
    if (outcome !== undefined) return;
    outcome = why;
    finished();
  };
  const setState = (next: ReceptionState, at: number) => {
    if (next === state) return;
    if (state === "stalled") stalledMs += at - stallStartMs;
    if (next === "stalled") {
      stalls++;
      stallStartMs = at;
    }
    state = next;
    options.onStateChange?.(state, status(at));
  };

  const onAbort = () => finish("interrupted");
  options.signal.addEventListener("abort", onAbort, { once: true });
  if (options.signal.aborted) finish("interrupted");

  const tick = () => {
    const at = now();
    if (stats.firstPacketMs === undefined && at - start >= options.timeoutS * 1000) {
      return finish("timeout");
    }
    if (options.durationS !== undefined && at - start >= options.durationS * 1000) {
      return finish("done");
    }
    if (state === "receiving" && at - lastPacketMs >= options.stallAfterS * 1000) {
      setState("stalled", at);
    }
    if (state === "stalled" && at - lastRejoinMs >= REJOIN_EVERY_MS) {
      lastRejoinMs = at;
      receiver.rejoin().catch(() => {});
    }
    if (at >= nextIntervalMs) {
      nextIntervalMs += options.intervalS * 1000;
      if (nextIntervalMs <= at) nextIntervalMs = at + options.intervalS * 1000;
      options.onInterval(stats.takeInterval(at), stats.snapshot(at), status(at));
    }
  };
  const timer = setInterval(tick, Math.min(100, options.intervalS * 1000));

  const loop = (async () => {
    while (outcome === undefined) {
      let datagram: Uint8Array;
      let from: Deno.Addr;
      try {
        [datagram, from] = await receiver.receive(buffer);
      } catch (error) {
        if (outcome !== undefined) return;
        throw error;
      }
      const at = now();
      if (sources.size > 0 && !sources.has((from as Deno.NetAddr).hostname.toLowerCase())) {
        stats.countFiltered();
        continue;
      }
      // Only RTP packets of the session count as traffic: garbage or another payload type (RTCP
      // on the same port) must neither hide a stall nor count towards --packets.
      if (!stats.onDatagram(datagram, at)) continue;
      lastPacketMs = at;
      accepted++;
      if (state !== "receiving") {
        lastRejoinMs = at;
        setState("receiving", at);
      }
      if (options.packets !== undefined && accepted >= options.packets) finish("done");
    }
  })();

  try {
    await Promise.race([finishedPromise, loop]);
    finish("done"); // the loop can only end early by an error, rethrown below
  } finally {
    clearInterval(timer);
    options.signal.removeEventListener("abort", onAbort);
    await receiver.close();
    await loop;
  }
  const at = now();
  if (state === "stalled") {
    stalledMs += at - stallStartMs;
    stallStartMs = at;
  }
  return {
    ...status(at),
    stalledS: stalledMs / 1000,
    outcome: outcome ?? "done",
    total: stats.snapshot(at),
  };
}
