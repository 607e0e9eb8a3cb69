// Repetition watchdogs for the TR 101 290 indicators that say "X does not occur at least every N"
// (1.3 PAT, 1.5 PMT, 1.6 PID, 2.3a PCR, 2.5 PTS): one error per whole limit elapsed without an
// occurrence, counted as soon as it has elapsed. Preallocated per PID slot; hits are one store.

/**
 * Watchdogs of one indicator, one per PID slot. The counting rule: while a monitored slot has no
 * occurrence, an error is counted each time another `limitMs` has passed since the last one; so a
 * gap of G ms between occurrences counts ⌈G / limit⌉ − 1 errors (none up to the limit, one up to
 * twice the limit, ...). Time only moves on {@link check}, which the analyser calls with each
 * datagram's arrival time before reading its packets: an outage of the whole stream counts
 * nothing until packets arrive again (the RTP layer reports stalls).
 */
export class RepetitionTimers {
  readonly #limitMs: number;
  /** Per slot: time of the last occurrence (ms). Written directly by {@link hit} on the hot path. */
  readonly #last: Float64Array;
  /** Per slot: the `#last` value at which the errors in `#counted` were counted. */
  readonly #countedFrom: Float64Array;
  readonly #counted: Float64Array;
  /** Monitored slots, densely packed, and each slot's position in that list (-1: not monitored). */
  readonly #active: Int32Array;
  readonly #position: Int32Array;
  #activeCount = 0;
  #errors = 0;
  #nextDueMs = Infinity;

  constructor(slots: number, limitMs: number) {
    this.#limitMs = limitMs;
    this.#last = new Float64Array(slots);
    this.#countedFrom = new Float64Array(slots);
    this.#counted = new Float64Array(slots);
    this.#active = new Int32Array(slots);
    this.#position = new Int32Array(slots).fill(-1);
  }

  /** Errors counted so far. */
  get errors(): number {
    return this.#errors;
  }

  /** Earliest time at which {@link check} may count an error (a lower bound; Infinity: none). */
  get nextDueMs(): number {
    return this.#nextDueMs;
  }

  /** Whether `slot` is monitored. */
  isActive(slot: number): boolean {
    return this.#position[slot]! >= 0;
  }

  /** Starts monitoring `slot` from `nowMs` (as if it occurred then); no-op when monitored. */
  start(slot: number, nowMs: number): void {
    if (this.#position[slot]! >= 0) return;
    this.#position[slot] = this.#activeCount;
    this.#active[this.#activeCount++] = slot;
    this.#last[slot] = nowMs;
    this.#countedFrom[slot] = nowMs;
    this.#counted[slot] = 0;
    this.#nextDueMs = Math.min(this.#nextDueMs, nowMs + this.#limitMs);
  }

  /** Stops monitoring `slot` (its programme or stream left the tables). */
  stop(slot: number): void {
    const at = this.#position[slot]!;
    if (at < 0) return;
    const lastSlot = this.#active[--this.#activeCount]!;
    this.#active[at] = lastSlot;
    this.#position[lastSlot] = at;
    this.#position[slot] = -1;
  }

  /** Records an occurrence on `slot` at `nowMs` (harmless on a slot that is not monitored). */
  hit(slot: number, nowMs: number): void {
    this.#last[slot] = nowMs;
  }

  /** Counts the errors due at `nowMs` on every monitored slot; updates {@link nextDueMs}. */
  check(nowMs: number): void {
    const limit = this.#limitMs;
    let next = Infinity;
    for (let i = 0; i < this.#activeCount; i++) {
      const slot = this.#active[i]!;
      const last = this.#last[slot]!;
      if (last !== this.#countedFrom[slot]) {
        this.#countedFrom[slot] = last;
        this.#counted[slot] = 0;
      }
      const counted = Math.max(this.#counted[slot]!, elapsedLimits(nowMs - last, limit));
      this.#errors += counted - this.#counted[slot]!;
      this.#counted[slot] = counted;
      // A hit after this check only moves the due time later, so this stays a lower bound.
      next = Math.min(next, last + limit * (counted + 1) - 1e-6);
    }
    this.#nextDueMs = next;
  }
}

/** The largest k ≥ 0 with `elapsed > limit × k`, in constant time for any gap. */
function elapsedLimits(elapsed: number, limit: number): number {
  if (!(elapsed > limit)) return 0;
  let k = Math.floor(elapsed / limit);
  if (k >= Number.MAX_SAFE_INTEGER) return k; // past integer precision: boundaries are moot
  // The division is off by at most one either way: settle the boundary as the comparison does.
  for (let i = 0; i < 2 && k > 0 && !(elapsed > limit * k); i++) k--;
  for (let i = 0; i < 2 && elapsed > limit * (k + 1); i++) k++;
  return k;
}
