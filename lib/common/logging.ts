// Logging set-up with LogTape: human text or JSON lines, written synchronously to stdout (server) or
// stderr (client, whose stdout carries data). Library modules log under the "gateway" category.
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

/** Buffered log text beyond this many characters is written at once. */
const FLUSH_AT_CHARS = 64 * 1024;

/**
 * A sink that gathers the records of one event-loop turn and writes them with one system call
 * (at the next macrotask, at 64 KiB, or at exit), instead of one write per record: at thousands of
 * requests per second the per-line write was a quarter of the server's time.
 */
function writerSink(
  output: "stdout" | "stderr",
  format: (record: LogRecord) => string,
  write?: (text: string) => void,
): Sink {
  const encoder = new TextEncoder();
  const target = output === "stdout" ? Deno.stdout : Deno.stderr;
  let pending = "";
  let timer: ReturnType<typeof setTimeout> | undefined;
  const flush = () => {
    clearTimeout(timer);
    timer = undefined;
    if (pending === "") return;
    if (write !== undefined) {
      const text = pending;
      pending = "";
      return write(text);
    }
    const bytes = encoder.encode(pending);
    pending = "";
    try {
      let written = 0;
      while (written < bytes.length) written += target.writeSync(bytes.subarray(written));
    } catch {
      // A closed pipe must not take the program down because of a log line.
    }
  };
  globalThis.addEventListener("unload", flush);
  const sink: Sink & Disposable = (record) => {
    pending += format(record);
    if (pending.length >= FLUSH_AT_CHARS) {
      flush();
    } else if (timer === undefined) {
      timer = setTimeout(flush, 0);
      Deno.unrefTimer(timer);
    }
  };
  sink[Symbol.dispose] = () => {
    flush();
    globalThis.removeEventListener("unload", flush);
  };
  return sink;
}

function plain(value: unknown): string {
  if (typeof value === "string") return value;
  if (value instanceof Error) return value.message;
  return JSON.stringify(value) ?? String(value);
}

/** One JSON object per record: timestamp, level, logger, message rendered with plain strings, properties. */
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
  return `{"@timestamp":"${new Date(record.timestamp).toISOString()}","level":"${record.level}",` +
    `"logger":"${record.category.join(".")}","message":${JSON.stringify(message)},` +
    `"properties":${JSON.stringify(properties)}}\n`;
}

/** Configures LogTape once for the whole process (replacing an earlier configuration). */
export function setupLogging(options: LoggingOptions): void {
  const formatter = options.format === "json" ? jsonLine : getTextFormatter({
    timestamp: "date-time-timezone",
    value: (v, inspect) => (typeof v === "string" ? v : inspect(v)),
  });
  resetSync();
  configureSync({
    sinks: { main: writerSink(options.output, formatter, options.write) },
    loggers: [
      { category: ["gateway"], lowestLevel: options.level ?? "info", sinks: ["main"] },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["main"] },
    ],
  });
}
