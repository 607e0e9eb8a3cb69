// What one access line costs on the request's path, in µs: LogTape's logger with the server's
// formatter (the earlier design), the fixed layout built as a string, and the fixed layout written
// as bytes into the log's buffer (the server's), each into a LogWriter on /dev/null, interleaved.
// Run: deno run --allow-read=/dev/null --allow-write=/dev/null scripts/bench/access_log_bench.ts
//      [-- --lines 100000 --rounds 3]   (about 10 s)
import { configureSync, resetSync, type Sink } from "@logtape/logtape";
import { exitCodeFor, parseFlags, parseIntegerFlag } from "../../lib/common/flags.ts";
import { LogWriter } from "../../lib/common/log_writer.ts";
import { type LogFormat, recordFormatter } from "../../lib/common/logging.ts";
import { type AccessLog, FixedAccessLog, logTapeAccessLog } from "../../lib/server/access_log.ts";
import { median } from "./figures.ts";

/** The ways an access line can be written. */
const WAYS = ["logtape", "fixed-string", "fixed-bytes"] as const;
type Way = typeof WAYS[number];

function accessLogFor(way: Way, format: LogFormat, writer: LogWriter): AccessLog {
  if (way === "fixed-bytes") return new FixedAccessLog({ format, writer });
  if (way === "fixed-string") {
    return new FixedAccessLog({ format, write: (line) => writer.write(line) });
  }
  const formatter = recordFormatter(format);
  const sink: Sink = (record) => writer.write(formatter(record));
  configureSync({
    reset: true,
    sinks: { main: sink },
    loggers: [
      { category: ["gateway"], lowestLevel: "info", sinks: ["main"] },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: [] },
    ],
  });
  return logTapeAccessLog();
}

/** µs per line of `lines` lines written `way` in `format`. */
function measure(way: Way, format: LogFormat, lines: number, target: Deno.FsFile): number {
  using writer = new LogWriter({ target });
  const log = accessLogFor(way, format, writer);
  const started = performance.now();
  for (let i = 0; i < lines; i++) log.record("POST", "/offer", 200, (i % 1000) / 100);
  writer.flush();
  const us = (performance.now() - started) * 1000 / lines;
  if (way === "logtape") resetSync();
  return us;
}

/** `--help` text. */
export const ACCESS_LOG_BENCH_USAGE = `access_log_bench: what one access line costs, three ways.

Usage: deno run --allow-read=/dev/null --allow-write=/dev/null scripts/bench/access_log_bench.ts
       [-- options]
  --lines N    Lines written per measurement (default 100000)
  --rounds N   Interleaved rounds; the median is printed (default 3)
  -h, --help   Show this help and exit
`;

/** Runs the comparison; returns the exit code (2 on a usage error). */
export function main(args: string[]): number {
  let lines;
  let rounds;
  try {
    const values = parseFlags(args, {
      lines: { type: "string", default: "100000" },
      rounds: { type: "string", default: "3" },
      help: { type: "boolean", short: "h" },
    });
    if (values.help) {
      console.log(ACCESS_LOG_BENCH_USAGE);
      return 0;
    }
    lines = parseIntegerFlag(values.lines, "--lines", 1000, 10_000_000);
    rounds = parseIntegerFlag(values.rounds, "--rounds", 1, 20);
  } catch (error) {
    return exitCodeFor("access_log_bench", error);
  }
  using target = Deno.openSync("/dev/null", { write: true });
  for (const format of ["json", "text"] as const) {
    const results = new Map<Way, number[]>(WAYS.map((way) => [way, []]));
    for (let round = 0; round < rounds; round++) {
      for (const way of WAYS) results.get(way)!.push(measure(way, format, lines, target));
    }
    for (const way of WAYS) {
      const us = results.get(way)!;
      console.log(
        `${format} ${way.padEnd(12)} ${median(us).toFixed(2)} µs/line (median of ${rounds}: ${
          Math.min(...us).toFixed(2)
        }-${Math.max(...us).toFixed(2)})`,
      );
    }
  }
  return 0;
}

if (import.meta.main) Deno.exit(main(Deno.args));
