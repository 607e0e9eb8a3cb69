// The test source's flags for ETSI TR 101 290 faults in its transport stream (lib/source/ts_faults.ts):
// continuity skips, transport errors, bad CRCs, withheld PAT/PMT/audio, PCR gaps and jumps, each
// as AT_MS:... fields, parsed into TsFaultOptions with a ConfigError naming the flag.
import { ConfigError } from "../../lib/common/errors.ts";
import type {
  PcrJumpFault,
  RepeatedFault,
  TsFaultOptions,
  WindowFault,
} from "../../lib/source/ts_faults.ts";

/** node:util parseArgs options of the fault flags. */
export const TS_FAULT_FLAGS = {
  "cc-skips": { type: "string" },
  "transport-errors": { type: "string" },
  "crc-errors": { type: "string" },
  "pat-gap": { type: "string", multiple: true },
  "pmt-gap": { type: "string", multiple: true },
  "pcr-gap": { type: "string", multiple: true },
  "audio-gap": { type: "string", multiple: true },
  "pcr-jump": { type: "string", multiple: true },
} as const;

/** `--help` lines of the fault flags (times in ms of the muxer's schedule). */
export const TS_FAULT_USAGE =
  `  --cc-skips AT:N[:EVERY]   Skip a continuity counter on the audio PID N times (1.4), from AT
                      ms, EVERY ms apart (default 100)
  --transport-errors AT:N[:EVERY]  Set transport_error_indicator on N audio packets (2.1)
  --crc-errors AT:N[:EVERY[:pat|pmt|sdt]]  Corrupt N section CRCs (2.2; default the PAT)
  --pat-gap AT:MS     Withhold the PAT for MS ms (1.3); repeatable; --pmt-gap likewise (1.5)
  --pcr-gap AT:MS     Send no PCR for MS ms (2.3a); repeatable
  --audio-gap AT:MS   Send nothing on the audio PID for MS ms (1.6, 2.5); repeatable
  --pcr-jump AT:MS[:flagged]  From AT on, PCRs MS ms off (2.3b unless flagged); repeatable`;

/** The values of {@link TS_FAULT_FLAGS} as parseArgs returns them. */
export interface TsFaultFlagValues {
  readonly "cc-skips"?: string;
  readonly "transport-errors"?: string;
  readonly "crc-errors"?: string;
  readonly "pat-gap"?: string[];
  readonly "pmt-gap"?: string[];
  readonly "pcr-gap"?: string[];
  readonly "audio-gap"?: string[];
  readonly "pcr-jump"?: string[];
}

function fields(text: string, flag: string, min: number, max: number): string[] {
  const parts = text.trim().split(":");
  if (parts.length < min || parts.length > max || parts.some((p) => p === "")) {
    throw new ConfigError(flag, `${flag}: expected ${usageOf(flag)}, got "${text}"`);
  }
  return parts;
}

function usageOf(flag: string): string {
  return /gap/.test(flag)
    ? "AT_MS:DURATION_MS"
    : flag === "--pcr-jump"
    ? "AT_MS:JUMP_MS[:flagged]"
    : "AT_MS:COUNT[:EVERY_MS]";
}

function number(text: string, flag: string, what: string, integer: boolean, signed = false) {
  const pattern = signed ? /^-?[0-9]+(\.[0-9]+)?$/ : /^[0-9]+(\.[0-9]+)?$/;
  const value = pattern.test(text) ? Number(text) : NaN;
  if (!Number.isFinite(value) || (integer && !Number.isSafeInteger(value))) {
    throw new ConfigError(
      flag,
      `${flag}: ${what} must be ${integer ? "an integer" : "ms"}, got "${text}"`,
    );
  }
  return value;
}

function repeated(
  text: string,
  flag: string,
  withTable: boolean,
): RepeatedFault & { table?: "pat" | "pmt" | "sdt" } {
  const [at, count, every, table] = fields(text, flag, 2, withTable ? 4 : 3);
  if (table !== undefined && table !== "pat" && table !== "pmt" && table !== "sdt") {
    throw new ConfigError(flag, `${flag}: the table is pat, pmt or sdt, got "${table}"`);
  }
  return {
    atMs: number(at!, flag, "AT", false),
    count: number(count!, flag, "COUNT", true),
    ...(every === undefined ? {} : { everyMs: number(every, flag, "EVERY", false) }),
    ...(table === undefined ? {} : { table }),
  };
}

function windows(texts: readonly string[] | undefined, flag: string): WindowFault[] | undefined {
  return texts?.map((text) => {
    const [at, duration] = fields(text, flag, 2, 2);
    return {
      atMs: number(at!, flag, "AT", false),
      durationMs: number(duration!, flag, "MS", false),
    };
  });
}

/** Parses the fault flags; throws ConfigError naming the bad one. Empty when none was given. */
export function parseTsFaultFlags(values: TsFaultFlagValues): TsFaultOptions {
  const jumps = values["pcr-jump"]?.map((text): PcrJumpFault => {
    const [at, jump, flagged] = fields(text, "--pcr-jump", 2, 3);
    if (flagged !== undefined && flagged !== "flagged") {
      throw new ConfigError(
        "--pcr-jump",
        `--pcr-jump: the third field is "flagged", got "${flagged}"`,
      );
    }
    return {
      atMs: number(at!, "--pcr-jump", "AT", false),
      jumpMs: number(jump!, "--pcr-jump", "MS", false, true),
      ...(flagged === undefined ? {} : { flagged: true }),
    };
  });
  const faults: TsFaultOptions = {
    ...(values["cc-skips"] === undefined
      ? {}
      : { ccSkips: repeated(values["cc-skips"], "--cc-skips", false) }),
    ...(values["transport-errors"] === undefined
      ? {}
      : { transportErrors: repeated(values["transport-errors"], "--transport-errors", false) }),
    ...(values["crc-errors"] === undefined
      ? {}
      : { crcErrors: repeated(values["crc-errors"], "--crc-errors", true) }),
    ...(values["pat-gap"] === undefined
      ? {}
      : { patGaps: windows(values["pat-gap"], "--pat-gap") }),
    ...(values["pmt-gap"] === undefined
      ? {}
      : { pmtGaps: windows(values["pmt-gap"], "--pmt-gap") }),
    ...(values["pcr-gap"] === undefined
      ? {}
      : { pcrGaps: windows(values["pcr-gap"], "--pcr-gap") }),
    ...(values["audio-gap"] === undefined
      ? {}
      : { audioGaps: windows(values["audio-gap"], "--audio-gap") }),
    ...(jumps === undefined ? {} : { pcrJumps: jumps }),
  };
  return faults;
}
