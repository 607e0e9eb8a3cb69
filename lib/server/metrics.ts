// The server's Prometheus metrics: offers and receiver reports answered (by stream and HTTP status)
// and, from the receivers' last reports, per-stream aggregates (receivers reporting, with loss,
// stalled, worst loss and jitter), and the SAP announcer's and listener's counters (RFC 2974).
// Served at the server's GET /metrics (lib/common/prometheus.ts).
import type { MetricFamily, Sample } from "../common/prometheus.ts";
import type { ReceiverStore } from "./receiver_store.ts";
import type { SapDiscovery } from "./sap_discovery.ts";

/** `stream` label of requests that named no stream of the catalog. */
export const UNKNOWN_STREAM = "(unknown)";
/** `stream` label that (stream, status) pairs beyond the series cap are folded into. */
export const OTHER_STREAM = "(other)";

/** Defaults of {@link ServerMetrics}. */
export const SERVER_METRICS_DEFAULTS = {
  /** Most (stream, status) series per counter family; more fold into `(other)`. */
  MAX_SERIES: 2000,
} as const;

function family(
  name: string,
  type: MetricFamily["type"],
  labelNames: readonly string[],
  help: string,
): MetricFamily {
  return { name, type, labelNames, help };
}

const STREAM = ["stream"] as const;

/** The server's metric families (documented in the README, "Prometheus metrics"). */
export const SERVER_FAMILIES: readonly MetricFamily[] = [
  family(
    "sdp_offers_total",
    "counter",
    ["stream", "status"],
    "SDP offers answered, by stream and HTTP status.",
  ),
  family(
    "receiver_reports_total",
    "counter",
    ["stream", "status"],
    "Receiver reports answered, by stream and HTTP status.",
  ),
  family("receivers_reporting", "gauge", STREAM, "Receivers whose last report is kept."),
  family("receivers_with_loss", "gauge", STREAM, "Receivers whose last report had RTP loss."),
  family("receivers_stalled", "gauge", STREAM, "Receivers whose last report said stalled."),
  family(
    "receivers_with_continuity_errors",
    "gauge",
    STREAM,
    "Receivers whose last report had MPEG-TS continuity errors.",
  ),
  family(
    "receivers_worst_fraction_lost",
    "gauge",
    STREAM,
    "Highest fraction of RTP packets lost (0-1) among the receivers' last reports.",
  ),
  family(
    "receivers_worst_jitter_seconds",
    "gauge",
    STREAM,
    "Highest interarrival jitter among the receivers' last reports, in seconds.",
  ),
  family(
    "receivers_forgotten_total",
    "counter",
    ["reason"],
    "Receivers dropped from memory: cap (room for a new one) or age (silent too long).",
  ),
  family("sap_announcements_sent_total", "counter", [], "SAP announcement packets sent (--sap)."),
  family("sap_deletions_sent_total", "counter", [], "SAP deletion packets sent (--sap)."),
  family("sap_send_errors_total", "counter", [], "SAP packets that could not be sent (--sap)."),
  family(
    "sap_datagrams_received_total",
    "counter",
    [],
    "Datagrams received on the SAP groups (--sap-listen).",
  ),
  family(
    "sap_announcements_received_total",
    "counter",
    [],
    "Valid SAP announcements heard, repeats included (--sap-listen).",
  ),
  family(
    "sap_deletions_received_total",
    "counter",
    [],
    "Valid SAP deletions heard (--sap-listen).",
  ),
  family(
    "sap_packets_ignored_total",
    "counter",
    ["reason"],
    "SAP datagrams ignored, by reason (--sap-listen; README, SAP listener).",
  ),
  family("sap_sessions_heard", "gauge", [], "SAP sessions the listener knows now (--sap-listen)."),
  family(
    "sap_sessions_expired_total",
    "counter",
    [],
    "SAP sessions forgotten after ten intervals unheard (--sap-listen).",
  ),
];

/** What the SAP metrics are read from: {@link SapDiscovery.snapshot}. */
export type SapCounters = ReturnType<SapDiscovery["snapshot"]>;

/** Options of {@link ServerMetrics}. */
export interface ServerMetricsOptions {
  /** The store the receiver aggregates come from. */
  readonly store?: ReceiverStore;
  readonly maxSeries?: number;
  /** The SAP counters at scrape time; undefined (or its parts) while SAP is off. */
  readonly sap?: () => SapCounters | undefined;
}

/** Counts the server's answers and reads the receiver aggregates at scrape time. */
export class ServerMetrics {
  readonly #store: ReceiverStore | undefined;
  readonly #maxSeries: number;
  readonly #sap: (() => SapCounters | undefined) | undefined;
  readonly #offers = new Map<string, number>();
  readonly #reports = new Map<string, number>();

  constructor(options: ServerMetricsOptions = {}) {
    this.#store = options.store;
    this.#maxSeries = options.maxSeries ?? SERVER_METRICS_DEFAULTS.MAX_SERIES;
    this.#sap = options.sap;
  }

  /** Counts one offer answered with `status` for catalog stream `stream` ({@link UNKNOWN_STREAM} for none). */
  countOffer(stream: string, status: number): void {
    this.#count(this.#offers, stream, status);
  }

  /** Counts one report answered with `status` for `stream` ({@link UNKNOWN_STREAM} for none). */
  countReport(stream: string, status: number): void {
    this.#count(this.#reports, stream, status);
  }

  /** Samples of every family now. */
  samples(): Map<string, Sample[]> {
    const out = new Map<string, Sample[]>(SERVER_FAMILIES.map((f) => [f.name, []]));
    const add = (name: string, labels: Record<string, string>, value: number) =>
      out.get(name)!.push({ labels, value });
    for (
      const [name, counts] of [["sdp_offers_total", this.#offers], [
        "receiver_reports_total",
        this.#reports,
      ]] as const
    ) {
      for (const [key, value] of counts) {
        const [stream, status] = key.split("\u0000") as [string, string];
        add(name, { stream, status }, value);
      }
    }
    if (this.#store !== undefined) {
      for (const [stream, a] of this.#store.aggregates()) {
        add("receivers_reporting", { stream }, a.receivers);
        add("receivers_with_loss", { stream }, a.withLoss);
        add("receivers_stalled", { stream }, a.stalled);
        add("receivers_with_continuity_errors", { stream }, a.withContinuityErrors);
        add("receivers_worst_fraction_lost", { stream }, a.worstFractionLost);
        add("receivers_worst_jitter_seconds", { stream }, a.worstJitterMs / 1000);
      }
      const forgotten = this.#store.forgotten;
      add("receivers_forgotten_total", { reason: "cap" }, forgotten.cap);
      add("receivers_forgotten_total", { reason: "age" }, forgotten.age);
    }
    const sap = this.#sap?.();
    if (sap?.announcer !== undefined) {
      const { counters } = sap.announcer;
      add("sap_announcements_sent_total", {}, counters.announcements);
      add("sap_deletions_sent_total", {}, counters.deletions);
      add("sap_send_errors_total", {}, counters.sendErrors);
    }
    if (sap?.listener !== undefined) {
      const { counters, sessions } = sap.listener;
      add("sap_datagrams_received_total", {}, counters.datagrams);
      add("sap_announcements_received_total", {}, counters.announcements);
      add("sap_deletions_received_total", {}, counters.deletions);
      for (const [reason, value] of Object.entries(counters.ignored)) {
        add("sap_packets_ignored_total", { reason }, value);
      }
      add("sap_sessions_heard", {}, sessions.length);
      add("sap_sessions_expired_total", {}, counters.expired);
    }
    return out;
  }

  #count(counts: Map<string, number>, stream: string, status: number): void {
    let key = `${stream}\u0000${status}`;
    if (!counts.has(key) && counts.size >= this.#maxSeries) key = `${OTHER_STREAM}\u0000${status}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
}
