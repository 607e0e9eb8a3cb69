// Per-PID state of the MPEG-TS analyser (ISO/IEC 13818-1 §2.4.3.3 continuity, TR 101 290 1.4) in
// preallocated typed arrays: a PID gets a slot on first sight, up to a cap, so memory is bounded
// whatever the stream holds, and the hot path indexes arrays instead of allocating objects.

import { DVB_PID, TS } from "./constants.ts";

/** PIDs whose sections are always reassembled: PSI and DVB SI (ISO/IEC 13818-1, EN 300 468). */
export const SI_PIDS: readonly number[] = [
  TS.PAT_PID,
  TS.CAT_PID,
  DVB_PID.NIT,
  DVB_PID.SDT,
  DVB_PID.EIT,
  DVB_PID.TDT,
];

/** What a PID carries, as reported in the programme map. */
export const PID_ROLES = [
  "unreferenced",
  "PAT",
  "CAT",
  "PMT",
  "NIT",
  "SDT",
  "EIT",
  "TDT",
  "video",
  "audio",
  "data",
  "PCR",
  "null",
] as const;

/** A PID's role: PSI/SI table, elementary stream, PCR only, null padding or unreferenced. */
export type PidRole = typeof PID_ROLES[number];

/** Index of a role in {@link PID_ROLES}. */
export const ROLE = Object.fromEntries(PID_ROLES.map((r, i) => [r, i])) as Record<PidRole, number>;

/** Bits of {@link PidTable.flags}. */
export const PID_FLAG = {
  /** Sections are reassembled from its payload (PAT, CAT, PMT, NIT, SDT, EIT, TDT). */
  SECTIONS: 1,
  /** A video or audio stream of a PMT: PTS watched (2.5), presence watched (1.6). */
  AUDIO_VIDEO: 2,
  /** The PCR_PID of some PMT (2.3). */
  PCR: 4,
  /** A program_map_PID of the PAT (1.5). */
  PMT: 8,
  /** The last packet with payload had transport_scrambling_control ≠ 00. */
  SCRAMBLED: 16,
  /** Named by the PAT or a PMT (listed even before its first packet). */
  REFERENCED: 32,
} as const;

/** Role of a PID by its number alone (ISO/IEC 13818-1 Table 2-3, EN 300 468 Table 1). */
export function fixedRole(pid: number): number {
  switch (pid) {
    case TS.PAT_PID:
      return ROLE.PAT;
    case TS.CAT_PID:
      return ROLE.CAT;
    case DVB_PID.NIT:
      return ROLE.NIT;
    case DVB_PID.SDT:
      return ROLE.SDT;
    case DVB_PID.EIT:
      return ROLE.EIT;
    case DVB_PID.TDT:
      return ROLE.TDT;
    case TS.NULL_PID:
      return ROLE.null;
    default:
      return ROLE.unreferenced;
  }
}

/**
 * The PIDs seen or referenced so far, each in a slot of typed arrays. Fields are public for the
 * analyser's hot loop; only the analyser and the programme map write them.
 */
export class PidTable {
  /** Most PIDs tracked; packets of further PIDs count only in the totals. */
  readonly capacity: number;
  /** PID → slot, -1 when the PID has none. */
  readonly slotOf = new Int16Array(TS.PID_COUNT).fill(-1);
  readonly pid: Uint16Array;
  readonly packets: Float64Array;
  readonly ccErrors: Float64Array;
  /** Last continuity_counter of a packet with payload, -1 before the first. */
  readonly lastCc: Int8Array;
  /** Consecutive repeats of the last continuity_counter (1.4: one is allowed). */
  readonly repeats: Uint8Array;
  /** The analyser's RTP gap count when this PID's last packet with payload arrived. */
  readonly gapEpoch: Float64Array;
  readonly flags: Uint8Array;
  /** Index in {@link PID_ROLES}. */
  readonly role: Uint8Array;
  /** stream_type from the PMT, -1 when not an elementary stream. */
  readonly streamType: Int16Array;
  /** Name of the stream type (with descriptors), null when not an elementary stream. */
  readonly streamTypeName: (string | null)[];
  /** Packets and CC errors at the start of the current interval. */
  readonly markPackets: Float64Array;
  readonly markCcErrors: Float64Array;
  #used = 0;

  constructor(capacity: number) {
    this.capacity = capacity;
    this.pid = new Uint16Array(capacity);
    this.packets = new Float64Array(capacity);
    this.ccErrors = new Float64Array(capacity);
    this.lastCc = new Int8Array(capacity).fill(-1);
    this.repeats = new Uint8Array(capacity);
    this.gapEpoch = new Float64Array(capacity);
    this.flags = new Uint8Array(capacity);
    this.role = new Uint8Array(capacity);
    this.streamType = new Int16Array(capacity).fill(-1);
    this.streamTypeName = new Array<string | null>(capacity).fill(null);
    this.markPackets = new Float64Array(capacity);
    this.markCcErrors = new Float64Array(capacity);
  }

  /** Slots in use (slots 0 to used − 1). */
  get used(): number {
    return this.#used;
  }

  /** The slot of `pid`, allocating one; -1 when the table is full. */
  slot(pid: number): number {
    const existing = this.slotOf[pid]!;
    if (existing >= 0 || this.#used >= this.capacity) return existing;
    const slot = this.#used++;
    this.slotOf[pid] = slot;
    this.pid[slot] = pid;
    this.role[slot] = fixedRole(pid);
    return slot;
  }
}
