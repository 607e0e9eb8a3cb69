// `--all` in a run: applies the changes CatalogFollower finds in the server's catalog (RFC 8866 §5.2
// o= versions) as joins and leaves, re-joining a re-described stream only when what it describes
// changed, and logs each failure once.
import { getLogger } from "@logtape/logtape";
import { MulticastError, NegotiationError } from "../common/errors.ts";
import { catalogUrl } from "./catalog_client.ts";
import { type CatalogDiff, CatalogFollower } from "./catalog_follower.ts";
import type { ClientConfig } from "./config.ts";
import { offerUrl, type StreamLocator } from "./stream_locator.ts";
import type { FetchOptions } from "./negotiate.ts";
import { resolveStream, type StreamPlan } from "./stream_setup.ts";
import type { StreamWatch } from "./stream_watch.ts";

const logger = getLogger(["gateway", "client"]);

/** The fetch options of one stream's negotiation (its offer formats and sources). */
export function streamFetch(fetch: FetchOptions, config: ClientConfig) {
  return { ...fetch, formats: config.offerFormats, sources: config.sources };
}

/** What following the catalog needs from the run. */
export interface CatalogSessionOptions {
  readonly config: ClientConfig;
  readonly fetch: FetchOptions;
  /** Ends the following (the run's end or SIGINT/SIGTERM). */
  readonly signal: AbortSignal;
  /** Starts watching a stream; throws MulticastError when its socket cannot be opened. */
  readonly watch: (plan: StreamPlan) => Promise<StreamWatch>;
  /** Stops watching a stream (its summary is written). */
  readonly leave: (stream: StreamWatch) => Promise<void>;
  /** The streams watched now, by name. */
  readonly byName: ReadonlyMap<string, StreamWatch>;
}

/** The follower of --all, applying catalog changes as joins and leaves. */
export function followCatalog(options: CatalogSessionOptions): CatalogFollower {
  const { config, signal, watch, leave, byName } = options;
  const server = config.server!;
  const reported = new Map<string, string>();
  const apply = async (diff: CatalogDiff): Promise<ReadonlySet<string>> => {
    const failed = new Set<string>();
    for (const name of diff.removed) {
      const stream = byName.get(name);
      if (stream === undefined) continue;
      logger.info("Stream {name} left the catalog: leaving {group} port {port}", {
        name,
        group: stream.target.group,
        port: stream.target.port,
      });
      await leave(stream);
    }
    for (const entry of [...diff.added, ...diff.changed]) {
      const locator: StreamLocator = entry.transport === "udp"
        ? {
          kind: "sdp",
          location: `${catalogUrl(server)}/${encodeURIComponent(entry.name)}.sdp`,
        }
        : { kind: "offer", url: offerUrl(server, entry.name, "--server") };
      if (signal.aborted) break;
      try {
        const plan = await resolveStream(locator, {
          ...streamFetch(options.fetch, config),
          retries: 0,
          signal,
        });
        reported.delete(entry.name);
        const existing = byName.get(entry.name);
        if (existing !== undefined) {
          // A new o= version (a server restart versions every stream anew): re-join only when
          // where and what to receive changed.
          if (sameTarget(existing, plan)) continue;
          logger.info("Stream {name} was re-described (o= version {version}): re-joining", {
            ...entry,
          });
          await leave(existing);
        }
        await watch({ ...plan, name: entry.name, catalogName: entry.name });
      } catch (error) {
        if (signal.aborted) break;
        if (!(error instanceof NegotiationError || error instanceof MulticastError)) throw error;
        failed.add(entry.name);
        if (reported.get(entry.name) !== error.message) {
          reported.set(entry.name, error.message);
          logger.warn("Stream {name} of the catalog cannot be watched: {message}", {
            name: entry.name,
            message: error.message,
          });
        }
      }
    }
    for (const name of reported.keys()) if (!failed.has(name)) reported.delete(name);
    return failed;
  };
  return new CatalogFollower({
    url: catalogUrl(server),
    fetch: { ...options.fetch, signal },
    refreshMs: config.refreshS * 1000,
    signal,
    apply,
    onOutage: (message) =>
      logger.warn("The server stopped answering ({message}); still watching {count} streams", {
        message,
        count: byName.size,
      }),
    onBack: (downS) =>
      logger.info("The server answers again (after {seconds} s)", {
        seconds: Math.round(downS),
      }),
    onSkipped: (count) =>
      logger.warn(
        "The catalog had {count} entries that cannot be watched (bad or repeated names)",
        {
          count,
        },
      ),
  });
}

/** True when `plan` is received exactly as `watch` is: same group, port, transport, formats, sources. */
function sameTarget(watch: StreamWatch, plan: StreamPlan): boolean {
  const a = watch.target;
  const b = plan.target;
  const formats = (t: typeof a) => JSON.stringify([t.formats, t.unknownPayloadTypes]);
  return a.group === b.group && a.port === b.port && a.transport === b.transport &&
    formats(a) === formats(b) &&
    JSON.stringify([...watch.filter.sources].sort()) === JSON.stringify([...plan.sources].sort());
}
