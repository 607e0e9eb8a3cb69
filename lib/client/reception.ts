// The client's reception: the watched streams on their sockets (socket_pool.ts) and the one clock
// of the run: statistics intervals, stalls, membership renewals (IGMP/MLD re-join), the first-packet
// timeout, --duration and --packets, and how the run ends.
import { MulticastError } from "../common/errors.ts";
import { SocketPool, type SocketPoolOptions } from "./socket_pool.ts";
import type { PooledSocket } from "./socket_pool.ts";
import type { ReceptionState, ReceptionStatus, StreamWatch, WatchFigures } from "./stream_watch.ts";

/** One stream's figures at the end of an interval. */
export interface IntervalEntry {
  readonly watch: StreamWatch;
  readonly interval: WatchFigures;
  readonly total: WatchFigures;
  readonly status: ReceptionStatus;
}

/**
 * A watch's figures at `at`: the interval (taken, so the next one starts now), then the totals and
 * the status. The order matters: taking the interval prunes the TS analysers the totals then read.
 */
export function entryAt(watch: StreamWatch, at: number): IntervalEntry {
  return {
    watch,
    interval: watch.takeInterval(at),
    total: watch.snapshot(at),
    status: watch.status(at),
  };
}

/** How reception ended: `timeout` nothing within --timeout; `done` a limit; `interrupted` signal. */
export type ReceptionOutcome = "done" | "timeout" | "interrupted";

/** Options of {@link Reception}. */
export interface ReceptionOptions {
  /**
   * One stream, as the client has always worked: the run ends with `timeout` when it received
   * nothing within --timeout, with `done` at --packets. Several streams (or --all): the run ends
   * with `timeout` only when no stream received anything within --timeout of the start (a stream
   * still silent then is reported by onSilent and watched on), and at --packets once every stream
   * counted that many.
   */
  readonly single: boolean;
  readonly timeoutS: number;
  readonly intervalS: number;
  readonly durationS?: number;
  readonly packets?: number;
  /** Ends reception (SIGINT/SIGTERM). */
  readonly signal: AbortSignal;
  /** The sockets (the clock and the batch hook are the reception's). */
  readonly sockets: Omit<SocketPoolOptions, "now" | "afterBatch">;
  /** Called once per interval with every stream's figures. */
  readonly onInterval: (entries: readonly IntervalEntry[], nowMs: number) => void;
  /** Called when a stream's state changes. */
  readonly onStateChange: (
    watch: StreamWatch,
    state: ReceptionState,
    status: ReceptionStatus,
  ) => void;
  /** Several streams: a stream that received nothing within --timeout of its join (once). */
  readonly onSilent?: (watch: StreamWatch) => void;
  /** A stall began 250-270 s after the socket's join or renewal: probably no IGMP querier. */
  readonly onQuerierHint?: (watch: StreamWatch, socket: PooledSocket, ageS: number) => void;
  /** Clock in ms, on the performance.now() base of kernel timestamps; default performance.now. */
  readonly now?: () => number;
}

/** Longest pause of the clock between two ticks, ms. */
const TICK_MS = 100;

/**
 * Watches streams until an outcome. Add streams with {@link Reception.add} (before or during
 * {@link Reception.run}), take them away with {@link Reception.remove}.
 */
export class Reception {
  readonly #options: ReceptionOptions;
  readonly #now: () => number;
  readonly #pool: SocketPool;
  readonly #watches: StreamWatch[] = [];
  readonly #silentReported = new WeakSet<StreamWatch>();
  #startMs: number;
  #received = false;
  #outcome: ReceptionOutcome | undefined;
  #finished!: () => void;
  readonly #finishedPromise = new Promise<void>((resolve) => (this.#finished = resolve));

  constructor(options: ReceptionOptions) {
    this.#options = options;
    this.#now = options.now ?? (() => performance.now());
    this.#startMs = this.#now();
    this.#pool = new SocketPool({
      ...options.sockets,
      now: this.#now,
      afterBatch: (socket) => this.#afterBatch(socket),
    });
  }

  /** When {@link Reception.run} started (the construction until then), on the clock. */
  get startMs(): number {
    return this.#startMs;
  }

  /** The clock. */
  now(): number {
    return this.#now();
  }

  /** The streams watched now. */
  watches(): readonly StreamWatch[] {
    return this.#watches;
  }

  /** True once any stream (even one removed since) counted a packet. */
  get received(): boolean {
    return this.#received || this.#watches.some((w) => w.firstPacketMs !== undefined);
  }

  /**
   * Starts receiving `watch`. Throws MulticastError when its socket cannot be opened or the run
   * has ended.
   */
  async add(watch: StreamWatch): Promise<PooledSocket> {
    if (this.#outcome !== undefined) throw new MulticastError("Reception has ended");
    const socket = await this.#pool.add(watch);
    if (this.#outcome !== undefined) {
      await this.#pool.remove(watch);
      throw new MulticastError("Reception has ended");
    }
    this.#watches.push(watch);
    return socket;
  }

  /** Stops receiving `watch`; returns its final figures. */
  async remove(watch: StreamWatch): Promise<IntervalEntry | undefined> {
    const index = this.#watches.indexOf(watch);
    if (index < 0) return undefined;
    this.#watches.splice(index, 1);
    await this.#pool.remove(watch);
    if (watch.firstPacketMs !== undefined) this.#received = true;
    return entryAt(watch, this.#now());
  }

  /** Ends the run with `outcome` (the first one given wins). */
  finish(outcome: ReceptionOutcome): void {
    if (this.#outcome !== undefined) return;
    this.#outcome = outcome;
    this.#finished();
  }

  /** Runs the clock until an outcome; closes every socket before it returns. */
  async run(): Promise<ReceptionOutcome> {
    const { signal, intervalS } = this.#options;
    const onAbort = () => this.finish("interrupted");
    signal.addEventListener("abort", onAbort, { once: true });
    if (signal.aborted) this.finish("interrupted");
    // The run's clock (--timeout, --duration, intervals) starts here, after the negotiation.
    this.#startMs = this.#now();
    let nextIntervalMs = this.#startMs + intervalS * 1000;
    const tick = () => {
      const at = this.#now();
      this.#tick(at);
      if (this.#outcome === undefined && at >= nextIntervalMs) {
        nextIntervalMs += intervalS * 1000;
        if (nextIntervalMs <= at) nextIntervalMs = at + intervalS * 1000;
        this.#options.onInterval(
          this.#watches.map((watch) => entryAt(watch, at)),
          at,
        );
      }
    };
    const timer = setInterval(tick, Math.min(TICK_MS, intervalS * 1000));
    try {
      await this.#finishedPromise;
    } finally {
      clearInterval(timer);
      signal.removeEventListener("abort", onAbort);
      this.#pool.noteDrops(); // the streams' last kernel drop counts
      await this.#pool.close();
    }
    const at = this.#now();
    for (const watch of this.#watches) this.#drain(watch, at);
    return this.#outcome!;
  }

  #tick(at: number): void {
    const o = this.#options;
    for (const watch of this.#watches) {
      watch.tick(at);
      this.#drain(watch, at);
      if (
        !o.single && watch.firstPacketMs === undefined && at - watch.startMs >= o.timeoutS * 1000 &&
        !this.#silentReported.has(watch)
      ) {
        this.#silentReported.add(watch);
        o.onSilent?.(watch);
      }
    }
    this.#pool.tick(at);
    const timedOut = at - this.#startMs >= o.timeoutS * 1000 &&
      (o.single ? this.#watches.every((w) => w.firstPacketMs === undefined) : !this.received);
    if (timedOut) return this.finish("timeout");
    if (o.durationS !== undefined && at - this.#startMs >= o.durationS * 1000) this.finish("done");
  }

  /** Reports a watch's state change; a stall is checked against the membership's age. */
  #drain(watch: StreamWatch, at: number): void {
    const state = watch.takeChange();
    if (state === undefined) return;
    const socket = this.#pool.socketOf(watch);
    if (state === "receiving") socket?.schedule.receiving(at);
    if (state === "stalled" && socket !== undefined) {
      const stoppedMs = watch.lastPacketMs ?? at;
      if (socket.schedule.looksLikeMissingQuerier(stoppedMs)) {
        this.#options.onQuerierHint?.(
          watch,
          socket,
          (stoppedMs - socket.schedule.membershipMs) / 1000,
        );
      }
    }
    this.#options.onStateChange(watch, state, watch.status(at));
  }

  #afterBatch(socket: PooledSocket): void {
    const at = this.#now();
    for (const watch of socket.watches) this.#drain(watch, at);
    const limit = this.#options.packets;
    if (limit === undefined || this.#watches.length === 0) return;
    if (this.#watches.every((w) => w.accepted >= limit)) this.finish("done");
  }
}
