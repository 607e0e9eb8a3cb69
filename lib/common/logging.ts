// Logging set-up with LogTape: human text or JSON lines, written in batches (log_writer.ts) to stdout
// (server) or stderr (client, whose stdout carries data). Library modules log under the "gateway"
// category; the JSON layout is the one lib/server/access_log.ts writes without LogTape.
import { LogWriter } from "./log_writer.ts";
import {
  configureSync,
  getTextFormatter,
  type LogLevel,
  type LogRecord,
  resetSync,
  type Sink,
} from "@logtape/logtape";

/** Log output formats. */
export const LOG_FORMATS = ["text", "json"] as const;
/** A log output format: `text` for people, `json` for JSON lines. */
export type LogFormat = typeof LOG_FORMATS[number];

/** Options of {@link setupLogging}. */
export interface LoggingOptions {
  readonly format: LogFormat;
  /** Where records go. */
  readonly output: "stdout" | "stderr";
  /** Lowest level logged; default `info`. */
  readonly level?: LogLevel;
  /** Hands the text to this function instead of writing it to `output` (the client's live view). */
  readonly write?: (text: string) => void;
}

function plain(value: unknown): string {
  if (typeof value === "string") return value;
  if (value instanceof Error) return value.message;
  return JSON.stringify(value) ?? String(value);
}

/** DEL, C1 controls and the Unicode line and paragraph separators, which JSON.stringify leaves raw. */
const JSON_RAW_CONTROLS = /[\u007f-\u009f\u2028\u2029]/g;

/**
 * `json` with DEL, C1 controls (U+0085 is a line end to some readers, U+009B a terminal's CSI) and
 * U+2028/U+2029 written as `\uXXXX` escapes: the same JSON value, safe for line-oriented readers.
 */
export function escapeJsonControls(json: string): string {
  JSON_RAW_CONTROLS.lastIndex = 0;
  if (!JSON_RAW_CONTROLS.test(json)) return json;
  return json.replace(
    JSON_RAW_CONTROLS,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/** C0 controls but tab, DEL, C1 controls, U+2028 and U+2029: what a text line must not carry raw. */
const TEXT_CONTROLS = new RegExp(String.raw`[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]`, "g");

function textEscape(char: string): string {
  const code = char.charCodeAt(0);
  if (code === 0x0a) return "\\n";
  if (code === 0x0d) return "\\r";
  if (code > 0xff) return `\\u${code.toString(16)}`;
  return `\\x${code.toString(16).padStart(2, "0")}`;
}

/**
 * `text` with control characters written as escapes, as LogTape's own sanitizer writes them (`\n`,
 * `\r`, `\x1b`, `\x85`, and `\u2028`/`\u2029`), so a value from a peer (a request path, a stream
 * name) can neither end a text log line nor drive a terminal. Text without them is returned as it is.
 */
export function escapeTextControls(text: string): string {
  TEXT_CONTROLS.lastIndex = 0;
  return TEXT_CONTROLS.test(text) ? text.replace(TEXT_CONTROLS, textEscape) : text;
}

/** The `@timestamp` of a JSON line: ISO 8601 in UTC with milliseconds. */
export function jsonTimestamp(ms: number): string {
  return new Date(ms).toISOString();
}

/**
 * The timestamp of a text line as LogTape's text formatter writes it (`date-time-timezone`, UTC):
 * `2026-12-01 23:46:40.342 +00:00`.
 */
export function textTimestamp(ms: number): string {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)} +00:00`;
}

/**
 * One JSON object per record: timestamp, level, logger, message rendered with plain strings,
 * properties (DEL, C1 controls and U+2028/U+2029 escaped, see {@link escapeJsonControls}).
 */
function jsonLine(record: LogRecord): string {
  // Written by hand rather than through objects and Object.entries: this runs once per request.
  let message = "";
  const parts = record.message;
  for (let i = 0; i < parts.length; i++) {
    message += i % 2 === 0 ? parts[i] as string : plain(parts[i]);
  }
  let properties = record.properties;
  for (const key in properties) {
    if (properties[key] instanceof Error) {
      properties = Object.fromEntries(
        Object.entries(properties).map(([k, v]) => [k, v instanceof Error ? v.message : v]),
      );
      break;
    }
  }
  return escapeJsonControls(
    `{"@timestamp":"${jsonTimestamp(record.timestamp)}","level":"${record.level}",` +
      `"logger":"${record.category.join(".")}","message":${JSON.stringify(message)},` +
      `"properties":${JSON.stringify(properties)}}\n`,
  );
}

/**
 * The text formatter of LogTape's records: strings in values are written as they are but for their
 * control characters ({@link escapeTextControls}), anything else through Deno.inspect.
 */
function textFormatter(): (record: LogRecord) => string {
  return getTextFormatter({
    timestamp: "date-time-timezone",
    value: (v, inspect) => (typeof v === "string" ? escapeTextControls(v) : inspect(v)),
  });
}

/** The formatter of LogTape's records for `format`. */
export function recordFormatter(format: LogFormat): (record: LogRecord) => string {
  return format === "json" ? jsonLine : textFormatter();
}

/** What {@link setupLogging} set up. */
export interface Logging {
  readonly format: LogFormat;
  /**
   * The buffer LogTape's records are written through: lines written here in the same layout
   * (lib/server/access_log.ts) stay in order with them and share their batched writes.
   */
  readonly writer: LogWriter;
}

/** Configures LogTape once for the whole process (replacing an earlier configuration). */
export function setupLogging(options: LoggingOptions): Logging {
  const format = recordFormatter(options.format);
  resetSync(); // disposes the sink of an earlier configuration, which writes out its buffer
  const writer = new LogWriter({
    target: options.output === "stdout" ? Deno.stdout : Deno.stderr,
    ...(options.write === undefined ? {} : { write: options.write }),
  });
  const sink: Sink & Disposable = (record) => writer.write(format(record));
  sink[Symbol.dispose] = () => writer[Symbol.dispose]();
  configureSync({
    sinks: { main: sink },
    loggers: [
      { category: ["gateway"], lowestLevel: options.level ?? "info", sinks: ["main"] },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["main"] },
    ],
  });
  return { format: options.format, writer };
}
