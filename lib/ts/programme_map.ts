// The programme map an analyser builds from PSI/SI (ISO/IEC 13818-1 §2.4.4 PAT and PMT, ETSI EN 300
// 468 §5.2.3 SDT): services with their PMT and PCR PIDs and names, and from them the role of every
// PID. Updated only when a table changes, never per packet; bounded by a cap on services.

import { TS } from "./constants.ts";
import { fixedRole, PID_FLAG, type PidTable, ROLE, SI_PIDS } from "./pid_table.ts";
import type { Pat, Pmt } from "./psi.ts";
import type { Sdt } from "./sdt.ts";
import { describeStream } from "./stream_types.ts";

/** One service of the programme map, as reported (JSON keys). */
export interface ServiceSnapshot {
  /** program_number (= service_id). */
  readonly number: number;
  readonly pmtPid: number;
  /** PCR_PID of its PMT; null before the PMT arrives or when it has none (0x1FFF). */
  readonly pcrPid: number | null;
  /** Service name from the SDT's service_descriptor; null without one. */
  readonly name: string | null;
  /** Provider name from the SDT's service_descriptor; null without one. */
  readonly provider: string | null;
}

interface ProgrammeStreams {
  readonly pmtPid: number;
  readonly pcrPid: number | null;
  readonly streams: readonly { pid: number; streamType: number; name: string; role: number }[];
}

const ES_ROLE = { video: ROLE.video, audio: ROLE.audio, data: ROLE.data } as const;

/** PAT, PMTs and SDT names of one transport stream, and the PID roles they imply. */
export class ProgrammeMap {
  readonly #maxServices: number;
  #patVersion = -1;
  #transportStreamId = -1;
  /** PAT section_number → its programs (multi-section PATs are merged). */
  readonly #patSections = new Map<number, readonly { number: number; pid: number }[]>();
  /** program_number → PMT PID, in PAT order; programme 0 is the network PID. */
  #programs = new Map<number, number>();
  readonly #pmts = new Map<number, ProgrammeStreams>();
  readonly #names = new Map<number, { name: string | null; provider: string | null }>();

  constructor(maxServices: number) {
    this.#maxServices = maxServices;
  }

  /** Whether a PAT has been applied. */
  get hasPat(): boolean {
    return this.#patVersion >= 0;
  }

  /** The PMT PID of `programNumber` in the current PAT, or -1. */
  pmtPidOf(programNumber: number): number {
    return programNumber === 0 ? -1 : this.#programs.get(programNumber) ?? -1;
  }

  /** Applies a PAT section with a valid CRC; returns whether the programmes changed. */
  applyPat(pat: Pat): boolean {
    if (!pat.currentNext) return false;
    if (pat.version !== this.#patVersion || pat.transportStreamId !== this.#transportStreamId) {
      this.#patSections.clear();
      this.#patVersion = pat.version;
      this.#transportStreamId = pat.transportStreamId;
    }
    this.#patSections.set(pat.sectionNumber, pat.programs);
    const programs = new Map<number, number>();
    for (const list of this.#patSections.values()) {
      for (const p of list) {
        if (programs.size >= this.#maxServices) break;
        if (!programs.has(p.number)) programs.set(p.number, p.pid);
      }
    }
    const changed = programs.size !== this.#programs.size ||
      [...programs].some(([n, pid]) => this.#programs.get(n) !== pid);
    this.#programs = programs;
    for (const [number, streams] of this.#pmts) {
      if (programs.get(number) !== streams.pmtPid) this.#pmts.delete(number);
    }
    return changed;
  }

  /** Applies a PMT section (valid CRC) found on `pid`; returns whether the programme changed. */
  applyPmt(pid: number, pmt: Pmt): boolean {
    if (!pmt.currentNext || this.#programs.get(pmt.programNumber) !== pid) return false;
    const streams = pmt.streams.map((s) => {
      const info = describeStream(s.streamType, s.descriptors);
      return { pid: s.pid, streamType: s.streamType, name: info.name, role: ES_ROLE[info.role] };
    });
    const next: ProgrammeStreams = { pmtPid: pid, pcrPid: pmt.pcrPid, streams };
    const previous = this.#pmts.get(pmt.programNumber);
    this.#pmts.set(pmt.programNumber, next);
    return previous === undefined || JSON.stringify(previous) !== JSON.stringify(next);
  }

  /** Applies an SDT section (valid CRC): names of the services of this transport stream. */
  applySdt(sdt: Sdt): boolean {
    if (!sdt.actual || !sdt.currentNext) return false;
    let changed = false;
    for (const s of sdt.services) {
      const known = this.#names.get(s.serviceId);
      if (known === undefined && this.#names.size >= this.#maxServices) continue;
      if (known?.name !== s.name || known?.provider !== s.provider) {
        this.#names.set(s.serviceId, { name: s.name, provider: s.provider });
        changed = true;
      }
    }
    return changed;
  }

  /**
   * Rewrites roles, stream types and flags (all but SCRAMBLED) of every PID in `table` from the
   * tables, allocating slots for referenced PIDs not seen yet (while the table has room).
   */
  applyRoles(table: PidTable): void {
    const keep = PID_FLAG.SCRAMBLED;
    for (let slot = 0; slot < table.used; slot++) {
      const pid = table.pid[slot]!;
      table.role[slot] = fixedRole(pid);
      table.flags[slot]! &= keep;
      table.streamType[slot] = -1;
      table.streamTypeName[slot] = null;
    }
    for (const pid of SI_PIDS) {
      const slot = table.slotOf[pid]!;
      if (slot >= 0) table.flags[slot]! |= PID_FLAG.SECTIONS;
    }
    for (const [number, pid] of this.#programs) {
      const slot = table.slot(pid);
      if (slot < 0 || pid === TS.NULL_PID) continue;
      table.role[slot] = number === 0 ? ROLE.NIT : ROLE.PMT;
      table.flags[slot]! |= PID_FLAG.SECTIONS | PID_FLAG.REFERENCED |
        (number === 0 ? 0 : PID_FLAG.PMT);
    }
    for (const programme of this.#pmts.values()) {
      for (const s of programme.streams) {
        const slot = s.pid === TS.NULL_PID ? -1 : table.slot(s.pid);
        if (
          slot < 0 || table.streamType[slot]! >= 0 || (table.flags[slot]! & PID_FLAG.SECTIONS) !== 0
        ) {
          continue; // a PID named twice keeps its first role; tables are never streams
        }
        table.role[slot] = s.role;
        table.streamType[slot] = s.streamType;
        table.streamTypeName[slot] = s.name;
        table.flags[slot]! |= PID_FLAG.REFERENCED |
          (s.role === ROLE.video || s.role === ROLE.audio ? PID_FLAG.AUDIO_VIDEO : 0);
      }
      if (programme.pcrPid !== null) {
        const slot = programme.pcrPid === TS.NULL_PID ? -1 : table.slot(programme.pcrPid);
        if (slot < 0) continue;
        table.flags[slot]! |= PID_FLAG.PCR | PID_FLAG.REFERENCED;
        if (table.role[slot] === ROLE.unreferenced) table.role[slot] = ROLE.PCR;
      }
    }
  }

  /** The services of the current PAT, in its order (programme 0, the network PID, left out). */
  services(): ServiceSnapshot[] {
    const list: ServiceSnapshot[] = [];
    for (const [number, pmtPid] of this.#programs) {
      if (number === 0) continue;
      const names = this.#names.get(number);
      list.push({
        number,
        pmtPid,
        pcrPid: this.#pmts.get(number)?.pcrPid ?? null,
        name: names?.name ?? null,
        provider: names?.provider ?? null,
      });
    }
    return list;
  }
}
