// Per-client-address slots for work that a slow client can stretch (reading a request body): one
// address cannot hold more than a few, so a trickle from one host leaves capacity for the others.

/** The client address a request came from, for per-address limits ("unknown" without one). */
export function addressOf(info: Deno.ServeHandlerInfo | undefined): string {
  return (info?.remoteAddr as Deno.NetAddr | undefined)?.hostname ?? "unknown";
}

/** Counts slots in use per client address; an address has entries only while it holds slots. */
export class AddressLimit {
  readonly #max: number;
  readonly #inUse = new Map<string, number>();

  /** `max` slots per address (at least 1). */
  constructor(max: number) {
    this.#max = Math.max(1, max);
  }

  /** Slots allowed per address. */
  get max(): number {
    return this.#max;
  }

  /** Takes a slot for `address`; false when it already holds `max`. */
  tryAcquire(address: string): boolean {
    const used = this.#inUse.get(address) ?? 0;
    if (used >= this.#max) return false;
    this.#inUse.set(address, used + 1);
    return true;
  }

  /** Gives back a slot taken by {@link tryAcquire}. */
  release(address: string): void {
    const used = this.#inUse.get(address) ?? 0;
    if (used <= 1) this.#inUse.delete(address);
    else this.#inUse.set(address, used - 1);
  }

  /** Addresses holding slots now. */
  get addresses(): number {
    return this.#inUse.size;
  }
}
