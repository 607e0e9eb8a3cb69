// One run of the client: finds its streams (offers, SDP descriptions, or the server's catalog with
// --all), watches them on shared sockets (reception.ts), writes intervals and the end, feeds metrics
// and reports, and says how the run ended; main() turns that into an exit code.
import { getLogger } from "@logtape/logtape";
import { MulticastError, NegotiationError } from "../common/errors.ts";
import type { ReceiverKind } from "../net/datagram_receiver.ts";
import type { CatalogFollower } from "./catalog_follower.ts";
import { followCatalog, streamFetch } from "./catalog_session.ts";
import type { ClientOutput } from "./client_output.ts";
import { entryIntervalRecords, entrySummaryRecords, type OutputSettings } from "./client_output.ts";
import type { ClientConfig } from "./config.ts";
import { Monitoring } from "./monitoring.ts";
import type { FetchOptions } from "./negotiate.ts";
import { entryAt, type IntervalEntry, Reception, type ReceptionOutcome } from "./reception.ts";
import { logSocketEvent, logStateChange, logStreamPlan } from "./session_log.ts";
import { resolveStream, type StreamPlan, uniquelyNamed } from "./stream_setup.ts";
import { StreamWatch } from "./stream_watch.ts";
import type { TsOutput } from "./ts_output.ts";
import { findAnnouncedStreams } from "./sap_streams.ts";
import { SAP_PORT } from "../sap/scope.ts";

/** How a run ended, for main() to choose the exit code. */
export type SessionEnd =
  | { readonly kind: "usage" }
  | { readonly kind: "negotiation" }
  | { readonly kind: "interrupted" }
  | { readonly kind: "received"; readonly outcome: ReceptionOutcome; readonly received: boolean };

/** Options of {@link runSession}. */
export interface SessionOptions {
  readonly config: ClientConfig;
  /** The path announced in the run's first log line (a socket that falls back is logged). */
  readonly receiverKind: ReceiverKind;
  readonly output: ClientOutput;
  readonly settings: OutputSettings;
  /** Token, HTTP client, timeouts, retries, --media, control groups, retry log. */
  readonly fetch: FetchOptions;
  readonly signal: AbortSignal;
  /** Subscribes to refresh requests (SIGHUP) with --all; returns the unsubscribe function. */
  readonly onRefreshRequest?: (listener: () => void) => () => void;
  /** `--output`: where the one stream's transport stream goes. */
  readonly tsOutput?: TsOutput;
}

const logger = getLogger(["gateway", "client"]);

/** Runs the client until its streams end, a limit, or the signal. Never throws for bad input. */
export async function runSession(options: SessionOptions): Promise<SessionEnd> {
  const { config, signal, output } = options;
  const single = !config.all && config.locators.length === 1;
  // The catalog is followed until the run ends, whatever ends it.
  const stopFollowing = new AbortController();
  const followSignal = AbortSignal.any([signal, stopFollowing.signal]);
  const plans = new Map<StreamWatch, StreamPlan>();
  const byName = new Map<string, StreamWatch>();
  let monitoring: Monitoring | undefined;
  const recordsOf = (entry: IntervalEntry) => {
    const time = new Date();
    return {
      stats: entryIntervalRecords(entry, options.settings, time),
      summary: entrySummaryRecords(entry, options.settings, time),
    };
  };
  const reception = new Reception({
    single,
    timeoutS: config.timeoutS,
    intervalS: config.intervalS,
    ...(config.durationS === undefined ? {} : { durationS: config.durationS }),
    ...(config.packets === undefined ? {} : { packets: config.packets }),
    signal,
    sockets: {
      prefer: config.receiver,
      ...(config.interface === undefined ? {} : { interface: config.interface }),
      receiveBufferBytes: config.receiveBufferBytes,
      refreshEveryMs: config.rejoinEveryS * 1000,
      onEvent: (event) => logSocketEvent(event, config, options.receiverKind),
    },
    onInterval: (entries, nowMs) => {
      output.interval(entries, new Date());
      monitoring?.interval(entries, recordsOf, nowMs);
    },
    onStateChange: (watch, state, status) =>
      logStateChange(watch, state, status, { single, stallAfterS: config.stallAfterS }),
    onSilent: (watch) =>
      logger.warn(
        "Stream {name}: no packet on {group} port {port} within {timeout} s; still watching it",
        { name: watch.name, ...where(watch), timeout: config.timeoutS },
      ),
    onQuerierHint: (watch, _socket, ageS) =>
      logger.warn(
        "Stream {name} stopped {age} s after its membership of {group} was joined or renewed: " +
          "a switch without an IGMP querier probably aged it out (renew it with --rejoin-every)",
        { name: watch.name, age: Math.round(ageS), group: watch.target.group },
      ),
  });

  /** Starts watching a plan; false (logged) when its socket cannot be opened. */
  const watch = async (plan: StreamPlan): Promise<StreamWatch> => {
    const unique = uniquelyNamed(plan, new Set(byName.keys()));
    logStreamPlan(unique, config);
    const stream = new StreamWatch({
      name: unique.name,
      target: unique.target,
      sources: unique.sources,
      stallAfterMs: config.stallAfterS * 1000,
      tsLimits: config.tsLimits,
      startMs: reception.now(),
      analyseTs: config.analyseTs,
      ...(options.tsOutput === undefined ? {} : { output: options.tsOutput }),
    });
    await reception.add(stream);
    plans.set(stream, unique);
    byName.set(unique.name, stream);
    return stream;
  };
  const leave = async (stream: StreamWatch) => {
    byName.delete(stream.name);
    plans.delete(stream);
    const entry = await reception.remove(stream);
    if (entry !== undefined) output.left(entry, new Date());
    monitoring?.left(stream);
  };

  try {
    monitoring = await Monitoring.start({
      ...(config.metrics === undefined ? {} : { metrics: config.metrics }),
      ...(config.report
        ? {
          report: {
            everyS: config.reportEveryS,
            ...(config.receiverId === undefined ? {} : { receiverId: config.receiverId }),
            ...(options.fetch.token === undefined ? {} : { token: options.fetch.token }),
            ...(options.fetch.client === undefined ? {} : { client: options.fetch.client }),
            onFailure: (stream, reason) =>
              logger.debug("Report of {stream} failed: {reason}", { stream, reason }),
          },
        }
        : {}),
      reportTarget: (stream) => {
        const plan = plans.get(stream);
        return plan?.catalogName === undefined || !/^https?:/i.test(plan.origin)
          ? undefined
          : { server: plan.origin, stream: plan.catalogName };
      },
      onMetricsError: (error) =>
        logger.error("A metrics scrape failed: {message}", { message: (error as Error).message }),
    });
    if (monitoring.metricsAddress !== undefined) {
      const { hostname, port } = monitoring.metricsAddress;
      logger.info("Metrics on http://{host}:{port}/metrics", {
        host: hostname.includes(":") ? `[${hostname}]` : hostname,
        port,
      });
    }
    if (monitoring.receiverId !== undefined) {
      logger.info("Reporting to the server as receiver {id}", { id: monitoring.receiverId });
    }

    let follower: CatalogFollower | undefined;
    if (config.all) {
      follower = followCatalog({
        config,
        fetch: options.fetch,
        signal: followSignal,
        watch,
        leave,
        byName,
      });
      try {
        await follower.start();
      } catch (error) {
        if (signal.aborted) return { kind: "interrupted" };
        if (!(error instanceof NegotiationError)) throw error;
        logger.error("{message}", { message: error.message });
        return { kind: "negotiation" };
      }
    } else {
      // Announced sessions (--sap) are listened for together, before the rest is negotiated.
      const announced = new Map<string, StreamPlan>();
      const sapNames = config.locators.flatMap((l) => l.kind === "sap" ? [l.name] : []);
      if (sapNames.length > 0) {
        try {
          const found = await findAnnouncedStreams({
            names: sapNames,
            timeoutS: config.timeoutS,
            ...(config.interface === undefined ? {} : { interface: config.interface }),
            sources: config.sources,
            ...(config.media === undefined ? {} : { media: config.media }),
            allowControlGroups: config.allowControlGroups,
            signal,
            onListening: (groups, failed) => {
              logger.info("Listening for SAP announcements of {names} on {groups} port {port}", {
                names: sapNames.map((n) => JSON.stringify(n)).join(", "),
                groups: groups.join(", "),
                port: SAP_PORT,
              });
              for (const { group, error } of failed) {
                logger.debug("SAP group {group} could not be joined: {error}", { group, error });
              }
            },
            onHeard: (session) =>
              logger.info("Heard the SAP announcement of {name} from {origin} on {group}", {
                name: JSON.stringify(session.name),
                origin: session.origin,
                group: session.heardOn,
              }),
          });
          sapNames.forEach((name, i) => announced.set(name, found[i]!));
        } catch (error) {
          if (signal.aborted) return { kind: "interrupted" };
          if (error instanceof MulticastError) {
            logger.error("{message}", { message: error.message });
            return { kind: "usage" };
          }
          if (!(error instanceof NegotiationError)) throw error;
          logger.error("{message}", { message: error.message });
          return { kind: "negotiation" };
        }
      }
      for (const locator of config.locators) {
        let plan: StreamPlan;
        try {
          plan = locator.kind === "sap"
            ? announced.get(locator.name)!
            : await resolveStream(locator, streamFetch(options.fetch, config));
        } catch (error) {
          if (signal.aborted) return { kind: "interrupted" };
          if (!(error instanceof NegotiationError)) throw error;
          logger.error("{message}", { message: error.message });
          return { kind: "negotiation" };
        }
        if (signal.aborted) return { kind: "interrupted" };
        try {
          await watch(plan);
        } catch (error) {
          if (!(error instanceof MulticastError)) throw error;
          logger.error("{message}", { message: error.message });
          return { kind: "usage" };
        }
      }
    }
    if (signal.aborted) return { kind: "interrupted" };

    const unsubscribe = follower === undefined
      ? undefined
      : options.onRefreshRequest?.(() => follower.refreshNow());
    const following = follower?.run();
    let outcome: ReceptionOutcome;
    try {
      outcome = await reception.run();
    } finally {
      unsubscribe?.();
      stopFollowing.abort();
    }
    await following;
    const at = reception.now();
    const entries = reception.watches().map((w) => entryAt(w, at));
    output.final(entries, new Date());
    if (outcome === "timeout") logTimeout(entries, config, single);
    return { kind: "received", outcome, received: reception.received };
  } finally {
    await monitoring?.close();
  }
}

/** Group, port and interface of a stream, for messages. */
function where(watch: StreamWatch) {
  return { group: watch.target.group, port: watch.target.port };
}

/** The message of a run that ended because nothing arrived. */
function logTimeout(entries: readonly IntervalEntry[], config: ClientConfig, single: boolean) {
  const iface = config.interface ?? "any interface";
  const checks = "Check the interface (--interface), IGMP snooping or a missing querier on the " +
    "switch, the firewall (UDP port {port}), and the sender's TTL.";
  const only = entries[0];
  if (single && only !== undefined) {
    const invalid = only.total.rtp.invalid;
    logger.error(
      "No RTP packet on {group} port {port} via {iface} within {timeout} s{invalid}. " + checks,
      {
        ...where(only.watch),
        iface,
        timeout: config.timeoutS,
        invalid: invalid > 0 ? ` (${invalid} datagrams were not valid RTP)` : "",
      },
    );
    return;
  }
  logger.error(
    "No packet on any of the {count} streams via {iface} within {timeout} s. " +
      checks.replace("UDP port {port}", "their UDP ports"),
    { count: entries.length, iface, timeout: config.timeoutS },
  );
}
