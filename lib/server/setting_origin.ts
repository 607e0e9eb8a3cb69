// Where each server setting came from: a flag, an environment variable, a config-file field or the
// built-in default (precedence in that order), carried with the value so that an error names the
// origin of the bad value directly: `--port: …`, `HTTP_PORT: …`, `Config file PATH: streams[0].ttl: …`.
import { ConfigError } from "../common/errors.ts";
import { parseIntegerFlag } from "../common/flags.ts";

/** Where a value came from. */
export type Origin =
  | { readonly kind: "flag"; readonly name: string }
  | { readonly kind: "env"; readonly name: string }
  | { readonly kind: "file"; readonly path: string; readonly name: string }
  | { readonly kind: "default"; readonly name: string };

/** A value and where it came from. */
export interface Sourced<T> {
  readonly value: T;
  readonly origin: Origin;
}

/**
 * The `field` of a ConfigError about the value: the flag (`--port`), the variable (`HTTP_PORT`), the
 * config file's JSON path (`streams[0].ttl`), or the setting's name for a default.
 */
export function originField(origin: Origin): string {
  return origin.name;
}

/** How a message names the origin: the flag or variable, `Config file PATH: FIELD`, or the name. */
export function originLabel(origin: Origin): string {
  return origin.kind === "file" ? `Config file ${origin.path}: ${origin.name}` : origin.name;
}

/** A ConfigError about the value from `origin`: `LABEL: problem`. */
export function invalidAt(origin: Origin, problem: string): ConfigError {
  return new ConfigError(originField(origin), `${originLabel(origin)}: ${problem}`);
}

/** `value` from the config file `path` at JSON path `name`. */
export function fromFile<T>(value: T, path: string, name: string): Sourced<T> {
  return { value, origin: { kind: "file", path, name } };
}

/** The built-in default `value` of the setting `name`. */
export function byDefault<T>(value: T, name: string): Sourced<T> {
  return { value, origin: { kind: "default", name } };
}

/**
 * The command line's value of `--flag` if given, else the non-empty value of the environment
 * variable `variable`, else undefined.
 */
export function flagOrEnv(
  flags: Readonly<Record<string, unknown>>,
  env: (name: string) => string | undefined,
  flag: string,
  variable?: string,
): Sourced<string> | undefined {
  const text = flags[flag];
  if (typeof text === "string") return { value: text, origin: { kind: "flag", name: `--${flag}` } };
  if (variable === undefined) return undefined;
  const fromEnv = env(variable);
  if (fromEnv === undefined || fromEnv === "") return undefined;
  return { value: fromEnv, origin: { kind: "env", name: variable } };
}

/**
 * An integer in [min, max]: text from a flag or variable is parsed (decimal or 0x hex), a config
 * file's or default value must already be an integer. Throws ConfigError naming the origin.
 */
export function integerSetting(setting: Sourced<unknown>, min: number, max: number): number {
  const { value, origin } = setting;
  if (origin.kind === "flag" || origin.kind === "env") {
    return parseIntegerFlag(String(value), origin.name, min, max);
  }
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw invalidAt(
      origin,
      `expected an integer from ${min} to ${max}, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}
