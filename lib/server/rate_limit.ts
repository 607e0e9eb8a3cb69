// Per-client rate limiting with token buckets: each client address may make `ratePerS` requests per
// second on average with bursts of `burst`. The table of clients is bounded so a flood of addresses
// cannot grow memory.

/** Options of {@link RateLimiter}. */
export interface RateLimiterOptions {
  /** Sustained requests per second per client. */
  readonly ratePerS: number;
  /** Bucket size (burst); default max(1, ratePerS). */
  readonly burst?: number;
  /** Most clients tracked; the least recently seen are dropped beyond it. Default 10 000. */
  readonly maxClients?: number;
  /** Clock in ms; default performance.now. */
  readonly now?: () => number;
}

interface Bucket {
  tokens: number;
  updatedMs: number;
}

/** Token buckets keyed by client address. */
export class RateLimiter {
  readonly #rate: number;
  readonly #burst: number;
  readonly #maxClients: number;
  readonly #now: () => number;
  readonly #buckets = new Map<string, Bucket>();

  constructor(options: RateLimiterOptions) {
    if (!(options.ratePerS > 0)) {
      throw new RangeError(`Rate limit must be > 0, got ${options.ratePerS}`);
    }
    this.#rate = options.ratePerS;
    this.#burst = options.burst ?? Math.max(1, options.ratePerS);
    this.#maxClients = options.maxClients ?? 10_000;
    this.#now = options.now ?? (() => performance.now());
  }

  /**
   * Takes one token for `client`. Returns 0 when allowed, else the seconds to wait before the next
   * token (for `Retry-After`).
   */
  take(client: string): number {
    const now = this.#now();
    let bucket = this.#buckets.get(client);
    if (bucket === undefined) {
      if (this.#buckets.size >= this.#maxClients) {
        const oldest = this.#buckets.keys().next().value;
        if (oldest !== undefined) this.#buckets.delete(oldest);
      }
      bucket = { tokens: this.#burst, updatedMs: now };
    } else {
      this.#buckets.delete(client); // re-insert below: Map order is least recently seen first
      bucket.tokens = Math.min(
        this.#burst,
        bucket.tokens + ((now - bucket.updatedMs) / 1000) * this.#rate,
      );
      bucket.updatedMs = now;
    }
    this.#buckets.set(client, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return (1 - bucket.tokens) / this.#rate;
  }

  /** Clients currently tracked. */
  get size(): number {
    return this.#buckets.size;
  }
}
