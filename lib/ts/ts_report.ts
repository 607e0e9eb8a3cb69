// The figures a TsAnalyser reports (ETSI TR 101 290 §5.2.1/§5.2.2 counts, the programme map, PCR
// drift as information): counter indexes, the snapshot's JSON shape (the keys the client prints)
// and how a snapshot is built from the analyser's arrays.

import { TS } from "./constants.ts";
import type { PcrDrift } from "./pcr_tracker.ts";
import { PID_FLAG, PID_ROLES, type PidRole, type PidTable } from "./pid_table.ts";
import type { ServiceSnapshot } from "./programme_map.ts";

/** Counter names, in the order of the analyser's counter array. */
const COUNTER_NAMES = [
  "datagrams",
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
  "estimatedLostPackets",
  "partialPackets",
  "malformedPackets",
  "malformedSections",
  "untrackedPackets",
] as const;

/** Index of each counter in the analyser's Float64Array of counters. */
export const COUNTER = Object.fromEntries(COUNTER_NAMES.map((n, i) => [n, i])) as Record<
  typeof COUNTER_NAMES[number],
  number
>;

/** Number of counters. */
export const COUNTER_COUNT = COUNTER_NAMES.length;

/** One PID of the programme map (JSON keys). */
export interface TsPidSnapshot {
  readonly pid: number;
  readonly role: PidRole;
  /** Name of the stream_type (with descriptors for private data); null when not a stream. */
  readonly streamType: string | null;
  /** The stream_type number; null when not a stream. */
  readonly streamTypeId: number | null;
  readonly packets: number;
  /** TS bitrate of this PID over the period, bit/s (188-byte packets). */
  readonly bitrateBps: number;
  readonly ccErrors: number;
  /** The last packet with payload had transport_scrambling_control ≠ 00. */
  readonly scrambled: boolean;
  /** This PID is the PCR_PID of a service. */
  readonly pcr: boolean;
}

/** One service (JSON keys), with its PCR's drift against arrival time (information, not 2.4). */
export interface TsServiceSnapshot extends ServiceSnapshot {
  /** See {@link PcrDrift.driftPpm}. */
  readonly pcrDriftPpm: number | null;
  /** See {@link PcrDrift.jitterMs}. */
  readonly pcrJitterMs: number | null;
}

/**
 * What a TsAnalyser reports, cumulative (snapshot) or per interval (takeInterval). The TR 101 290
 * counts are the keys of TR101290_INDICATORS; the README documents every key.
 */
export interface TsSnapshot {
  /** Whole 188-byte packets received (every slot, bad sync included). */
  readonly packets: number;
  readonly syncLosses: number;
  readonly syncByteErrors: number;
  readonly patErrors: number;
  readonly ccErrors: number;
  /** Continuity errors with no RTP gap in their window (null for raw UDP, which has no RTP). */
  readonly ccErrorsWithoutRtpLoss: number | null;
  readonly pmtErrors: number;
  readonly pidErrors: number;
  readonly transportErrors: number;
  readonly crcErrors: number;
  readonly pcrRepetitionErrors: number;
  readonly pcrDiscontinuityErrors: number;
  readonly ptsErrors: number;
  readonly nullPackets: number;
  /** Packets missing by the continuity counters (a lower bound: counts modulo 16, no null PID). */
  readonly estimatedLostPackets: number;
  /** Datagrams that ended in a partial packet (dropped). */
  readonly partialPackets: number;
  /** Packets with a reserved adaptation_field_control or an adaptation field past the end. */
  readonly malformedPackets: number;
  /** Sections dropped as malformed (length, pointer_field, syntax); CRC errors not included. */
  readonly malformedSections: number;
  /** Packets of PIDs beyond the PID cap (counted in the totals only). */
  readonly untrackedPackets: number;
  /** TS bitrate over the period, bit/s. */
  readonly bitrateBps: number;
  readonly pids: readonly TsPidSnapshot[];
  readonly services: readonly TsServiceSnapshot[];
}

/** What {@link buildTsReport} needs from the analyser. */
export interface TsReportInput {
  /** Counter values for the period, indexed by {@link COUNTER}. */
  readonly counters: Float64Array;
  readonly periodMs: number;
  /** True for an interval (PID figures minus the interval marks). */
  readonly interval: boolean;
  /** Whether the transport is RTP (else ccErrorsWithoutRtpLoss is null). */
  readonly rtp: boolean;
  readonly table: PidTable;
  readonly services: readonly ServiceSnapshot[];
  readonly drift: (pid: number, interval: boolean) => PcrDrift;
}

function bitrate(packets: number, periodMs: number): number {
  return periodMs > 0 ? Math.round((packets * TS.PACKET_SIZE * 8 * 1000) / periodMs) : 0;
}

/** Builds a {@link TsSnapshot}; allocates (once per report, never per packet). */
export function buildTsReport(input: TsReportInput): TsSnapshot {
  const { counters: c, periodMs, interval, table: t } = input;
  const pids: TsPidSnapshot[] = [];
  for (let slot = 0; slot < t.used; slot++) {
    const total = t.packets[slot]!;
    if (total === 0 && (t.flags[slot]! & PID_FLAG.REFERENCED) === 0) continue;
    const packets = interval ? total - t.markPackets[slot]! : total;
    const type = t.streamType[slot]!;
    pids.push({
      pid: t.pid[slot]!,
      role: PID_ROLES[t.role[slot]!]!,
      streamType: t.streamTypeName[slot] ?? null,
      streamTypeId: type >= 0 ? type : null,
      packets,
      bitrateBps: bitrate(packets, periodMs),
      ccErrors: interval ? t.ccErrors[slot]! - t.markCcErrors[slot]! : t.ccErrors[slot]!,
      scrambled: (t.flags[slot]! & PID_FLAG.SCRAMBLED) !== 0,
      pcr: (t.flags[slot]! & PID_FLAG.PCR) !== 0,
    });
  }
  pids.sort((a, b) => a.pid - b.pid);
  const services = input.services.map((s) => {
    const drift = s.pcrPid === null ? null : input.drift(s.pcrPid, interval);
    return { ...s, pcrDriftPpm: drift?.driftPpm ?? null, pcrJitterMs: drift?.jitterMs ?? null };
  });
  return {
    packets: c[COUNTER.packets]!,
    syncLosses: c[COUNTER.syncLosses]!,
    syncByteErrors: c[COUNTER.syncByteErrors]!,
    patErrors: c[COUNTER.patErrors]!,
    ccErrors: c[COUNTER.ccErrors]!,
    ccErrorsWithoutRtpLoss: input.rtp ? c[COUNTER.ccErrorsWithoutRtpLoss]! : null,
    pmtErrors: c[COUNTER.pmtErrors]!,
    pidErrors: c[COUNTER.pidErrors]!,
    transportErrors: c[COUNTER.transportErrors]!,
    crcErrors: c[COUNTER.crcErrors]!,
    pcrRepetitionErrors: c[COUNTER.pcrRepetitionErrors]!,
    pcrDiscontinuityErrors: c[COUNTER.pcrDiscontinuityErrors]!,
    ptsErrors: c[COUNTER.ptsErrors]!,
    nullPackets: c[COUNTER.nullPackets]!,
    estimatedLostPackets: c[COUNTER.estimatedLostPackets]!,
    partialPackets: c[COUNTER.partialPackets]!,
    malformedPackets: c[COUNTER.malformedPackets]!,
    malformedSections: c[COUNTER.malformedSections]!,
    untrackedPackets: c[COUNTER.untrackedPackets]!,
    bitrateBps: bitrate(c[COUNTER.packets]!, periodMs),
    pids,
    services,
  };
}
