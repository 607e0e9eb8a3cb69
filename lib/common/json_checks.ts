// Checks for values read from JSON (config files, request bodies): each throws a ConfigError that
// names the JSON path of the bad value, so every caller reports bad input the same way.
import { ConfigError } from "./errors.ts";

/** Throws ConfigError unless `value` is an integer within [min, max]. */
export function checkInteger(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(
      field,
      `${field}: expected an integer from ${min} to ${max}, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

/** Throws ConfigError unless `value` is a string; returns it. */
export function checkString(value: unknown, field: string): string {
  if (typeof value !== "string") {
    throw new ConfigError(field, `${field}: expected a string, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** Throws ConfigError naming the first key of `raw` that `allowed` does not hold. */
export function checkKeys(raw: Record<string, unknown>, allowed: Set<string>, field: string): void {
  for (const key of Object.keys(raw)) {
    if (!allowed.has(key)) {
      throw new ConfigError(
        `${field}.${key}`,
        `${field}.${key}: unknown field (allowed: ${[...allowed].join(", ")})`,
      );
    }
  }
}

/** True for a plain JSON object (not null, not an array). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
