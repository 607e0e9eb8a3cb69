// Parsers for numeric command-line flag and environment values, shared by the programs and scripts:
// each names the flag (or variable) in the ConfigError it throws, so every program reports bad input
// the same way.
import { parseArgs, type ParseArgsOptionsConfig } from "node:util";
import { ConfigError, MulticastError } from "./errors.ts";

/** Parses a non-negative integer flag (decimal, or hex with 0x); throws ConfigError naming `flag`. */
export function parseIntegerFlag(text: string, flag: string, min: number, max: number): number {
  const trimmed = text.trim();
  const value = /^(?:[0-9]+|0x[0-9a-f]+)$/i.test(trimmed) ? Number(trimmed) : NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new ConfigError(
      flag,
      `${flag}: expected an integer from ${min} to ${max}, got "${text}"`,
    );
  }
  return value;
}

/** Parses a probability flag, a decimal number from 0 to 1; throws ConfigError naming `flag`. */
export function parseProbabilityFlag(text: string, flag: string): number {
  const trimmed = text.trim();
  const value = /^(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$/.test(trimmed) ? Number(trimmed) : NaN;
  if (!(value >= 0 && value <= 1)) {
    throw new ConfigError(flag, `${flag}: expected a probability from 0 to 1, got "${text}"`);
  }
  return value;
}

/** Parses a duration flag in seconds (decimal, > 0); throws ConfigError naming `flag`. */
export function parseSecondsFlag(text: string, flag: string): number {
  const trimmed = text.trim();
  const value = /^(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$/.test(trimmed) ? Number(trimmed) : NaN;
  if (!(value > 0 && Number.isFinite(value))) {
    throw new ConfigError(flag, `${flag}: expected seconds greater than 0, got "${text}"`);
  }
  return value;
}

/**
 * node:util parseArgs in strict mode without positionals; its errors (unknown flag, missing value)
 * become a ConfigError on `args` that points to --help. A leading `--` is dropped: Deno 2.9's
 * `deno task X -- ARGS` passes it through to the program.
 */
export function parseFlags<const T extends ParseArgsOptionsConfig>(args: string[], options: T) {
  try {
    return parseArgs({
      args: withoutTaskSeparator(args),
      options,
      strict: true,
      allowPositionals: false,
    })
      .values;
  } catch (error) {
    throw new ConfigError("args", `${(error as Error).message} (see --help)`, { cause: error });
  }
}

/** `args` without the `--` that `deno task X -- ARGS` puts in front of them (Deno 2.9). */
export function withoutTaskSeparator(args: readonly string[]): string[] {
  return args[0] === "--" ? args.slice(1) : [...args];
}

/**
 * The exit code for an expected failure, after one `program: message` line on stderr: 2 for a
 * ConfigError (usage or configuration), 1 for a MulticastError (a socket could not be used).
 * Anything else is a bug and is rethrown.
 */
export function exitCodeFor(program: string, error: unknown): number {
  if (error instanceof ConfigError || error instanceof MulticastError) {
    console.error(`${program}: ${error.message}`);
    return error instanceof ConfigError ? 2 : 1;
  }
  throw error;
}
