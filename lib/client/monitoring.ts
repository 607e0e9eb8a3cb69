// The client's monitoring outputs, fed once per statistics interval: Prometheus metrics on
// `--metrics HOST:PORT` (metrics.ts families, served by lib/common/metrics_endpoint.ts) and receiver
// reports to the server with `--report` (reporter.ts), which never hold reception up.
import { REPORT_LIMITS } from "../common/receiver_report.ts";
import {
  type ListenAddress,
  type MetricsServer,
  serveMetrics,
} from "../common/metrics_endpoint.ts";
import { createExposition } from "../common/prometheus.ts";
import { catalogUrl } from "./catalog_client.ts";
import { CLIENT_FAMILIES, ClientMetrics, type StreamFigures } from "./metrics.ts";
import type { IntervalEntry } from "./reception.ts";
import { Reporter, type ReportRecord } from "./reporter.ts";
import type { StatsRecord } from "./stats_view.ts";
import type { StreamWatch } from "./stream_watch.ts";

/** Where a watched stream reports to: its server URL and the name the server knows it by. */
export interface ReportTarget {
  readonly server: string;
  readonly stream: string;
}

/** Options of {@link Monitoring.start}. */
export interface MonitoringOptions {
  readonly metrics?: ListenAddress;
  readonly report?: {
    readonly everyS: number;
    readonly receiverId?: string;
    readonly token?: string;
    readonly client?: Deno.HttpClient;
    readonly onFailure: (stream: string, reason: string) => void;
  };
  /** Where each stream reports (streams without one do not). */
  readonly reportTarget: (watch: StreamWatch) => ReportTarget | undefined;
  /** A scrape failed to render (logged). */
  readonly onMetricsError: (error: unknown) => void;
}

/** The figures the metrics take from one stream's interval. */
export function streamFigures(entry: IntervalEntry, epoch: number): StreamFigures {
  const { watch, total, interval, status } = entry;
  return {
    name: watch.name,
    state: status.state,
    stalls: status.stalls,
    total: total.rtp,
    interval: interval.rtp,
    ...(total.socketDrops === undefined ? {} : { socketDrops: total.socketDrops }),
    ...(watch.ts.active ? { ts: watch.ts.figures(total.atMs) } : {}),
    epoch,
  };
}

/** A record within the server's limits on `ts.pids` and `ts.services`. */
function reportable(record: StatsRecord): ReportRecord {
  const ts = record.ts;
  if (ts === undefined || ts === null || typeof ts !== "object") return record;
  if (
    ts.pids.length <= REPORT_LIMITS.MAX_PIDS && ts.services.length <= REPORT_LIMITS.MAX_SERVICES
  ) {
    return record;
  }
  return {
    ...record,
    ts: {
      ...ts,
      pids: ts.pids.slice(0, REPORT_LIMITS.MAX_PIDS),
      services: ts.services.slice(0, REPORT_LIMITS.MAX_SERVICES),
    },
  };
}

/** Metrics and reports of a run; both optional. */
export class Monitoring {
  readonly #options: MonitoringOptions;
  readonly #metrics: ClientMetrics | undefined;
  readonly #server: MetricsServer | undefined;
  readonly #reporters = new Map<string, Reporter>();
  readonly #epochs = new WeakMap<StreamWatch, number>();
  #nextEpoch = 1;
  readonly receiverId: string | undefined;

  private constructor(
    options: MonitoringOptions,
    metrics: ClientMetrics | undefined,
    server: MetricsServer | undefined,
  ) {
    this.#options = options;
    this.#metrics = metrics;
    this.#server = server;
    this.receiverId = options.report === undefined
      ? undefined
      : options.report.receiverId ?? crypto.randomUUID();
  }

  /** Starts the metrics endpoint when asked for. Throws ConfigError when it cannot listen. */
  static async start(options: MonitoringOptions): Promise<Monitoring> {
    if (options.metrics === undefined) return new Monitoring(options, undefined, undefined);
    const metrics = new ClientMetrics();
    const exposition = await createExposition(CLIENT_FAMILIES, () => metrics.samples());
    const server = serveMetrics(options.metrics, {
      render: () => exposition.render(),
      contentType: exposition.contentType,
      onError: options.onMetricsError,
    });
    return new Monitoring(options, metrics, server);
  }

  /** The metrics endpoint's address, when serving. */
  get metricsAddress(): Deno.NetAddr | undefined {
    return this.#server?.addr;
  }

  /**
   * Accounts one interval of every stream: metrics observe all of them (a stream missing from
   * `entries` ends its series), reports get each stream's records and running totals.
   */
  interval(
    entries: readonly IntervalEntry[],
    records: (entry: IntervalEntry) => { stats: StatsRecord[]; summary: StatsRecord[] },
    nowMs: number,
  ): void {
    this.#metrics?.observe(entries.map((e) => streamFigures(e, this.#epochOf(e.watch))), nowMs);
    if (this.#options.report === undefined) return;
    for (const entry of entries) {
      const target = this.#options.reportTarget(entry.watch);
      if (target === undefined) continue;
      const { stats, summary } = records(entry);
      this.#reporterFor(target.server).add(
        target.stream,
        stats.map(reportable),
        summary.map(reportable),
        nowMs,
      );
    }
  }

  /** A stream is no longer watched: its reports stop (metrics drop it at the next interval). */
  left(watch: StreamWatch): void {
    const target = this.#options.reportTarget(watch);
    if (target !== undefined) this.#reporters.get(catalogUrl(target.server))?.remove(target.stream);
  }

  /** Stops the endpoint and abandons reports in flight. */
  async close(): Promise<void> {
    await Promise.all([...this.#reporters.values()].map((r) => r.close()));
    await this.#server?.shutdown();
  }

  #epochOf(watch: StreamWatch): number {
    let epoch = this.#epochs.get(watch);
    if (epoch === undefined) {
      epoch = this.#nextEpoch++;
      this.#epochs.set(watch, epoch);
    }
    return epoch;
  }

  #reporterFor(server: string): Reporter {
    const key = catalogUrl(server);
    let reporter = this.#reporters.get(key);
    if (reporter === undefined) {
      const report = this.#options.report!;
      reporter = new Reporter({
        server,
        receiverId: this.receiverId!,
        everyS: report.everyS,
        onFailure: report.onFailure,
        ...(report.token === undefined ? {} : { token: report.token }),
        ...(report.client === undefined ? {} : { client: report.client }),
      });
      this.#reporters.set(key, reporter);
    }
    return reporter;
  }
}
