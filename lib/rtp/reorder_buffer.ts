// Puts the payloads of one RTP source back into sequence order (RFC 3550 §5.1 sequence numbers,
// modulo 2^16) within a small window: late packets wait in place, duplicates are dropped, and a gap
// is left as it is once the packet after it has waited `windowMs` or the window is full. Pure: time
// comes with every call; memory is `capacity` preallocated slots, whatever arrives. A jump ahead of
// more than RFC 3550 A.1's MAX_DROPOUT (sequence.ts) is a restart of the sequence.
import { SEQUENCE_LIMITS } from "./sequence.ts";

/** Defaults of {@link ReorderBuffer}. */
export const REORDER_DEFAULTS = {
  /** Packets held at most: the window (a power of two). 64 datagrams are 34 ms at 20 Mbit/s. */
  CAPACITY: 64,
  /** How long a packet waits for a missing one before it, ms. */
  WINDOW_MS: 100,
  /** Largest payload kept, bytes (a UDP datagram's largest payload). */
  MAX_PAYLOAD_BYTES: 65_507,
} as const;

/** What a {@link ReorderBuffer} did so far. */
export interface ReorderCounts {
  /** Payloads handed on, in order. */
  readonly released: number;
  /** Payloads that arrived after a later one of the window and were put back in their place. */
  readonly reordered: number;
  /** Payloads dropped because the same sequence number was held or handed on already. */
  readonly duplicates: number;
  /** Payloads dropped because they arrived after their place was given up (or handed on twice). */
  readonly late: number;
  /** Sequence numbers given up as lost (the gaps left in the output). */
  readonly missing: number;
  /** Jumps beyond MAX_DROPOUT (a sender restart): everything held was handed on, then a new start. */
  readonly restarts: number;
}

/** Options of {@link ReorderBuffer}. */
export interface ReorderOptions {
  /** Receives each payload in order; the view is valid only during the call. */
  readonly emit: (payload: Uint8Array) => void;
  /** Window in packets, rounded up to a power of two (default 64). */
  readonly capacity?: number;
  /** Longest wait for a missing packet, ms (default 100). */
  readonly windowMs?: number;
}

/** Slot states. */
const HELD = 1;
const RELEASED = 2;

/** The signed distance from `from` to `to` on the 16-bit sequence circle (−32768 to 32767). */
function distance(from: number, to: number): number {
  return ((to - from + 0x8000) & 0xffff) - 0x8000;
}

/**
 * A reorder buffer for one RTP source. `push()` copies the payload into a slot (no allocation once
 * a slot has grown to the stream's datagram size) and hands on every payload that is now next in
 * sequence; `flush(nowMs)` gives up gaps whose successor waited too long; `drain()` hands on
 * everything held, in order, and starts over.
 */
export class ReorderBuffer {
  readonly #emit: (payload: Uint8Array) => void;
  readonly #capacity: number;
  readonly #mask: number;
  readonly #windowMs: number;
  /** Sequence number in each slot (−1: never used); whether it is held or was handed on: #state. */
  readonly #seqOf: Int32Array;
  readonly #state: Uint8Array;
  readonly #arrival: Float64Array;
  readonly #length: Int32Array;
  readonly #data: Uint8Array[];
  /** The next sequence number to hand on; −1 before the first packet. */
  #next = -1;
  /** The highest sequence number taken since the last start (valid while #next ≥ 0). */
  #highest = 0;
  #held = 0;
  #released = 0;
  #reordered = 0;
  #duplicates = 0;
  #late = 0;
  #missing = 0;
  #restarts = 0;

  constructor(options: ReorderOptions) {
    this.#emit = options.emit;
    let capacity = 1;
    while (capacity < Math.max(2, options.capacity ?? REORDER_DEFAULTS.CAPACITY)) capacity *= 2;
    this.#capacity = Math.min(capacity, 0x8000);
    this.#mask = this.#capacity - 1;
    this.#windowMs = options.windowMs ?? REORDER_DEFAULTS.WINDOW_MS;
    this.#seqOf = new Int32Array(this.#capacity).fill(-1);
    this.#state = new Uint8Array(this.#capacity);
    this.#arrival = new Float64Array(this.#capacity);
    this.#length = new Int32Array(this.#capacity);
    this.#data = Array.from({ length: this.#capacity }, () => new Uint8Array(0));
  }

  /** Packets held now. */
  get held(): number {
    return this.#held;
  }

  /** Takes the payload of the packet with sequence number `seq` that arrived at `arrivalMs`. */
  push(seq: number, payload: Uint8Array, arrivalMs: number): void {
    seq &= 0xffff;
    if (this.#next < 0) this.#next = this.#highest = seq;
    let ahead = distance(this.#next, seq);
    if (ahead < 0) {
      const slot = seq & this.#mask;
      if (this.#seqOf[slot] === seq && this.#state[slot] === RELEASED) this.#duplicates++;
      else this.#late++;
      return;
    }
    if (ahead > SEQUENCE_LIMITS.MAX_DROPOUT) {
      this.drain();
      this.#restarts++;
      this.#next = this.#highest = seq;
      ahead = 0;
    } else if (ahead >= this.#capacity) {
      // Beyond the window: give up the oldest places until it fits.
      this.#advanceTo((seq - this.#capacity + 1) & 0xffff);
      ahead = distance(this.#next, seq);
    }
    const slot = seq & this.#mask;
    if (this.#seqOf[slot] === seq && this.#state[slot] === HELD) {
      this.#duplicates++;
      return;
    }
    let data = this.#data[slot]!;
    if (data.length < payload.length) {
      data = new Uint8Array(Math.min(REORDER_DEFAULTS.MAX_PAYLOAD_BYTES, payload.length));
      this.#data[slot] = data;
    }
    const length = Math.min(payload.length, data.length);
    data.set(length === payload.length ? payload : payload.subarray(0, length));
    this.#seqOf[slot] = seq;
    this.#state[slot] = HELD;
    this.#length[slot] = length;
    this.#arrival[slot] = arrivalMs;
    this.#held++;
    if (distance(this.#highest, seq) < 0) this.#reordered++;
    else this.#highest = seq;
    if (ahead === 0) this.#releaseRun();
  }

  /** Gives up the gaps whose next held packet has waited `windowMs` by `nowMs`. */
  flush(nowMs: number): void {
    while (this.#held > 0) {
      const first = this.#firstHeld();
      if (first < 0 || nowMs - this.#arrival[first & this.#mask]! < this.#windowMs) return;
      this.#advanceTo(first);
    }
  }

  /** Hands on everything held, in order (gaps left out), and forgets the sequence: a new start. */
  drain(): void {
    while (this.#held > 0) {
      const first = this.#firstHeld();
      if (first < 0) break;
      this.#advanceTo(first);
    }
    this.#next = -1;
  }

  /** The counts so far. Pure. */
  counts(): ReorderCounts {
    return {
      released: this.#released,
      reordered: this.#reordered,
      duplicates: this.#duplicates,
      late: this.#late,
      missing: this.#missing,
      restarts: this.#restarts,
    };
  }

  /** The held sequence number closest after `next`, −1 when none is held. */
  #firstHeld(): number {
    for (let ahead = 0; ahead < this.#capacity; ahead++) {
      const seq = (this.#next + ahead) & 0xffff;
      if (this.#isHeld(seq)) return seq;
    }
    return -1;
  }

  /** Moves `next` on to `target`, handing on what is held on the way and counting the rest missing. */
  #advanceTo(target: number): void {
    while (this.#next !== target) {
      if (this.#isHeld(this.#next)) this.#release(this.#next & this.#mask);
      else this.#missing++;
      this.#next = (this.#next + 1) & 0xffff;
    }
    this.#releaseRun();
  }

  /** Hands on the run of held packets that starts at `next`. */
  #releaseRun(): void {
    while (this.#held > 0 && this.#isHeld(this.#next)) {
      this.#release(this.#next & this.#mask);
      this.#next = (this.#next + 1) & 0xffff;
    }
  }

  #isHeld(seq: number): boolean {
    const slot = seq & this.#mask;
    return this.#seqOf[slot] === seq && this.#state[slot] === HELD;
  }

  #release(slot: number): void {
    this.#state[slot] = RELEASED;
    this.#held--;
    this.#released++;
    this.#emit(this.#data[slot]!.subarray(0, this.#length[slot]!));
  }
}
