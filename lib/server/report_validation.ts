// Validation of receiver reports (lib/common/receiver_report.ts) arriving from the network: a JSON
// object of bounded size whose known keys have the right types, numbers finite and in range, strings
// bounded, well-formed and free of control characters. Unknown keys are ignored and never stored.
import { decodeUtf8 } from "../common/utf8.ts";
import { RECEIVER_ID_PATTERN, REPORT_LIMITS } from "../common/receiver_report.ts";
import { isRecord } from "../common/json_checks.ts";

/** A report that cannot be accepted; `field` is the JSON path of the bad value. */
export class ReportError extends SyntaxError {
  override name = "ReportError";
  /** JSON path of the offending value, e.g. `records[2].lost`, or "" for the whole body. */
  readonly field: string;
  constructor(field: string, message: string) {
    super(message);
    this.field = field;
  }
}

/** Reception states a record may carry (the client's ReceptionState). */
export const REPORT_STATES = ["waiting", "receiving", "stalled"] as const;
/** A reported reception state. */
export type ReportState = typeof REPORT_STATES[number];

/** Counters of a record's `ts` object (issue 12's keys); all integers. */
export const TS_COUNTER_KEYS = [
  "packets",
  "syncLosses",
  "syncByteErrors",
  "patErrors",
  "ccErrors",
  "ccErrorsWithoutRtpLoss",
  "pmtErrors",
  "pidErrors",
  "transportErrors",
  "crcErrors",
  "pcrRepetitionErrors",
  "pcrDiscontinuityErrors",
  "ptsErrors",
  "nullPackets",
] as const;
/** One counter of the `ts` object. */
export type TsCounterKey = typeof TS_COUNTER_KEYS[number];

/** One entry of `ts.pids`. */
export interface ReportedPid {
  readonly pid: number;
  readonly role: string | null;
  readonly streamType: number | string | null;
  readonly packets: number;
  readonly bitrateBps: number;
  readonly ccErrors: number;
  readonly scrambled: boolean;
}

/** One entry of `ts.services`. */
export interface ReportedService {
  readonly number: number;
  readonly pmtPid: number | null;
  readonly pcrPid: number | null;
  readonly name: string | null;
  readonly provider: string | null;
}

/** A validated `ts` object: its counters (0 when absent), PIDs and services. */
export type ReportedTs = Readonly<Record<TsCounterKey, number>> & {
  readonly pids: readonly ReportedPid[];
  readonly services: readonly ReportedService[];
};

/** The figures the server keeps of one validated record. */
export interface ReportedRecord {
  readonly time: string;
  readonly ssrc: number | null;
  readonly state: ReportState | null;
  readonly packets: number;
  readonly expected: number;
  readonly lost: number;
  readonly duplicates: number;
  readonly reordered: number;
  readonly jitterMs: number;
  readonly bitrateBps: number;
  readonly stalls: number;
  readonly stalledS: number;
  readonly durationS: number;
  readonly ts: ReportedTs | undefined;
}

/** A validated report. */
export interface ValidReport {
  readonly receiverId: string;
  readonly records: readonly ReportedRecord[];
  readonly summary: readonly ReportedRecord[];
}

const COUNT_MAX = Number.MAX_SAFE_INTEGER;
// deno-lint-ignore no-control-regex
const FORBIDDEN_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

function fail(field: string, message: string): never {
  throw new ReportError(field, `${field}: ${message}`);
}

function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 40)}...` : text;
}

function integer(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    fail(field, `expected an integer from ${min} to ${max}, got ${shown(value)}`);
  }
  return value;
}

function finite(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < min || value > max) {
    fail(field, `expected a number from ${min} to ${max}, got ${shown(value)}`);
  }
  return value;
}

function text(value: unknown, field: string): string {
  if (typeof value !== "string") fail(field, `expected a string, got ${shown(value)}`);
  if (value.length > REPORT_LIMITS.MAX_STRING_LENGTH) {
    fail(field, `longer than ${REPORT_LIMITS.MAX_STRING_LENGTH} characters`);
  }
  if (!value.isWellFormed() || FORBIDDEN_CHARACTERS.test(value)) {
    fail(field, "contains control characters or broken Unicode");
  }
  return value;
}

function bool(value: unknown, field: string): boolean {
  if (typeof value !== "boolean") fail(field, `expected true or false, got ${shown(value)}`);
  return value;
}

function oneOf<T extends string>(value: unknown, field: string, allowed: readonly T[]): T {
  if (!allowed.includes(value as T)) {
    fail(field, `expected one of ${allowed.join(", ")}, got ${shown(value)}`);
  }
  return value as T;
}

function orNull<T>(value: unknown, check: (v: unknown) => T): T | null {
  return value === null || value === undefined ? null : check(value);
}

function list(value: unknown, field: string, max: number): unknown[] {
  if (!Array.isArray(value)) fail(field, `expected an array, got ${shown(value)}`);
  if (value.length > max) fail(field, `more than ${max} entries`);
  return value;
}

function object(value: unknown, field: string): Record<string, unknown> {
  if (!isRecord(value)) fail(field, `expected a JSON object, got ${shown(value)}`);
  return value;
}

function pidOf(raw: unknown, field: string): ReportedPid {
  const p = object(raw, field);
  return {
    pid: integer(p.pid, `${field}.pid`, 0, 0x1fff),
    role: orNull(p.role, (v) => text(v, `${field}.role`)),
    streamType: orNull(
      p.streamType,
      (v) =>
        typeof v === "string"
          ? text(v, `${field}.streamType`)
          : integer(v, `${field}.streamType`, 0, 255),
    ),
    packets: integer(p.packets ?? 0, `${field}.packets`, 0, COUNT_MAX),
    bitrateBps: finite(p.bitrateBps ?? 0, `${field}.bitrateBps`, 0, 1e12),
    ccErrors: integer(p.ccErrors ?? 0, `${field}.ccErrors`, 0, COUNT_MAX),
    scrambled: p.scrambled === undefined ? false : bool(p.scrambled, `${field}.scrambled`),
  };
}

function serviceOf(raw: unknown, field: string): ReportedService {
  const s = object(raw, field);
  return {
    number: integer(s.number, `${field}.number`, 0, 0xffff),
    pmtPid: orNull(s.pmtPid, (v) => integer(v, `${field}.pmtPid`, 0, 0x1fff)),
    pcrPid: orNull(s.pcrPid, (v) => integer(v, `${field}.pcrPid`, 0, 0x1fff)),
    name: orNull(s.name, (v) => text(v, `${field}.name`)),
    provider: orNull(s.provider, (v) => text(v, `${field}.provider`)),
  };
}

function tsOf(raw: unknown, field: string): ReportedTs {
  const ts = object(raw, field);
  const counters = {} as Record<TsCounterKey, number>;
  for (const key of TS_COUNTER_KEYS) {
    counters[key] = integer(ts[key] ?? 0, `${field}.${key}`, 0, COUNT_MAX);
  }
  const pids = list(ts.pids ?? [], `${field}.pids`, REPORT_LIMITS.MAX_PIDS)
    .map((p, i) => pidOf(p, `${field}.pids[${i}]`));
  const services = list(ts.services ?? [], `${field}.services`, REPORT_LIMITS.MAX_SERVICES)
    .map((s, i) => serviceOf(s, `${field}.services[${i}]`));
  return { ...counters, pids, services };
}

/** Validates one `stats` or `summary` record, keeping only the figures the server uses. */
function recordOf(raw: unknown, field: string, type: "stats" | "summary"): ReportedRecord {
  const r = object(raw, field);
  oneOf(r.type, `${field}.type`, [type]);
  const count = (key: string) => integer(r[key] ?? 0, `${field}.${key}`, 0, COUNT_MAX);
  // Keys the server does not keep are still checked, so a report is valid or not as a whole.
  if (r.group !== undefined) text(r.group, `${field}.group`);
  if (r.port !== undefined) integer(r.port, `${field}.port`, 0, 65535);
  if (r.payloadType !== undefined) {
    orNull(r.payloadType, (v) => integer(v, `${field}.payloadType`, 0, 127));
  }
  if (r.transport !== undefined) oneOf(r.transport, `${field}.transport`, ["rtp", "udp"]);
  if (r.stream !== undefined) text(r.stream, `${field}.stream`);
  if (r.packetsPerSecond !== undefined) {
    finite(r.packetsPerSecond, `${field}.packetsPerSecond`, 0, 1e9);
  }
  if (r.fractionLost !== undefined) finite(r.fractionLost, `${field}.fractionLost`, 0, 1);
  for (const key of ["bytes", "invalid", "filtered", "unexpectedPayloadType", "restarts"]) {
    count(key);
  }
  return {
    time: r.time === undefined ? "" : text(r.time, `${field}.time`),
    ssrc: orNull(r.ssrc, (v) => integer(v, `${field}.ssrc`, 0, 0xffffffff)),
    state: orNull(r.state, (v) => oneOf(v, `${field}.state`, REPORT_STATES)),
    packets: count("packets"),
    expected: count("expected"),
    lost: count("lost"),
    duplicates: count("duplicates"),
    reordered: count("reordered"),
    jitterMs: finite(r.jitterMs ?? 0, `${field}.jitterMs`, 0, 1e9),
    bitrateBps: finite(r.bitrateBps ?? 0, `${field}.bitrateBps`, 0, 1e12),
    stalls: count("stalls"),
    stalledS: finite(r.stalledS ?? 0, `${field}.stalledS`, 0, 1e10),
    durationS: finite(r.durationS ?? 0, `${field}.durationS`, 0, 1e10),
    ts: r.ts === undefined || r.ts === null ? undefined : tsOf(r.ts, `${field}.ts`),
  };
}

/**
 * Parses and validates a report body for `stream`. Throws ReportError naming the first bad value:
 * not UTF-8, not JSON, not an object, a bad receiver id, a `stream` other than the path's, too many
 * records, or a known key with a wrong type or out of range.
 */
export function parseReport(bytes: Uint8Array, stream: string): ValidReport {
  let json: unknown;
  try {
    json = JSON.parse(decodeUtf8(bytes));
  } catch (error) {
    throw new ReportError("", `Report is not valid UTF-8 JSON: ${(error as Error).message}`);
  }
  const body = object(json, "report");
  if (typeof body.receiverId !== "string" || !RECEIVER_ID_PATTERN.test(body.receiverId)) {
    fail(
      "receiverId",
      `expected 1-64 of letters, digits and ._~:- , got ${shown(body.receiverId)}`,
    );
  }
  if (body.stream !== undefined && body.stream !== stream) {
    fail("stream", `the report is for ${shown(body.stream)} but was posted to "${stream}"`);
  }
  const records = list(body.records, "records", REPORT_LIMITS.MAX_RECORDS)
    .map((r, i) => recordOf(r, `records[${i}]`, "stats"));
  const summary = list(body.summary ?? [], "summary", REPORT_LIMITS.MAX_SUMMARY_RECORDS)
    .map((r, i) => recordOf(r, `summary[${i}]`, "summary"));
  return { receiverId: body.receiverId, records, summary };
}
