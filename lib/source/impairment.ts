// Seeded, deterministic network impairments (loss, duplication, reordering) decided per packet, with
// exact counters of what was done, stated so they equal what an RFC 3550 (§6.4.1, Appendix A.1/A.3)
// receiver counts: unique packets, duplicates, late (reordered) packets and lost packets.
import { mulberry32 } from "../common/prng.ts";

/** Impairment probabilities, each in [0, 1], and the PRNG seed. */
export interface ImpairmentOptions {
  /** Probability that a packet is dropped (never sent). */
  readonly loss?: number;
  /** Probability that a sent packet is sent twice, back to back. */
  readonly duplicate?: number;
  /** Probability that a packet is held back and sent after the next packet that is sent. */
  readonly reorder?: number;
  /** Seed of the PRNG (any integer, taken mod 2^32); same seed, same decisions. */
  readonly seed: number;
  /**
   * Packets at the start passed through unimpaired (default {@link DEFAULT_WARMUP}), so that a
   * receiver's probation (RFC 3550 A.1, MIN_SEQUENTIAL = 2) validates the source on clean packets.
   * Their PRNG draws still happen, so later decisions do not depend on it.
   */
  readonly warmup?: number;
  /**
   * Source of uniform draws in [0, 1) used instead of mulberry32(seed), e.g. a scripted sequence
   * in tests. Three draws per packet: loss, duplicate, reorder (a draw below P means yes).
   */
  readonly random?: () => number;
}

/** Default {@link ImpairmentOptions.warmup}: RFC 3550 A.1 MIN_SEQUENTIAL. */
export const DEFAULT_WARMUP = 2;

/**
 * What was done, as a receiver will see it once everything was sent (after {@link Impairer.flush}).
 * `sent` = `generated` − `dropped` + `duplicated`.
 */
export interface ImpairmentCounters {
  /** Packets offered to the impairer (produced by the source, or received by a relay). */
  readonly generated: number;
  /** Datagrams put on the wire, duplicates included. */
  readonly sent: number;
  /** Packets never sent. */
  readonly dropped: number;
  /** Extra copies sent; a receiver counts each as a duplicate. */
  readonly duplicated: number;
  /**
   * Packets sent after a packet generated later than them; a receiver counts each as late
   * (arriving with a sequence number below one already received). A held packet released at the
   * end of the stream, with nothing after it sent, is not reordered.
   */
  readonly reordered: number;
  /**
   * Dropped packets between the first and the last packet kept: what a receiver computes as lost
   * (expected − received, RFC 3550 A.3), which cannot see drops before the first or after the
   * last packet it receives.
   */
  readonly lost: number;
}

/**
 * Caller-owned, mutable plan filled by {@link Impairer.decide}: what to send for one packet. Send,
 * in order: `currentCopies` copies of the current packet, then `heldCopies` copies of the packet
 * held earlier; then, if `hold`, keep a copy of the current packet for a later release.
 */
export interface ImpairPlan {
  /** 0 (dropped or held), 1, or 2 (duplicated). */
  currentCopies: number;
  /** Copies of the held packet to send after the current one: 0, 1 or 2. */
  heldCopies: number;
  /** Keep the current packet; it is released by a later decide() or by flush(). */
  hold: boolean;
}

/** A fresh {@link ImpairPlan} to pass to {@link Impairer.decide}. */
export function createImpairPlan(): ImpairPlan {
  return { currentCopies: 0, heldCopies: 0, hold: false };
}

/** Throws a RangeError unless `value` is a probability in [0, 1]. */
export function checkProbability(value: number, name: string): number {
  if (!Number.isFinite(value) || value < 0 || value > 1) {
    throw new RangeError(`${name} must be a probability from 0 to 1, got ${value}`);
  }
  return value;
}

/**
 * Decides loss, duplication and reordering per packet, in generation order, and counts the result.
 *
 * Three PRNG draws per packet (loss, duplicate, reorder) whatever the outcome, so the decisions
 * for packet k depend only on the seed and k. The first `warmup` packets pass unimpaired. Rules,
 * chosen so the counters are exact:
 * - a dropped packet is never sent; a held packet stays held until a packet is actually sent;
 * - a kept packet with the reorder draw is held if nothing is held yet (at most one is held);
 * - when a packet is sent while another is held, the held one follows it: 1 reordered, whatever
 *   the current packet's own reorder draw (it was already sent, so it cannot be held);
 * - the duplicate draw of a packet applies when it is sent, held or not; the second copy of a
 *   late packet is a duplicate, not another late packet;
 * - {@link flush} at the end sends the held packet in order (no later packet was sent).
 */
export class Impairer {
  readonly #loss: number;
  readonly #duplicate: number;
  readonly #reorder: number;
  readonly #random: () => number;
  readonly #warmup: number;
  #holding = false;
  #heldCopies = 0;
  #generated = 0;
  #sent = 0;
  #dropped = 0;
  #duplicated = 0;
  #reordered = 0;
  #kept = 0;
  #droppedBeforeFirstKept = 0;
  #droppedSinceLastKept = 0;

  constructor(options: ImpairmentOptions) {
    this.#loss = checkProbability(options.loss ?? 0, "loss");
    this.#duplicate = checkProbability(options.duplicate ?? 0, "duplicate");
    this.#reorder = checkProbability(options.reorder ?? 0, "reorder");
    if (!Number.isSafeInteger(options.seed)) {
      throw new RangeError(`seed must be an integer, got ${options.seed}`);
    }
    this.#random = options.random ?? mulberry32(options.seed);
    const warmup = options.warmup ?? DEFAULT_WARMUP;
    if (!Number.isSafeInteger(warmup) || warmup < 0) {
      throw new RangeError(`warmup must be a non-negative integer, got ${warmup}`);
    }
    this.#warmup = warmup;
  }

  /** True while a packet is held back (the caller keeps its bytes). */
  get holding(): boolean {
    return this.#holding;
  }

  /** Decides the fate of the next packet and writes it to `plan`; counts what the plan sends. */
  decide(plan: ImpairPlan): void {
    const clean = this.#generated < this.#warmup;
    const lost = this.#random() < this.#loss && !clean;
    const copies = this.#random() < this.#duplicate && !clean ? 2 : 1;
    const reorder = this.#random() < this.#reorder && !clean;
    this.#generated++;
    plan.currentCopies = 0;
    plan.heldCopies = 0;
    plan.hold = false;
    if (lost) {
      this.#dropped++;
      if (this.#kept === 0) this.#droppedBeforeFirstKept++;
      else this.#droppedSinceLastKept++;
      return;
    }
    this.#kept++;
    this.#droppedSinceLastKept = 0;
    if (this.#holding) {
      plan.currentCopies = copies;
      plan.heldCopies = this.#heldCopies;
      this.#sent += copies + this.#heldCopies;
      this.#duplicated += copies - 1 + this.#heldCopies - 1;
      this.#reordered++;
      this.#holding = false;
      this.#heldCopies = 0;
      return;
    }
    if (reorder) {
      plan.hold = true;
      this.#holding = true;
      this.#heldCopies = copies;
      return;
    }
    plan.currentCopies = copies;
    this.#sent += copies;
    this.#duplicated += copies - 1;
  }

  /**
   * End of stream: returns how many copies of the held packet to send now (0 when none is held)
   * and counts them. It goes out in order, so it is not reordered.
   */
  flush(): number {
    if (!this.#holding) return 0;
    const copies = this.#heldCopies;
    this.#sent += copies;
    this.#duplicated += copies - 1;
    this.#holding = false;
    this.#heldCopies = 0;
    return copies;
  }

  /** Counters so far; final once {@link flush} was called. Never changes state. */
  snapshot(): ImpairmentCounters {
    return {
      generated: this.#generated,
      sent: this.#sent,
      dropped: this.#dropped,
      duplicated: this.#duplicated,
      reordered: this.#reordered,
      lost: this.#dropped - this.#droppedBeforeFirstKept - this.#droppedSinceLastKept,
    };
  }
}
