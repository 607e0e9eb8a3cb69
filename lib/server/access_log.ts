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
import type { LogWriter } from "../common/log_writer.ts";

/** The access log's LogTape category. */
export const ACCESS_CATEGORY = ["gateway", "http"] as const;

/** The message template of an access line (LogTape's, with the record's property names). */
export const ACCESS_TEMPLATE = "{method} {path} {status} {durationMs}ms";

/** Where the request handler reports each request. */
export interface AccessLog {
  /** One line for a request answered with `status` after `durationMs` (rounded to 0.01 ms). */
  record(method: string, path: string, status: number, durationMs: number): void;
}

/** Options of {@link FixedAccessLog}: where the lines go, `writer` or `write`. */
export type FixedAccessLogOptions =
  & {
    readonly format: LogFormat;
    /** Wall clock in ms for the timestamp; default Date.now. */
    readonly now?: () => number;
  }
  & (
    /** The log's buffer (setupLogging's), so lines keep their order with LogTape's. */
    | { readonly writer: LogWriter }
    /** Takes each line as a string (with its newline). */
    | { readonly write: (line: string) => void }
  );

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

/** Bytes of an ASCII string (the fixed parts of a line). */
const ascii = (text: string) => new TextEncoder().encode(text);

/** The fixed parts of a JSON line after the timestamp, around the method, path and numbers. */
const JSON_PARTS = {
  head: '","level":"info","logger":"gateway.http","message":"',
  method: ascii('ms","properties":{"method":"'),
  path: ascii('","path":"'),
  status: ascii('","status":'),
  duration: ascii(',"durationMs":'),
  end: ascii("}}\n"),
} as const;
const TEXT_HEAD = " [INF] gateway·http: ";
const TEXT_END = ascii("ms\n");
/** Bytes a line needs beside its timestamp, method and path (numbers of up to 16 digits each). */
const LINE_SLACK = 160;

/**
 * Copies `text` into `bytes` from `at` when every character is printable ASCII (and, for JSON, not
 * `"` or `\`): bytes as they are in either layout. Returns the end, or -1 for any other text.
 */
function copyPlain(text: string, bytes: Uint8Array, at: number, json: boolean): number {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || (json && (c === 0x22 || c === 0x5c))) return -1;
    bytes[at++] = c;
  }
  return at;
}

/** Writes the decimal digits of the integer `n` (0 ≤ n < 2^53) from `at`; returns the end. */
function copyUint(n: number, bytes: Uint8Array, at: number): number {
  let digits = 1;
  for (let rest = n; rest >= 10; rest = Math.floor(rest / 10)) digits++;
  let i = at + digits;
  for (let rest = n; i > at; rest = Math.floor(rest / 10)) bytes[--i] = 48 + (rest % 10);
  return at + digits;
}

/**
 * Writes `ms`, a count of hundredths (as the handler rounds durations), as `String(ms)` writes it:
 * `5.65`, `0.1`, `3`. Returns the end, or -1 when `ms` is not such a count (then use String).
 */
function copyHundredths(ms: number, bytes: Uint8Array, at: number): number {
  const hundredths = Math.round(ms * 100);
  if (!(hundredths >= 0 && hundredths < 1e15) || hundredths / 100 !== ms) return -1;
  const whole = Math.floor(hundredths / 100);
  const fraction = hundredths - whole * 100;
  at = copyUint(whole, bytes, at);
  if (fraction === 0) return at;
  bytes[at++] = 0x2e;
  if (fraction % 10 === 0) {
    bytes[at++] = 48 + fraction / 10;
  } else {
    bytes[at++] = 48 + Math.floor(fraction / 10);
    bytes[at++] = 48 + (fraction % 10);
  }
  return at;
}

/**
 * The access log without LogTape's generic path (message template parsing, a record object, its
 * properties snapshot, the formatter), which cost 4-8 µs and most of the garbage per request. With
 * the log's {@link LogWriter}, a line is written as bytes straight into its buffer from a fixed
 * layout: the timestamp and the fixed parts encoded once per millisecond, the method and path
 * copied byte by byte when they are plain ASCII, the numbers written digit by digit; no string is
 * built. Anything else (a path with a quote, a control or non-ASCII character) takes the string
 * path, {@link accessLine}, byte for byte the same layout. Everything else the server logs still
 * goes through LogTape.
 */
export class FixedAccessLog implements AccessLog {
  readonly #json: boolean;
  readonly #writer: LogWriter | undefined;
  readonly #write: ((line: string) => void) | undefined;
  readonly #now: () => number;
  readonly #encoder = new TextEncoder();
  #stampMs = Number.NaN;
  #stamp = "";
  /** The line's bytes up to the method, for the millisecond #stampMs. */
  readonly #headBuffer = new Uint8Array(256);
  #head = this.#headBuffer.subarray(0, 0);

  constructor(options: FixedAccessLogOptions) {
    this.#json = options.format === "json";
    this.#writer = "writer" in options ? options.writer : undefined;
    this.#write = "write" in options ? options.write : undefined;
    this.#now = options.now ?? Date.now;
  }

  record(method: string, path: string, status: number, durationMs: number): void {
    const ms = this.#now();
    if (ms !== this.#stampMs) {
      this.#stampMs = ms;
      this.#stamp = this.#json ? jsonTimestamp(ms) : textTimestamp(ms);
      const { written } = this.#encoder.encodeInto(
        this.#json ? `{"@timestamp":"${this.#stamp}${JSON_PARTS.head}` : this.#stamp + TEXT_HEAD,
        this.#headBuffer,
      );
      this.#head = this.#headBuffer.subarray(0, written);
    }
    const writer = this.#writer;
    if (writer !== undefined && this.#copy(writer, method, path, status, durationMs)) return;
    const line = this.#json
      ? jsonAccessLine(this.#stamp, method, path, status, durationMs)
      : textAccessLine(this.#stamp, method, path, status, durationMs);
    if (writer !== undefined) writer.write(line);
    else this.#write!(line);
  }

  /** The line as bytes in the writer's buffer; false (nothing written) when it needs the string path. */
  #copy(writer: LogWriter, method: string, path: string, status: number, ms: number): boolean {
    if (!(status >= 100 && status <= 999)) return false;
    const json = this.#json;
    let at = writer.reserve(
      this.#head.length + (json ? 2 : 1) * (method.length + path.length) + LINE_SLACK,
    );
    if (at < 0) return false;
    const bytes = writer.buffer;
    bytes.set(this.#head, at);
    at += this.#head.length;
    const methodAt = at;
    at = copyPlain(method, bytes, at, json);
    if (at < 0) return false;
    bytes[at++] = 0x20;
    const pathAt = at;
    at = copyPlain(path, bytes, at, json);
    if (at < 0) return false;
    const pathEnd = at;
    bytes[at++] = 0x20;
    at = copyUint(status, bytes, at);
    bytes[at++] = 0x20;
    const durationAt = at;
    at = copyHundredths(ms, bytes, at);
    if (at < 0) return false;
    const durationEnd = at;
    if (!json) {
      bytes.set(TEXT_END, at);
      writer.commit(at + TEXT_END.length);
      return true;
    }
    // The properties repeat the message's parts: copied from where they are in the buffer.
    bytes.set(JSON_PARTS.method, at);
    at += JSON_PARTS.method.length;
    bytes.copyWithin(at, methodAt, methodAt + method.length);
    at += method.length;
    bytes.set(JSON_PARTS.path, at);
    at += JSON_PARTS.path.length;
    bytes.copyWithin(at, pathAt, pathEnd);
    at += pathEnd - pathAt;
    bytes.set(JSON_PARTS.status, at);
    at = copyUint(status, bytes, at + JSON_PARTS.status.length);
    bytes.set(JSON_PARTS.duration, at);
    at += JSON_PARTS.duration.length;
    bytes.copyWithin(at, durationAt, durationEnd);
    at += durationEnd - durationAt;
    bytes.set(JSON_PARTS.end, at);
    writer.commit(at + JSON_PARTS.end.length);
    return true;
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
