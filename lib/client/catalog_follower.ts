// `--all`: follows the SDP server's catalog (GET /streams). Every --refresh period (or at once on
// SIGHUP) it fetches the catalog and tells which streams were added, removed or re-described (their
// `o=` version changed, RFC 8866 §5.2); a server that is down is retried with backoff meanwhile.
import { delay } from "../common/delay.ts";
import { type CatalogListing, type CatalogStream, fetchCatalog } from "./catalog_client.ts";
import type { FetchOptions } from "./negotiate.ts";

/** Default `--refresh`, seconds. */
export const CATALOG_REFRESH_S = 30;

/** What changed between two catalogs. */
export interface CatalogDiff {
  readonly added: readonly CatalogStream[];
  readonly removed: readonly string[];
  /** Streams still there with another `o=` version (or transport): to be re-joined. */
  readonly changed: readonly CatalogStream[];
}

/** The changes from the streams `known` to the catalog `next`, in catalog order. */
export function diffCatalog(
  known: ReadonlyMap<string, CatalogStream>,
  next: readonly CatalogStream[],
): CatalogDiff {
  const names = new Set(next.map((s) => s.name));
  const added: CatalogStream[] = [];
  const changed: CatalogStream[] = [];
  for (const stream of next) {
    const before = known.get(stream.name);
    if (before === undefined) added.push(stream);
    else if (before.version !== stream.version || before.transport !== stream.transport) {
      changed.push(stream);
    }
  }
  const removed = [...known.keys()].filter((name) => !names.has(name));
  return { added, removed, changed };
}

/** Options of {@link CatalogFollower}. */
export interface CatalogFollowerOptions {
  /** The catalog URL (catalogUrl()). */
  readonly url: string;
  /** Token, client, timeouts; `retries` is used for the first fetch only. */
  readonly fetch: FetchOptions;
  /** `--refresh` in ms. */
  readonly refreshMs: number;
  /** Ends the following (SIGINT/SIGTERM). */
  readonly signal: AbortSignal;
  /**
   * Applies a change: join the added streams, leave the removed ones, re-join the changed ones.
   * Returns the names it could not set up: they are tried again at the next refresh.
   */
  readonly apply: (diff: CatalogDiff) => Promise<ReadonlySet<string>>;
  /** Called once when the server stops answering (with why), and once when it answers again. */
  readonly onOutage: (message: string) => void;
  readonly onBack: (downS: number) => void;
  /** Called when a catalog had entries that were left out. */
  readonly onSkipped?: (count: number) => void;
  /** Wait before retry n (1-based) while the server is down, ms; default 1 s doubling to refresh. */
  readonly backoffMs?: (retry: number) => number;
}

/**
 * Follows a server's catalog. {@link CatalogFollower.start} fetches the first catalog (with the
 * configured retries; it throws NegotiationError when the server cannot be reached);
 * {@link CatalogFollower.run} then refreshes until the signal aborts.
 */
export class CatalogFollower {
  readonly #options: CatalogFollowerOptions;
  readonly #known = new Map<string, CatalogStream>();
  #wake: (() => void) | undefined;
  #refreshRequested = false;
  #downSinceMs: number | undefined;

  constructor(options: CatalogFollowerOptions) {
    this.#options = options;
  }

  /** The streams followed now (set up successfully), by name. */
  get known(): ReadonlyMap<string, CatalogStream> {
    return this.#known;
  }

  /** Fetches the first catalog and applies it. Throws NegotiationError when it cannot be had. */
  async start(): Promise<void> {
    const listing = await fetchCatalog(this.#options.url, this.#options.fetch);
    await this.#sync(listing);
  }

  /** Refreshes at once (SIGHUP), or right after the refresh in progress. */
  refreshNow(): void {
    this.#refreshRequested = true;
    this.#wake?.();
  }

  /** Refreshes every period until the signal aborts; never throws. */
  async run(): Promise<void> {
    const { signal, refreshMs } = this.#options;
    const backoff = this.#options.backoffMs ??
      ((retry: number) => Math.min(1000 * 2 ** (retry - 1), refreshMs));
    let failures = 0;
    while (!signal.aborted) {
      const wait = failures === 0 ? refreshMs : backoff(failures);
      if (!this.#refreshRequested) await this.#sleep(wait);
      this.#refreshRequested = false;
      if (signal.aborted) return;
      let listing: CatalogListing;
      try {
        listing = await fetchCatalog(this.#options.url, { ...this.#options.fetch, retries: 0 });
      } catch (error) {
        if (signal.aborted) return;
        failures++;
        if (this.#downSinceMs === undefined) {
          this.#downSinceMs = performance.now();
          this.#options.onOutage((error as Error).message);
        }
        continue;
      }
      failures = 0;
      if (this.#downSinceMs !== undefined) {
        this.#options.onBack((performance.now() - this.#downSinceMs) / 1000);
        this.#downSinceMs = undefined;
      }
      await this.#sync(listing);
    }
  }

  async #sync(listing: CatalogListing): Promise<void> {
    if (listing.skipped > 0) this.#options.onSkipped?.(listing.skipped);
    const diff = diffCatalog(this.#known, listing.streams);
    if (diff.added.length + diff.removed.length + diff.changed.length === 0) return;
    const failed = await this.#options.apply(diff);
    for (const name of diff.removed) this.#known.delete(name);
    for (const stream of [...diff.added, ...diff.changed]) {
      if (failed.has(stream.name)) this.#known.delete(stream.name);
      else this.#known.set(stream.name, stream);
    }
  }

  /** Waits `ms`, less when refreshNow() or the signal ends the wait. */
  async #sleep(ms: number): Promise<void> {
    const woken = new AbortController();
    this.#wake = () => woken.abort();
    try {
      await delay(ms, AbortSignal.any([this.#options.signal, woken.signal]));
    } finally {
      this.#wake = undefined;
    }
  }
}
