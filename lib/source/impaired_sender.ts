// The one impaired-send pipeline of the test source and the relay: seeded loss, duplication and
// reordering decided per datagram (./impairment.ts), the held datagram, the stop limits, and the
// truth counters that equal what an RFC 3550 (A.1, A.3) receiver counts.
import { ConfigError, MulticastError } from "../common/errors.ts";
import {
  checkProbability,
  createImpairPlan,
  Impairer,
  type ImpairmentCounters,
  type ImpairmentOptions,
  type ImpairPlan,
} from "./impairment.ts";
import {
  checkInteger,
  errorText,
  openMulticastSender,
  type ResolvedSend,
} from "./multicast_sender.ts";

/** Seeded impairments shared by the source and the relay; the seed defaults to a random one. */
export type ImpairmentSettings = Partial<ImpairmentOptions>;

/** {@link ImpairmentSettings} checked, with the seed chosen. */
export type ResolvedImpairment = ImpairmentOptions & { readonly seed: number };

/** When a run stops by itself (besides its abort signal). */
export interface RunLimits {
  /** Stop after this many datagrams. */
  readonly packets?: number;
  /** Stop after this many seconds. */
  readonly durationS?: number;
}

/** {@link RunLimits} checked: `packets` is Infinity when not given. */
export interface ResolvedLimits {
  readonly packets: number;
  readonly durationS: number | undefined;
}

/** A random 32-bit unsigned number (seeds, SSRCs). */
export function randomUint32(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0]!;
}

/**
 * Checks the impairment probabilities, seed and warm-up, choosing a random seed when none is given.
 * Throws ConfigError naming the bad option (loss, duplicate, reorder, seed, warmup).
 */
export function resolveImpairment(options: ImpairmentSettings): ResolvedImpairment {
  for (const field of ["loss", "duplicate", "reorder"] as const) {
    try {
      checkProbability(options[field] ?? 0, field);
    } catch (error) {
      throw new ConfigError(field, errorText(error), { cause: error });
    }
  }
  const seed = checkInteger(options.seed ?? randomUint32(), "seed", 0, 0xffff_ffff);
  checkInteger(options.warmup ?? 0, "warmup", 0, Number.MAX_SAFE_INTEGER);
  return { ...options, seed };
}

/** Checks `packets` (an integer ≥ 0) and `durationS` (seconds ≥ 0); throws ConfigError naming them. */
export function resolveLimits(limits: RunLimits): ResolvedLimits {
  const packets = limits.packets === undefined
    ? Infinity
    : checkInteger(limits.packets, "packets", 0, Number.MAX_SAFE_INTEGER);
  const durationS = limits.durationS;
  if (durationS !== undefined && (!Number.isFinite(durationS) || durationS < 0)) {
    throw new ConfigError("duration", `duration must be seconds ≥ 0, got ${durationS}`);
  }
  return { packets, durationS };
}

/** The checked options of one source or relay run. */
export interface ResolvedRun {
  readonly limits: ResolvedLimits;
  readonly impairment: ResolvedImpairment;
}

/** {@link resolveLimits} then {@link resolveImpairment}: the run options the source and relay share. */
export function resolveRun(options: RunLimits & ImpairmentSettings): ResolvedRun {
  return { limits: resolveLimits(options), impairment: resolveImpairment(options) };
}

/** Wall-clock seconds since `startMs` (a performance.now() reading), to the millisecond. */
export function elapsedSeconds(startMs: number): number {
  return Math.round(performance.now() - startMs) / 1000;
}

/**
 * A multicast socket behind an {@link Impairer}: each datagram handed to {@link send} is dropped,
 * sent once or twice, or held back and sent after the next one that is sent, as the seeded
 * decisions say; {@link flush} releases a held datagram at the end. The datagram is copied when
 * held, so callers may reuse their buffer. Send failures become a MulticastError naming the group.
 */
export class ImpairedSender implements Disposable {
  /** The seed of the decisions (for the truth report). */
  readonly seed: number;
  readonly #conn: Deno.DatagramConn;
  readonly #send: ResolvedSend;
  readonly #address: Deno.NetAddr;
  readonly #impairer: Impairer;
  readonly #plan: ImpairPlan = createImpairPlan();
  readonly #held: Uint8Array;
  #heldLength = 0;
  #closed = false;

  private constructor(
    conn: Deno.DatagramConn,
    send: ResolvedSend,
    impairment: ResolvedImpairment,
    maxDatagramBytes: number,
  ) {
    this.#conn = conn;
    this.#send = send;
    this.#address = { transport: "udp", hostname: send.group, port: send.port };
    this.#impairer = new Impairer(impairment);
    this.#held = new Uint8Array(maxDatagramBytes);
    this.seed = impairment.seed;
  }

  /**
   * Opens the socket ({@link openMulticastSender}) for datagrams of at most `maxDatagramBytes`.
   * Throws MulticastError when it cannot be opened.
   */
  static async open(
    send: ResolvedSend,
    impairment: ResolvedImpairment,
    maxDatagramBytes: number,
  ): Promise<ImpairedSender> {
    const conn = await openMulticastSender(send);
    return new ImpairedSender(conn, send, impairment, maxDatagramBytes);
  }

  /** Decides the fate of `datagram` and sends what the decision says (it may send nothing). */
  async send(datagram: Uint8Array): Promise<void> {
    const plan = this.#plan;
    this.#impairer.decide(plan);
    await this.#transmit(datagram, plan.currentCopies);
    await this.#transmit(this.#held.subarray(0, this.#heldLength), plan.heldCopies);
    if (plan.hold) {
      this.#held.set(datagram);
      this.#heldLength = datagram.length;
    }
  }

  /** End of stream: sends the held datagram, if any, in order (see {@link Impairer.flush}). */
  async flush(): Promise<void> {
    await this.#transmit(this.#held.subarray(0, this.#heldLength), this.#impairer.flush());
  }

  /** What was done so far; the truth once {@link flush} was called. Never changes state. */
  snapshot(): ImpairmentCounters {
    return this.#impairer.snapshot();
  }

  /** Closes the socket; idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#conn.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  async #transmit(data: Uint8Array, copies: number): Promise<void> {
    try {
      for (let i = 0; i < copies; i++) await this.#conn.send(data, this.#address);
    } catch (error) {
      throw new MulticastError(
        `Cannot send to ${this.#send.group} port ${this.#send.port}: ${errorText(error)}`,
        { cause: error },
      );
    }
  }
}
