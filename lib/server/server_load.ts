// What the server is refusing and why, for /healthz: a health check must see a server that turns
// work away (too many connections, requests or no descriptors left), not only one that is down.

/** Why work was refused. */
export const REFUSAL_REASONS = {
  connections: "too many open connections (--max-connections)",
  descriptors: "out of file descriptors (RLIMIT_NOFILE)",
  requests: "too many requests at once (--max-concurrent)",
} as const;

/** A reason of {@link REFUSAL_REASONS}. */
export type RefusalReason = keyof typeof REFUSAL_REASONS;

/** Health as /healthz reports it. */
export interface HealthReport {
  readonly status: "ok" | "degraded";
  /** Why it is degraded (empty when ok). */
  readonly reasons: readonly string[];
}

/** How long a refusal keeps the server reported as degraded, in ms. */
export const DEGRADED_FOR_MS = 5000;

/** Records refusals; the server is degraded while it refused work within the last few seconds. */
export class ServerLoad {
  readonly #refusedAt = new Map<RefusalReason, number>();
  readonly #now: () => number;

  constructor(options: { now?: () => number } = {}) {
    this.#now = options.now ?? (() => performance.now());
  }

  /** Notes that work was just refused for `reason`. */
  refused(reason: RefusalReason): void {
    this.#refusedAt.set(reason, this.#now());
  }

  /** The health now: degraded while any refusal is younger than DEGRADED_FOR_MS. */
  health(): HealthReport {
    const now = this.#now();
    const reasons: string[] = [];
    for (const [reason, at] of this.#refusedAt) {
      if (now - at < DEGRADED_FOR_MS) reasons.push(REFUSAL_REASONS[reason]);
    }
    return { status: reasons.length === 0 ? "ok" : "degraded", reasons };
  }
}
