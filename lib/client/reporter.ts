// Receiver reports to the SDP server (`--report`): every `--report-every S` the client POSTs each
// stream's interval JSON records and running totals to `/streams/{name}/reports`. Fire-and-forget:
// reception never waits; a report is dropped while the previous one of its stream is in flight.
import {
  type ReceiverReportBody,
  REPORT_CONTENT_TYPE,
  REPORT_LIMITS,
  reportsPath,
} from "../common/receiver_report.ts";
import { serverUrl } from "./catalog_client.ts";
import { authHeaders } from "./negotiate.ts";

/** Defaults of {@link Reporter}. */
export const REPORTER_DEFAULTS = {
  /** Seconds between two reports of a stream (`--report-every`). */
  EVERY_S: 5,
  /** A report not answered within this many ms is abandoned and counted as failed. */
  TIMEOUT_MS: 4000,
} as const;

/** A JSON record as the client prints it (`stats` or `summary`). */
export type ReportRecord = Readonly<Record<string, unknown>>;

/** Options of {@link Reporter}. */
export interface ReporterOptions {
  /** The server: the offer URL negotiated with, or its base URL (`http://host:8080`). */
  readonly server: string;
  /** Id sent with every report; default a random UUID, chosen once per process. */
  readonly receiverId?: string;
  /** Bearer token sent in `Authorization`, when the server wants one. */
  readonly token?: string;
  /** HTTP client (e.g. one trusting an extra CA, as for negotiation). */
  readonly client?: Deno.HttpClient;
  /** Seconds between reports of a stream; default 5. */
  readonly everyS?: number;
  /** Per-report timeout in ms; default 4000. */
  readonly timeoutMs?: number;
  /** Called once per report that failed (network error, timeout, non-2xx), for a log line. */
  readonly onFailure?: (stream: string, reason: string) => void;
}

/** Reports counted so far. */
export interface ReporterCounts {
  /** Answered with 2xx. */
  readonly sent: number;
  /** Not sent because the stream's previous report was still in flight. */
  readonly dropped: number;
  /** Sent but failed: network error, timeout or a non-2xx answer. */
  readonly failed: number;
  /** Reports in flight now. */
  readonly inFlight: number;
}

interface StreamQueue {
  records: ReportRecord[];
  summary: readonly ReportRecord[];
  dueMs: number;
  inFlight: Promise<void> | undefined;
}

/**
 * The URL of `stream`'s reports on `server` (an offer URL `.../offer`, `.../streams/NAME/offer`, a
 * description URL `.../streams/NAME.sdp`, or a base URL): the same path prefix, then
 * `/streams/{name}/reports`.
 */
export function reportsUrl(server: string, stream: string): string {
  return serverUrl(server, reportsPath(stream));
}

/**
 * Collects each stream's records and sends them as receiver reports. Call {@link Reporter.add}
 * once per statistics interval per stream, with the time of the clock that drives the intervals;
 * it sends when the stream's report is due and returns at once.
 */
export class Reporter {
  /** The id this process reports under. */
  readonly receiverId: string;
  readonly #options: ReporterOptions;
  readonly #everyMs: number;
  readonly #timeoutMs: number;
  readonly #streams = new Map<string, StreamQueue>();
  readonly #aborts = new Set<AbortController>();
  #sent = 0;
  #dropped = 0;
  #failed = 0;

  constructor(options: ReporterOptions) {
    new URL(options.server); // throws TypeError for a bad URL, before any report
    this.#options = options;
    this.receiverId = options.receiverId ?? crypto.randomUUID();
    this.#everyMs = (options.everyS ?? REPORTER_DEFAULTS.EVERY_S) * 1000;
    this.#timeoutMs = options.timeoutMs ?? REPORTER_DEFAULTS.TIMEOUT_MS;
  }

  /**
   * Adds the `stats` records of one interval of `stream` and its current `summary` records, at
   * `nowMs`. The first report of a stream is due one period after its first records; later ones
   * every period. Never throws, never waits.
   */
  add(
    stream: string,
    records: readonly ReportRecord[],
    summary: readonly ReportRecord[],
    nowMs: number,
  ): void {
    let queue = this.#streams.get(stream);
    if (queue === undefined) {
      queue = { records: [], summary: [], dueMs: nowMs + this.#everyMs, inFlight: undefined };
      this.#streams.set(stream, queue);
    }
    queue.records.push(...records);
    if (queue.records.length > REPORT_LIMITS.MAX_RECORDS) {
      queue.records.splice(0, queue.records.length - REPORT_LIMITS.MAX_RECORDS);
    }
    queue.summary = summary;
    if (nowMs < queue.dueMs) return;
    queue.dueMs = Math.max(queue.dueMs + this.#everyMs, nowMs + 1);
    const body = this.#body(stream, queue);
    queue.records = [];
    if (queue.inFlight !== undefined) {
      this.#dropped++;
      return;
    }
    const sending = this.#send(stream, body).finally(() => (queue.inFlight = undefined));
    queue.inFlight = sending;
  }

  /** Forgets a stream that is no longer watched (its report in flight completes). */
  remove(stream: string): void {
    this.#streams.delete(stream);
  }

  /** Counts so far. */
  counts(): ReporterCounts {
    let inFlight = 0;
    for (const queue of this.#streams.values()) if (queue.inFlight !== undefined) inFlight++;
    return { sent: this.#sent, dropped: this.#dropped, failed: this.#failed, inFlight };
  }

  /** Abandons the reports in flight and waits until they have settled. */
  async close(): Promise<void> {
    for (const abort of this.#aborts) abort.abort(new DOMException("Closed", "AbortError"));
    await Promise.all([...this.#streams.values()].map((q) => q.inFlight));
  }

  /** The JSON body, trimmed of its oldest records until it fits the server's limit. */
  #body(stream: string, queue: StreamQueue): Uint8Array<ArrayBuffer> {
    const encoder = new TextEncoder();
    const summary = queue.summary.slice(-REPORT_LIMITS.MAX_SUMMARY_RECORDS);
    let records = queue.records;
    while (true) {
      const report: ReceiverReportBody = { receiverId: this.receiverId, stream, records, summary };
      const bytes = encoder.encode(JSON.stringify(report));
      if (bytes.byteLength <= REPORT_LIMITS.MAX_BODY_BYTES || records.length === 0) return bytes;
      records = records.slice(Math.ceil(records.length / 4));
    }
  }

  async #send(stream: string, body: Uint8Array<ArrayBuffer>): Promise<void> {
    const abort = new AbortController();
    this.#aborts.add(abort);
    const timer = setTimeout(
      () => abort.abort(new DOMException("Timed out", "TimeoutError")),
      this.#timeoutMs,
    );
    let failure: string | undefined;
    try {
      const response = await fetch(reportsUrl(this.#options.server, stream), {
        method: "POST",
        body,
        headers: {
          "content-type": REPORT_CONTENT_TYPE,
          ...authHeaders(this.#options),
        },
        signal: abort.signal,
        ...(this.#options.client === undefined ? {} : { client: this.#options.client }),
      });
      await response.body?.cancel().catch(() => {});
      if (!response.ok) failure = `HTTP ${response.status} ${response.statusText}`.trim();
    } catch (error) {
      failure = abort.signal.aborted
        ? (abort.signal.reason as Error).name === "TimeoutError"
          ? `no answer within ${this.#timeoutMs} ms`
          : "abandoned"
        : (error as Error).message.split("\n")[0] ?? "request failed";
    } finally {
      clearTimeout(timer);
      this.#aborts.delete(abort);
    }
    if (failure === undefined) {
      this.#sent++;
    } else {
      this.#failed++;
      this.#options.onFailure?.(stream, failure);
    }
  }
}
