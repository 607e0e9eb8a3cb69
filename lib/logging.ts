// Logging set-up with LogTape: human text or JSON lines, written synchronously to stdout (server) or
// stderr (client, whose stdout carries data). Library modules log under the "gateway" category.
import {
  configureSync,
  getJsonLinesFormatter,
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

/** Configures LogTape once for the whole process (replacing an earlier configuration). */
export function setupLogging(options: LoggingOptions): void {
  const formatter = options.format === "json"
    ? getJsonLinesFormatter()
    : getTextFormatter({
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
