// What the test source and the impairment relay share as programs: their impairment and stop flags,
// and the run that parses them, sends until done or SIGINT/SIGTERM, and reports the truth (RFC 3550
// counters) as one JSON line or one summary line, with the exit codes of the programs.
import {
  exitCodeFor,
  parseIntegerFlag,
  parseProbabilityFlag,
  parseSecondsFlag,
} from "../../lib/common/flags.ts";
import { withShutdownSignal } from "../../lib/common/shutdown.ts";

/** node:util parseArgs options of the flags both programs take. */
export const TRUTH_PROGRAM_FLAGS = {
  ttl: { type: "string" },
  interface: { type: "string" },
  packets: { type: "string" },
  duration: { type: "string" },
  loss: { type: "string" },
  duplicate: { type: "string" },
  reorder: { type: "string" },
  seed: { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

/** `--help` lines of the impairment flags, the same in both programs. */
export const IMPAIRMENT_USAGE =
  `  --loss P            Probability 0-1 that a datagram is dropped (default 0)
  --duplicate P       Probability 0-1 that a datagram is sent twice (default 0)
  --reorder P         Probability 0-1 that a datagram is held and sent after the next (default 0)
  --seed N            Seed of the impairment PRNG, 0-4294967295 (default random; reported)`;

/** `--help` lines of the report flag and --help, the same in both programs (they end the list). */
export const REPORT_USAGE =
  `  --json              Print the truth report as one JSON line on stdout at exit
                      (otherwise a summary line on stderr)
  -h, --help          Show this help and exit`;

/** The values of {@link TRUTH_PROGRAM_FLAGS} as parseArgs returns them. */
export interface TruthProgramFlagValues {
  readonly ttl?: string;
  readonly interface?: string;
  readonly packets?: string;
  readonly duration?: string;
  readonly loss?: string;
  readonly duplicate?: string;
  readonly reorder?: string;
  readonly seed?: string;
}

/** The shared flags parsed: undefined where a flag was not given. */
export interface TruthProgramOptions {
  readonly ttl: number | undefined;
  readonly interfaceAddress: string | undefined;
  /** --packets and --duration, as the source's and relay's options name them. */
  readonly limits: { readonly packets: number | undefined; readonly durationS: number | undefined };
  /** --loss, --duplicate, --reorder and --seed, as the source's and relay's options name them. */
  readonly impairment: {
    readonly loss: number | undefined;
    readonly duplicate: number | undefined;
    readonly reorder: number | undefined;
    readonly seed: number | undefined;
  };
}

/** `parse(text)` when the flag was given, else undefined. */
export function optionalFlag<T>(
  text: string | undefined,
  parse: (text: string) => T,
): T | undefined {
  return text === undefined ? undefined : parse(text);
}

/** Parses the shared flags; throws ConfigError naming the bad one. */
export function parseTruthProgramFlags(values: TruthProgramFlagValues): TruthProgramOptions {
  return {
    ttl: optionalFlag(values.ttl, (t) => parseIntegerFlag(t, "--ttl", 0, 255)),
    interfaceAddress: values.interface,
    limits: {
      packets: optionalFlag(
        values.packets,
        (t) => parseIntegerFlag(t, "--packets", 1, Number.MAX_SAFE_INTEGER),
      ),
      durationS: optionalFlag(values.duration, (t) => parseSecondsFlag(t, "--duration")),
    },
    impairment: {
      loss: optionalFlag(values.loss, (t) => parseProbabilityFlag(t, "--loss")),
      duplicate: optionalFlag(values.duplicate, (t) => parseProbabilityFlag(t, "--duplicate")),
      reorder: optionalFlag(values.reorder, (t) => parseProbabilityFlag(t, "--reorder")),
      seed: optionalFlag(values.seed, (t) => parseIntegerFlag(t, "--seed", 0, 0xffff_ffff)),
    },
  };
}

/** `GROUP:PORT`, with an IPv6 group in brackets. */
export function endpointText(endpoint: { readonly group: string; readonly port: number }): string {
  const group = endpoint.group.includes(":") ? `[${endpoint.group}]` : endpoint.group;
  return `${group}:${endpoint.port}`;
}

/** A parsed command line: show the help, or run with options. */
export type TruthCommand<Options> =
  | { readonly kind: "help" }
  | { readonly kind: "run"; readonly options: Options; readonly json: boolean };

/** What differs between the programs that {@link runTruthProgram} runs. */
export interface TruthProgram<Options, Truth> {
  /** Prefix of its stderr lines, e.g. `rtp-source`. */
  readonly name: string;
  readonly usage: string;
  /** Parses the command line; throws ConfigError. */
  readonly parse: (args: string[]) => TruthCommand<Options>;
  /** Sends until done or `signal`; returns the truth. Throws ConfigError or MulticastError. */
  readonly run: (options: Options, signal: AbortSignal, json: boolean) => Promise<Truth>;
  /** One human line for the truth. */
  readonly describe: (truth: Truth) => string;
}

/**
 * Parses `args`, prints the help or runs the program until done or SIGINT/SIGTERM, then prints the
 * truth (JSON on stdout with --json, else a line on stderr). Returns the exit code: 0 when done or
 * stopped by a signal, 1 when a socket cannot be used, 2 on a usage error.
 */
export async function runTruthProgram<Options, Truth>(
  program: TruthProgram<Options, Truth>,
  args: string[],
): Promise<number> {
  let command: TruthCommand<Options>;
  try {
    command = program.parse(args);
  } catch (error) {
    return exitCodeFor(program.name, error);
  }
  if (command.kind === "help") {
    console.log(program.usage);
    return 0;
  }
  try {
    const { options, json } = command;
    const truth = await withShutdownSignal((signal) => program.run(options, signal, json));
    if (json) console.log(JSON.stringify(truth));
    else console.error(program.describe(truth));
    return 0;
  } catch (error) {
    return exitCodeFor(program.name, error);
  }
}
