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
}

function writerSink(output: "stdout" | "stderr", format: (record: LogRecord) => string): Sink {
  const encoder = new TextEncoder();
  const target = output === "stdout" ? Deno.stdout : Deno.stderr;
  return (record) => {
    try {
      const bytes = encoder.encode(format(record));
      let written = 0;
      while (written < bytes.length) written += target.writeSync(bytes.subarray(written));
    } catch {
      // A closed pipe must not take the program down because of a log line.
    }
  };
}

function plain(value: unknown): string {
  if (typeof value === "string") return value;
  if (value instanceof Error) return value.message;
  return JSON.stringify(value) ?? String(value);
}

/** One JSON object per record: timestamp, level, logger, message rendered with plain strings, properties. */
function jsonLine(record: LogRecord): string {
  const message = record.message.map((part, i) => (i % 2 === 0 ? part : plain(part))).join("");
  const properties = Object.fromEntries(
    Object.entries(record.properties).map(([k, v]) => [k, v instanceof Error ? v.message : v]),
  );
  return JSON.stringify({
    "@timestamp": new Date(record.timestamp).toISOString(),
    level: record.level,
    logger: record.category.join("."),
    message,
    properties,
  }) + "\n";
}

/** Configures LogTape once for the whole process (replacing an earlier configuration). */
export function setupLogging(options: LoggingOptions): void {
  const formatter = options.format === "json" ? jsonLine : getTextFormatter({
    timestamp: "date-time-timezone",
    value: (v, inspect) => (typeof v === "string" ? v : inspect(v)),
  });
  resetSync();
  configureSync({
    sinks: { main: writerSink(options.output, formatter) },
    loggers: [
      { category: ["gateway"], lowestLevel: options.level ?? "info", sinks: ["main"] },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["main"] },
    ],
  });
}
