// ETSI TR 101 290 V1.4.1 §5.2.1 (priority 1) and §5.2.2 (priority 2) measurement limits: each
// threshold as a named constant citing its indicator, the configurable repetition limits, and the
// table of indicators with their JSON keys (for the README, the health line and the client).

import { ConfigError } from "../common/errors.ts";

/** Thresholds of the indicators (TR 101 290 §5.2.1, §5.2.2; ISO/IEC 13818-1 where it sets them). */
export const TR101290 = {
  /**
   * 1.1 TS_sync_loss hysteresis (note of 1.1, after ISO/IEC 13818-1 Annex G.1): sync is acquired
   * after this many consecutive correct sync bytes...
   */
  SYNC_ACQUIRE_PACKETS: 5,
  /** ...and lost after this many consecutive corrupted sync bytes. */
  SYNC_LOSS_PACKETS: 2,
  /** 1.3 PAT_error: sections with table_id 0x00 on PID 0 at least every 0.5 s. */
  PAT_INTERVAL_MS: 500,
  /** 1.5 PMT_error: each PMT named by the PAT at least every 0.5 s. */
  PMT_INTERVAL_MS: 500,
  /** 1.6 PID_error: "a user specified period"; 5 s is the common default (and this project's). */
  PID_INTERVAL_MS: 5_000,
  /**
   * 2.3a PCR_repetition_error: at most 100 ms between PCRs, the limit of ISO/IEC 13818-1 §2.7.2
   * quoted by TR 101 290 V1.4.1; DVB (ETSI TS 101 154) asks 40 ms, `--pcr-interval-ms 40`.
   */
  PCR_INTERVAL_MS: 100,
  /** 2.3b PCR_discontinuity_indicator_error: PCR(i+1) − PCR(i) outside 0...100 ms, unflagged. */
  PCR_DISCONTINUITY_MS: 100,
  /** 2.4 PCR_accuracy_error: ±500 ns; not measurable without hardware timestamps (see README). */
  PCR_ACCURACY_NS: 500,
  /** 2.5 PTS_error: at most 700 ms between PTS of each video or audio PID. */
  PTS_INTERVAL_MS: 700,
  /**
   * 1.4 Continuity_count_error: a packet may occur twice (ISO/IEC 13818-1 §2.4.3.3: one
   * duplicate); a third consecutive copy is an error.
   */
  MAX_PACKET_OCCURRENCES: 2,
} as const;

/** The limits an analyser measures against; every one configurable (all in milliseconds). */
export interface Tr101290Limits {
  /** 1.3 (default 500). */
  readonly patIntervalMs: number;
  /** 1.5 (default 500). */
  readonly pmtIntervalMs: number;
  /** 1.6 (default 5000). */
  readonly pidIntervalMs: number;
  /** 2.3a (default 100; 40 for DVB). */
  readonly pcrIntervalMs: number;
  /** 2.3b (default 100). */
  readonly pcrDiscontinuityMs: number;
  /** 2.5 (default 700). */
  readonly ptsIntervalMs: number;
}

/** The defaults of {@link Tr101290Limits}. */
export const DEFAULT_LIMITS: Tr101290Limits = {
  patIntervalMs: TR101290.PAT_INTERVAL_MS,
  pmtIntervalMs: TR101290.PMT_INTERVAL_MS,
  pidIntervalMs: TR101290.PID_INTERVAL_MS,
  pcrIntervalMs: TR101290.PCR_INTERVAL_MS,
  pcrDiscontinuityMs: TR101290.PCR_DISCONTINUITY_MS,
  ptsIntervalMs: TR101290.PTS_INTERVAL_MS,
};

/** Accepted limits: 1 ms to one hour. */
const MIN_LIMIT_MS = 1;
const MAX_LIMIT_MS = 3_600_000;

/**
 * The limits with defaults filled in. Throws ConfigError naming the field when one is not a
 * number of milliseconds in [1, 3 600 000].
 */
export function resolveLimits(limits: Partial<Tr101290Limits> = {}): Tr101290Limits {
  const resolved = { ...DEFAULT_LIMITS };
  for (const key of Object.keys(DEFAULT_LIMITS) as (keyof Tr101290Limits)[]) {
    const value = limits[key];
    if (value === undefined) continue;
    if (
      typeof value !== "number" || !Number.isFinite(value) || value < MIN_LIMIT_MS ||
      value > MAX_LIMIT_MS
    ) {
      throw new ConfigError(
        key,
        `${key} must be milliseconds in [${MIN_LIMIT_MS}, ${MAX_LIMIT_MS}], got ${value}`,
      );
    }
    resolved[key] = value;
  }
  return resolved;
}

/** The counted TR 101 290 indicators: JSON key, section number, the standard's name. */
export const TR101290_INDICATORS = [
  { key: "syncLosses", id: "1.1", name: "TS_sync_loss", priority: 1, short: "sync loss" },
  { key: "syncByteErrors", id: "1.2", name: "Sync_byte_error", priority: 1, short: "sync byte" },
  { key: "patErrors", id: "1.3", name: "PAT_error", priority: 1, short: "PAT" },
  { key: "ccErrors", id: "1.4", name: "Continuity_count_error", priority: 1, short: "CC" },
  { key: "pmtErrors", id: "1.5", name: "PMT_error", priority: 1, short: "PMT" },
  { key: "pidErrors", id: "1.6", name: "PID_error", priority: 1, short: "PID" },
  { key: "transportErrors", id: "2.1", name: "Transport_error", priority: 2, short: "TEI" },
  { key: "crcErrors", id: "2.2", name: "CRC_error", priority: 2, short: "CRC" },
  {
    key: "pcrRepetitionErrors",
    id: "2.3a",
    name: "PCR_repetition_error",
    priority: 2,
    short: "PCR repetition",
  },
  {
    key: "pcrDiscontinuityErrors",
    id: "2.3b",
    name: "PCR_discontinuity_indicator_error",
    priority: 2,
    short: "PCR discontinuity",
  },
  { key: "ptsErrors", id: "2.5", name: "PTS_error", priority: 2, short: "PTS" },
] as const;

/** JSON key of a counted indicator. */
export type IndicatorKey = typeof TR101290_INDICATORS[number]["key"];
