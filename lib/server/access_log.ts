// The server's access log: one line per request (method, path, status, duration) under the
// "gateway.http" category, formatted straight into the layout LogTape's records have (text, or JSON
// lines as lib/common/logging.ts writes them) and written through the log's batched buffer.
import { getLogger } from "@logtape/logtape";
import {
  escapeJsonControls,
  escapeTextControls,
  jsonTimestamp,
  type LogFormat,
  textTimestamp,
} from "../common/logging.ts";

/** The access log's LogTape category. */
export const ACCESS_CATEGORY = ["gateway", "http"] as const;

/** The message template of an access line (LogTape's, with the record's property names). */
export const ACCESS_TEMPLATE = "{method} {path} {status} {durationMs}ms";

/** Where the request handler reports each request. */
export interface AccessLog {
  /** One line for a request answered with `status` after `durationMs` (rounded to 0.01 ms). */
  record(method: string, path: string, status: number, durationMs: number): void;
}

/** Options of {@link FixedAccessLog}. */
export interface FixedAccessLogOptions {
  readonly format: LogFormat;
  /** Takes each line (with its newline): the log's LogWriter, so lines keep their order. */
  readonly write: (line: string) => void;
  /** Wall clock in ms for the timestamp; default Date.now. */
  readonly now?: () => number;
}

/**
 * The access line of a request at `timestampMs`, byte for byte what LogTape's record of
 * `logger.info(ACCESS_TEMPLATE, { method, path, status, durationMs })` gives through the formatter
 * of lib/common/logging.ts for `format` (tests/server/access_log_test.ts holds them to it):
 *
 *     2026-12-01 23:46:40.342 +00:00 [INF] gateway·http: POST /offer 200 5.65ms
 *     {"@timestamp":"2026-12-01T23:46:40.342Z","level":"info","logger":"gateway.http",
 *      "message":"POST /offer 200 5.65ms","properties":{"method":"POST","path":"/offer",
 *      "status":200,"durationMs":5.65}}   (on one line)
 */
export function accessLine(
  format: LogFormat,
  timestampMs: number,
  method: string,
  path: string,
  status: number,
  durationMs: number,
): string {
  return format === "json"
    ? jsonAccessLine(jsonTimestamp(timestampMs), method, path, status, durationMs)
    : textAccessLine(textTimestamp(timestampMs), method, path, status, durationMs);
}

function textAccessLine(
  stamp: string,
  method: string,
  path: string,
  status: number,
  durationMs: number,
): string {
  return `${stamp} [INF] gateway·http: ${escapeTextControls(method)} ${
    escapeTextControls(path)
  } ${status} ${durationMs}ms\n`;
}

/** Printable ASCII but `"` and `\`: JSON.stringify only adds the quotes. */
const JSON_PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/** `JSON.stringify(text)`, without the call for the usual path or method. */
function jsonString(text: string): string {
  return JSON_PLAIN.test(text) ? `"${text}"` : escapeJsonControls(JSON.stringify(text));
}

function jsonAccessLine(
  stamp: string,
  method: string,
  path: string,
  status: number,
  durationMs: number,
): string {
  const m = jsonString(method);
  const p = jsonString(path);
  // The message is `${method} ${path} ...` as a JSON string: the quoted parts without their quotes.
  const message = `"${m.slice(1, -1)} ${p.slice(1, -1)} ${status} ${durationMs}ms"`;
  return `{"@timestamp":"${stamp}","level":"info","logger":"gateway.http","message":${message},` +
    `"properties":{"method":${m},"path":${p},"status":${status},"durationMs":${durationMs}}}\n`;
}

/**
 * The access log without LogTape's generic path (message template parsing, a record object, its
 * properties snapshot, the formatter), which cost 4-8 µs and most of the garbage per request: the
 * line is built from a fixed layout with one template string, the timestamp formatted once per
 * millisecond, and handed to the log's buffer. Everything else the server logs still goes through
 * LogTape.
 */
export class FixedAccessLog implements AccessLog {
  readonly #json: boolean;
  readonly #write: (line: string) => void;
  readonly #now: () => number;
  #stampMs = Number.NaN;
  #stamp = "";

  constructor(options: FixedAccessLogOptions) {
    this.#json = options.format === "json";
    this.#write = options.write;
    this.#now = options.now ?? Date.now;
  }

  record(method: string, path: string, status: number, durationMs: number): void {
    const ms = this.#now();
    if (ms !== this.#stampMs) {
      this.#stampMs = ms;
      this.#stamp = this.#json ? jsonTimestamp(ms) : textTimestamp(ms);
    }
    this.#write(
      this.#json
        ? jsonAccessLine(this.#stamp, method, path, status, durationMs)
        : textAccessLine(this.#stamp, method, path, status, durationMs),
    );
  }
}

/** The access log through LogTape's "gateway.http" logger (for a handler used without the server's logging set-up). */
export function logTapeAccessLog(): AccessLog {
  const logger = getLogger([...ACCESS_CATEGORY]);
  return {
    record(method, path, status, durationMs) {
      logger.info(ACCESS_TEMPLATE, { method, path, status, durationMs });
    },
  };
}
