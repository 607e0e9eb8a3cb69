// The Linux receive path: a DatagramReceiver on a KernelSocket (kernel_socket.ts, FFI to libc), with
// source-specific joins (RFC 4607 / RFC 3376 / RFC 3810), recvmmsg batches, per-datagram kernel
// arrival times (SO_TIMESTAMPNS) converted to the performance.now() time base, and sk_drops.
import { MulticastError } from "../common/errors.ts";
import { DatagramBatch } from "./datagram_batch.ts";
import {
  type DatagramReceiver,
  type ReceiverOptions,
  resolveReceiverOptions,
} from "./datagram_receiver.ts";
import { ipv6InterfaceIndex } from "./interface_index.ts";
import { parseIpAddress } from "./ip_address.ts";
import { explainJoinErrno } from "./join_error.ts";
import { ERRNO, errnoText, KernelSocket, KernelSocketError } from "./kernel_socket.ts";
import { type ReceiveBufferOutcome, SOCKET_RECEIVE_BUFFER_BYTES } from "./socket_buffer.ts";

/** Defaults of {@link KernelReceiverOptions}. */
export const KERNEL_RECEIVER_DEFAULTS = {
  /** Datagrams per recvmmsg(). */
  BATCH: 128,
  /** Payload bytes per slot: the largest UDP payload, so nothing is ever cut. */
  DATAGRAM_BYTES: 65_536,
  /**
   * Longest pause between two drains while datagrams flow: about 100 system calls and timers a
   * second on a steady stream, however high its packet rate below ~6 000 packets/s.
   */
  WINDOW_MS: 10,
  /** Longest idle wait before the receive loop goes round again (close never waits for it). */
  WAKE_MS: 200,
} as const;

/** Options of {@link KernelReceiver.open}: the common ones plus batching. */
export interface KernelReceiverOptions extends ReceiverOptions {
  /** Why this path is used, for the log line. */
  readonly reason?: string;
  /** Datagrams per batch (one recvmmsg() call). */
  readonly batch?: number;
  /** Slot size; a longer datagram is cut and flagged `truncated` in the batch. */
  readonly datagramBytes?: number;
  /** Longest pause between drains while datagrams flow; 0 waits in the pool for every batch. */
  readonly windowMs?: number;
  /** Longest idle wait of one blocking-pool call (it ends early on close). */
  readonly wakeMs?: number;
}

/**
 * The kernel path cannot work here at all (libc, socket(2) or a required socket option failed), as
 * opposed to a bad group or interface: openReceiver({ prefer: "auto" }) then falls back to Deno.
 */
export class KernelUnavailableError extends MulticastError {
  override name = "KernelUnavailableError";
}

/** Full batches drained back to back before one goes through the pool (yielding the event loop). */
const FULL_STREAK = 8;
/** Clock samples whose two performance.now() reads are further apart than this are not used. */
const CALIBRATION_BRACKET_MS = 0.05;
/** A clock difference beyond this is a wall-clock step: the conversion jumps instead of following. */
const CLOCK_STEP_MS = 5;
/** Share of a sample's difference the conversion follows per batch (smooths sampling noise). */
const CLOCK_GAIN = 1 / 64;

/**
 * Kernel timestamps are CLOCK_REALTIME; arrival times are on the performance.now() base. The map is
 * perf = (sec − baseSec) × 1000 + nsec / 10⁶ − remMs, which at the start equals realtime −
 * performance.timeOrigin. It is calibrated at open from clock_gettime(CLOCK_REALTIME) bracketed by
 * two performance.now() reads, and re-sampled after every batch: a slewing wall clock is followed
 * slowly, a stepped one (NTP step, date -s) is jumped to at once, so arrival times stay within
 * ~0.05 ms of performance.now(). Keeping the seconds apart keeps full double precision.
 */
class RealtimeToPerformance {
  #baseSec = 0;
  #remMs = 0;
  #calibrated = false;
  readonly #socket: KernelSocket;

  constructor(socket: KernelSocket) {
    this.#socket = socket;
    for (let i = 0; i < 20 && !this.#calibrated; i++) this.sample();
    if (!this.#calibrated) {
      // A loaded machine: take a loose sample rather than none.
      const [sec, nsec] = socket.realtime();
      this.#set(sec, nsec, performance.now());
    }
  }

  /** Takes one clock sample and follows (or jumps to) it. */
  sample(): void {
    const before = performance.now();
    const [sec, nsec] = this.#socket.realtime();
    const after = performance.now();
    if (nsec < 0 || after - before > CALIBRATION_BRACKET_MS) return;
    const at = (before + after) / 2;
    if (!this.#calibrated) return this.#set(sec, nsec, at);
    const difference = at - this.toPerformanceMs(sec, nsec);
    if (Math.abs(difference) > CLOCK_STEP_MS) return this.#set(sec, nsec, at);
    this.#remMs -= difference * CLOCK_GAIN;
  }

  /** performance.now() time of a CLOCK_REALTIME instant. */
  toPerformanceMs(sec: number, nsec: number): number {
    return (sec - this.#baseSec) * 1000 + nsec / 1e6 - this.#remMs;
  }

  #set(sec: number, nsec: number, at: number): void {
    this.#baseSec = sec;
    this.#remMs = nsec / 1e6 - at;
    this.#calibrated = true;
  }
}

function unavailable(error: unknown): KernelUnavailableError {
  return new KernelUnavailableError(
    `Kernel receiver unavailable: ${(error as Error).message ?? String(error)}`,
    { cause: error },
  );
}

/** Options of a KernelSocket call that must work for the path to be usable at all. */
const REQUIRED_CALLS =
  /^(socket|setsockopt\((SO_REUSEADDR|SO_TIMESTAMPNS|SO_RXQ_OVFL|SO_RCVTIMEO)\)|getsockopt)/;

/** A multicast receiver on a socket owned through FFI; see lib/net/kernel_socket.ts. */
export class KernelReceiver implements DatagramReceiver {
  readonly kind = "kernel" as const;
  readonly reason: string;
  readonly group: string;
  readonly port: number;
  readonly ipVersion: 4 | 6;
  readonly receiveBuffer: ReceiveBufferOutcome;
  readonly filtersSources: boolean;
  /** The sources joined (source-specific), empty for an any-source join. */
  readonly sources: readonly string[];
  /** Socket options that could not be set but are not required. */
  readonly notes: readonly string[];
  readonly #socket: KernelSocket;
  readonly #batch: DatagramBatch;
  readonly #clock: RealtimeToPerformance;
  readonly #target: { group: string; port: number; interface?: string };
  readonly #windowMs: number;
  #drops = 0;
  #receiving = false;
  #closed = false;
  /** How the next batch is fetched: a blocking-pool wait, or a drain after a pause. */
  #next: "wait" | "drain" | "drainNow" = "wait";
  /** Full batches in a row (more is queued): drained at once, through the pool every few. */
  #fullStreak = 0;
  #pauseMs = 0;
  #lastReceiveMs = 0;
  #pauseTimer: ReturnType<typeof setTimeout> | undefined;
  #endPause: (() => void) | undefined;

  private constructor(
    socket: KernelSocket,
    options: KernelReceiverOptions,
    sources: readonly string[],
  ) {
    this.#socket = socket;
    this.reason = options.reason ?? "own socket through FFI (opened directly)";
    this.group = options.group;
    this.port = options.port;
    this.ipVersion = socket.family;
    this.sources = sources;
    this.filtersSources = sources.length > 0;
    this.notes = socket.notes;
    this.#target = {
      group: options.group,
      port: options.port,
      ...(options.interface === undefined ? {} : { interface: options.interface }),
    };
    const asked = options.receiveBufferBytes ?? SOCKET_RECEIVE_BUFFER_BYTES;
    const buffer = socket.buffer;
    this.receiveBuffer = asked === 0
      ? { ok: false, reason: "not asked for" }
      : buffer.failure === undefined
      ? { ok: true, fds: [socket.descriptor], bytes: buffer.bytes, forced: buffer.forced }
      : { ok: false, reason: buffer.failure };
    this.#batch = new DatagramBatch({
      data: socket.data,
      capacity: socket.batch,
      slotBytes: socket.slotBytes,
    });
    this.#clock = new RealtimeToPerformance(socket);
    this.#windowMs = options.windowMs ?? KERNEL_RECEIVER_DEFAULTS.WINDOW_MS;
  }

  /**
   * Opens a socket bound to group:port and joins it (source-specifically when `sources` are
   * given). Throws MulticastError for a bad group, interface or source (same messages as the Deno
   * path), KernelUnavailableError when the kernel path cannot work in this process.
   */
  static async open(options: KernelReceiverOptions): Promise<KernelReceiver> {
    const { ipVersion, sources } = resolveReceiverOptions(options);
    const D = KERNEL_RECEIVER_DEFAULTS;
    const windowMs = options.windowMs ?? D.WINDOW_MS;
    if (!(windowMs >= 0 && windowMs <= 1000)) {
      throw new MulticastError(`Kernel receiver: windowMs must be 0 to 1000, got ${windowMs}`);
    }
    const group = parseIpAddress(options.group)!.bytes;
    let interfaceAddress: Uint8Array | undefined;
    let interfaceIndex = 0;
    if (ipVersion === 4 && options.interface !== undefined) {
      interfaceAddress = parseIpAddress(options.interface)!.bytes;
    } else if (ipVersion === 6) {
      interfaceIndex = ipv6InterfaceIndex(options.interface);
    }
    let socket: KernelSocket;
    try {
      socket = KernelSocket.open({
        family: ipVersion,
        group,
        port: options.port,
        ...(interfaceAddress === undefined ? {} : { interfaceAddress }),
        interfaceIndex,
        sources: sources.map((s) => parseIpAddress(s)!.bytes),
        receiveBufferBytes: options.receiveBufferBytes ?? SOCKET_RECEIVE_BUFFER_BYTES,
        batch: options.batch ?? D.BATCH,
        slotBytes: options.datagramBytes ?? D.DATAGRAM_BYTES,
        wakeMs: options.wakeMs ?? D.WAKE_MS,
      });
    } catch (error) {
      throw explainOpenError(error, options);
    }
    try {
      return new KernelReceiver(socket, options, sources);
    } catch (error) {
      await socket.close();
      throw unavailable(error);
    }
  }

  /** Datagrams this socket's queue had no room for (sk_drops), as of now. */
  get socketDrops(): number {
    const now = this.#socket.drops();
    if (now > this.#drops) this.#drops = now;
    return this.#drops;
  }

  /** Datagrams whose kernel timestamp or drop count did not fit (MSG_CTRUNC); expect 0. */
  get controlTruncated(): number {
    return this.#socket.controlTruncated;
  }

  /**
   * Resolves with the next datagrams (1 to `batch`, stamped with the kernel's arrival time), or
   * null once closed. The batch lives until the next call. Rejects with MulticastError when the
   * socket fails.
   *
   * How it waits without burning a core or blocking the event loop: when nothing is known to be
   * queued, recvmmsg(MSG_WAITFORONE) runs in Deno's blocking thread pool and returns with the first
   * datagram (and what came with it). While datagrams flow, it pauses on a timer for about the time
   * a batch takes to fill (1 ms to windowMs) and then drains the queue with recvmmsg(MSG_DONTWAIT)
   * on this thread: ~100 system calls a second on a steady stream, and none of the per-datagram
   * wake-ups a blocking reader costs. A full batch means more is queued: the next call drains at
   * once, and every FULL_STREAK-th goes through the pool (which then returns at once) so timers
   * and I/O still run. Kernel timestamps make the pauses invisible to jitter and arrival times.
   */
  async receiveBatch(): Promise<DatagramBatch | null> {
    if (this.#closed) return null;
    if (this.#receiving) throw new MulticastError("receiveBatch() is already pending");
    this.#receiving = true;
    const socket = this.#socket;
    const batch = this.#batch;
    batch.count = 0;
    try {
      let n = 0;
      while (n === 0) {
        if (this.#closed) return null;
        try {
          if (this.#next === "drainNow") {
            n = socket.drain();
          } else if (this.#next === "drain") {
            await this.#pause(this.#pauseMs);
            if (this.#closed) return null;
            n = socket.drain();
          } else {
            n = await socket.wait();
          }
        } catch (error) {
          if (this.#closed) return null;
          throw new MulticastError(
            `Cannot receive from ${this.group} port ${this.port}: ${(error as Error).message}`,
            { cause: error },
          );
        }
        this.#schedule(n);
      }
      if (this.#closed) return null;
      const now = performance.now();
      this.#clock.sample();
      let drops = this.#drops;
      for (let i = 0; i < n; i++) {
        const nanos = socket.stampNanos[i]!;
        batch.arrivalMs[i] = nanos >= 0
          ? this.#clock.toPerformanceMs(socket.stampSeconds[i]!, nanos)
          : now;
        const count = socket.dropCounts[i]!;
        if (count > drops) drops = count;
      }
      this.#drops = drops;
      batch.lengths.set(socket.lengths.subarray(0, n));
      batch.truncated.set(socket.truncated.subarray(0, n));
      batch.family.set(socket.senderFamily.subarray(0, n));
      batch.address.set(socket.senderAddress.subarray(0, n * 16));
      batch.ports.set(socket.senderPort.subarray(0, n));
      batch.count = n;
      return batch;
    } finally {
      this.#receiving = false;
    }
  }

  /** Chooses how to fetch the next batch from what the last fetch returned. */
  #schedule(n: number): void {
    const now = performance.now();
    const elapsed = Math.max(0.1, now - this.#lastReceiveMs);
    this.#lastReceiveMs = now;
    if (n === this.#socket.batch && this.#windowMs > 0) {
      // More is queued: drain again at once, but go through the pool (which returns at once)
      // every FULL_STREAK batches so that timers and I/O of the event loop still run.
      this.#fullStreak++;
      this.#next = this.#fullStreak % FULL_STREAK === 0 ? "wait" : "drainNow";
      return;
    }
    this.#fullStreak = 0;
    if (n === 0 || this.#windowMs === 0) {
      this.#next = "wait";
      return;
    }
    // Datagrams per ms seen since the last fetch; pause until about 3/4 of a batch is queued.
    const perMs = n / elapsed;
    this.#pauseMs = Math.min(this.#windowMs, Math.max(1, (0.75 * this.#socket.batch) / perMs));
    this.#next = "drain";
  }

  /** A timer close() can cut short. */
  #pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.#endPause = resolve;
      this.#pauseTimer = setTimeout(() => {
        this.#pauseTimer = undefined;
        this.#endPause = undefined;
        resolve();
      }, ms);
    });
  }

  /** Leaves and joins again on the same socket; datagrams already queued stay queued. */
  rejoin(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    try {
      this.#socket.leave();
      this.#socket.join();
      return Promise.resolve();
    } catch (error) {
      const errno = error instanceof KernelSocketError ? error.errno : 0;
      return Promise.reject(explainJoinErrno(errno, this.#target, error));
    }
  }

  /** Closes the socket (leaving the groups); a pending receiveBatch() resolves null. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#pauseTimer !== undefined) {
      clearTimeout(this.#pauseTimer);
      this.#pauseTimer = undefined;
      this.#endPause?.();
    }
    await this.#socket.close();
  }

  /** Same as close(), for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

function explainOpenError(error: unknown, options: KernelReceiverOptions): MulticastError {
  if (!(error instanceof KernelSocketError)) {
    // RangeError (options out of range) or Deno.dlopen failing.
    return error instanceof RangeError
      ? new MulticastError(`Kernel receiver: ${error.message}`, { cause: error })
      : unavailable(error);
  }
  if (REQUIRED_CALLS.test(error.call)) return unavailable(error);
  const where = `${options.group} port ${options.port}`;
  if (error.call === "bind") {
    const hint = error.errno === ERRNO.EINVAL && /^ff[0-9a-f][12]:/i.test(options.group)
      ? ": an interface- or link-local group needs --interface"
      : "";
    return new MulticastError(`Cannot bind ${where}: ${errnoText(error.errno)}${hint}`, {
      cause: error,
    });
  }
  return explainJoinErrno(error.errno, options, error);
}
