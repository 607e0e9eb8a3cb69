// A counter exported to Prometheus that never goes down although the figure it follows restarts from
// zero (a new statistics object after a re-join, a re-added SSRC): the figures of earlier epochs are
// kept as a base and the current epoch's high-water mark is added to it.

/**
 * Follows one cumulative figure across epochs. Within an epoch the exported value is the highest
 * figure seen (a figure that dips, like RFC 3550 cumulative lost after a late packet, holds at its
 * high-water mark); {@link MonotonicCounter.observe} with `reset` starts a new epoch.
 */
export class MonotonicCounter {
  #base = 0;
  #high = 0;

  /**
   * Accounts the figure's current value. `reset` says the figure restarted from zero since the
   * last call; `resetWhenLower` also treats a decrease as a restart (for figures that can only
   * grow within an epoch, such as stall or error counts). Non-finite or negative values are ignored.
   */
  observe(raw: number, reset: boolean, resetWhenLower = false): void {
    if (!Number.isFinite(raw) || raw < 0) return;
    if (reset || (resetWhenLower && raw < this.#high)) {
      this.#base += this.#high;
      this.#high = raw;
    } else if (raw > this.#high) {
      this.#high = raw;
    }
  }

  /** The exported value: figures of earlier epochs plus the current epoch's high-water mark. */
  get value(): number {
    return this.#base + this.#high;
  }
}
