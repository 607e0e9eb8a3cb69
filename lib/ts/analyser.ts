// Streaming MPEG-TS analyser (ISO/IEC 13818-1) counting the ETSI TR 101 290 §5.2.1 priority 1 and
// §5.2.2 priority 2 indicators over the 188-byte packets of each datagram (RFC 2250), with the
// programme map and the attribution of continuity errors to RTP loss. Pure: time is injected.

import { DVB_PID, TABLE_ID, TS } from "./constants.ts";
import { parseSdt } from "./sdt.ts";
import { PcrTracker } from "./pcr_tracker.ts";
import { parsePat, parsePmt, sectionCrcOk, sectionHasCrc } from "./psi.ts";
import { readPesPts } from "./pes.ts";
import { createTsPacketFields, readTsPacket, TsPacketStatus } from "./packet.ts";
import { PID_FLAG, PidTable, SI_PIDS } from "./pid_table.ts";
import { ProgrammeMap } from "./programme_map.ts";
import { RepetitionTimers } from "./repetition_timers.ts";
import { SECTION_LIMITS, SectionAssembler, type SectionSink } from "./section_assembler.ts";
import { resolveLimits, TR101290, type Tr101290Limits } from "./tr101290.ts";
import { ConfigError } from "../common/errors.ts";
import { buildTsReport, COUNTER, COUNTER_COUNT, type TsSnapshot } from "./ts_report.ts";

/** Defaults and bounds of {@link TsAnalyserOptions}. */
export const TS_ANALYSER_DEFAULTS = {
  /** PIDs tracked per stream (a multiplex rarely has 200); further PIDs count only in totals. */
  MAX_PIDS: 512,
  /** Services (PAT programmes) tracked. */
  MAX_SERVICES: 256,
} as const;

/** Options of {@link TsAnalyser}: the TR 101 290 limits, the transport and the caps. */
export interface TsAnalyserOptions extends Partial<Tr101290Limits> {
  /**
   * `"rtp"` (default): feed()'s `rtpGap` attributes continuity errors to network loss. `"udp"`:
   * raw MPEG-TS over UDP, no RTP sequence: `ccErrorsWithoutRtpLoss` is null.
   */
  readonly transport?: "rtp" | "udp";
  /** Most PIDs tracked (16-8192, default 512). */
  readonly maxPids?: number;
  /** Most services tracked (1-4096, default 256). */
  readonly maxServices?: number;
}

function checkCap(
  value: number | undefined,
  field: string,
  min: number,
  max: number,
  fallback: number,
) {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(field, `${field} must be an integer in [${min}, ${max}], got ${value}`);
  }
  return value;
}

/**
 * TR 101 290 analysis of one transport stream, fed datagram by datagram.
 *
 * Framing (RFC 2250 §2: a datagram carries whole 188-byte packets): packets are read at offsets 0,
 * 188, 376, ... of each datagram; the analyser never searches for a sync byte, so 0x47 inside a
 * payload cannot mislead it. A datagram whose length is not a multiple of 188 has its trailing
 * partial packet dropped and counted in `partialPackets`; a slot whose first byte is not 0x47
 * (for instance a datagram that does not start with a packet) is a sync byte error (1.2) when in
 * sync, and is not read further; sync is lost (1.1) after 2 such slots in a row and regained
 * after 5 good ones. Packets that start with 0x47 are analysed even while sync is being regained:
 * the datagram already frames them.
 *
 * The hot path (feed) allocates nothing: per-PID state lives in typed arrays of a capped
 * {@link PidTable}, sections in fixed buffers; parsing PAT/PMT/SDT allocates only when a table's
 * content changes. It never throws on any input.
 */
export class TsAnalyser {
  readonly #limits: Tr101290Limits;
  readonly #rtp: boolean;
  readonly #table: PidTable;
  readonly #map: ProgrammeMap;
  readonly #fields = createTsPacketFields();
  readonly #counters = new Float64Array(COUNTER_COUNT);
  readonly #marks = new Float64Array(COUNTER_COUNT);
  readonly #assemblers: (SectionAssembler | undefined)[];
  /** Per slot: length and CRC of the last section parsed, to skip parsing repetitions. */
  readonly #lastSectionLength: Float64Array;
  readonly #lastSectionCrc: Float64Array;
  readonly #patTimer: RepetitionTimers;
  readonly #pmtTimers: RepetitionTimers;
  readonly #pidTimers: RepetitionTimers;
  readonly #pcrTimers: RepetitionTimers;
  readonly #ptsTimers: RepetitionTimers;
  readonly #pcr: PcrTracker;
  readonly #patSlot: number;
  readonly #nullSlot: number;
  readonly #sink: SectionSink;
  #startMs = Number.NaN;
  #intervalStartMs = Number.NaN;
  #nowMs = 0;
  #nextDueMs = Infinity;
  /** Datagrams the caller flagged with an RTP gap; see {@link feed}. */
  #gapEpoch = 0;
  #inSync = false;
  #goodRun = 0;
  #badRun = 0;

  /** Throws ConfigError for a limit or cap out of range. */
  constructor(options: TsAnalyserOptions = {}) {
    this.#limits = resolveLimits(options);
    this.#rtp = (options.transport ?? "rtp") === "rtp";
    const slots = checkCap(
      options.maxPids,
      "maxPids",
      16,
      TS.PID_COUNT,
      TS_ANALYSER_DEFAULTS.MAX_PIDS,
    );
    const services = checkCap(
      options.maxServices,
      "maxServices",
      1,
      4096,
      TS_ANALYSER_DEFAULTS.MAX_SERVICES,
    );
    this.#table = new PidTable(slots);
    this.#map = new ProgrammeMap(services);
    this.#assemblers = new Array<SectionAssembler | undefined>(slots).fill(undefined);
    this.#lastSectionLength = new Float64Array(slots).fill(-1);
    this.#lastSectionCrc = new Float64Array(slots);
    this.#patTimer = new RepetitionTimers(slots, this.#limits.patIntervalMs);
    this.#pmtTimers = new RepetitionTimers(slots, this.#limits.pmtIntervalMs);
    this.#pidTimers = new RepetitionTimers(slots, this.#limits.pidIntervalMs);
    this.#pcrTimers = new RepetitionTimers(slots, this.#limits.pcrIntervalMs);
    this.#ptsTimers = new RepetitionTimers(slots, this.#limits.ptsIntervalMs);
    this.#pcr = new PcrTracker(slots, this.#limits.pcrDiscontinuityMs);
    for (const pid of SI_PIDS) this.#table.slot(pid);
    this.#patSlot = this.#table.slotOf[TS.PAT_PID]!;
    this.#nullSlot = this.#table.slot(TS.NULL_PID);
    this.#sink = {
      onSection: (pid, section, length) => this.#onSection(pid, section, length),
      onSectionDrop: () => this.#counters[COUNTER.malformedSections]!++,
    };
    this.#rebuild();
  }

  /** The limits in force (defaults filled in). */
  get limits(): Tr101290Limits {
    return this.#limits;
  }

  /**
   * Analyses one datagram's payload (the RTP payload, or the whole UDP payload for raw MPEG-TS)
   * that arrived at `arrivalMs`.
   *
   * `rtpGap`: the RTP sequence number of this datagram is not the successor of the previous one's
   * (packets lost, reordered or duplicated right before it). The correlation window of a
   * continuity error on PID P is the span from P's previous packet (adaptation-field-only packets
   * included: they repeat the counter) to the packet that shows the error: if any datagram in that
   * span (the erroring one included) was flagged, the missing packets may have been in the lost
   * datagrams and the error counts as network loss; otherwise it also counts in
   * `ccErrorsWithoutRtpLoss`: the stream was already broken when it was sent.
   */
  feed(payload: Uint8Array, arrivalMs: number, rtpGap = false): void {
    if (this.#startMs !== this.#startMs) {
      this.#startMs = arrivalMs;
      this.#intervalStartMs = arrivalMs;
      this.#patTimer.start(this.#patSlot, arrivalMs);
      this.#refreshDue();
    }
    this.#nowMs = arrivalMs;
    this.#counters[COUNTER.datagrams]!++;
    if (rtpGap) this.#gapEpoch++;
    if (arrivalMs > this.#nextDueMs) this.#checkTimers(arrivalMs);
    const whole = Math.floor(payload.length / TS.PACKET_SIZE);
    if (whole * TS.PACKET_SIZE !== payload.length) this.#counters[COUNTER.partialPackets]!++;
    for (let i = 0, at = 0; i < whole; i++, at += TS.PACKET_SIZE) this.#packet(payload, at);
  }

  #packet(u8: Uint8Array, at: number): void {
    const c = this.#counters;
    const t = this.#table;
    const f = this.#fields;
    c[COUNTER.packets]!++;
    const status = readTsPacket(u8, at, f);
    if (status === TsPacketStatus.BAD_SYNC) {
      this.#goodRun = 0;
      this.#badRun++;
      if (this.#inSync) {
        c[COUNTER.syncByteErrors]!++;
        if (this.#badRun >= TR101290.SYNC_LOSS_PACKETS) {
          c[COUNTER.syncLosses]!++;
          this.#inSync = false;
        }
      }
      return;
    }
    this.#badRun = 0;
    if (!this.#inSync && ++this.#goodRun >= TR101290.SYNC_ACQUIRE_PACKETS) this.#inSync = true;
    const pid = f.pid;
    if (f.transportError) c[COUNTER.transportErrors]!++;
    if (pid === TS.NULL_PID) {
      c[COUNTER.nullPackets]!++;
      t.packets[this.#nullSlot]!++;
      return;
    }
    let slot = t.slotOf[pid]!;
    if (slot < 0) {
      slot = t.slot(pid);
      if (slot < 0) {
        c[COUNTER.untrackedPackets]!++;
        return;
      }
    }
    const now = this.#nowMs;
    t.packets[slot]!++;
    this.#pidTimers.hit(slot, now);
    if (status === TsPacketStatus.RESERVED_AFC) {
      c[COUNTER.malformedPackets]!++;
      return;
    }
    const flags = t.flags[slot]!;
    const hasPayload = (f.adaptationFieldControl & 1) !== 0;
    const scrambled = hasPayload && f.scrambling !== 0;
    if (hasPayload) {
      if (scrambled) {
        if (pid === TS.PAT_PID) c[COUNTER.patErrors]!++; // 1.3: scrambling_control not 00 on PID 0
        else if ((flags & PID_FLAG.PMT) !== 0) c[COUNTER.pmtErrors]!++; // 1.5: on a PMT PID
        t.flags[slot] = flags | PID_FLAG.SCRAMBLED;
      } else if ((flags & PID_FLAG.SCRAMBLED) !== 0) {
        t.flags[slot] = flags & ~PID_FLAG.SCRAMBLED;
      }
    }
    // 1.4 Continuity_count_error (ISO/IEC 13818-1 §2.4.3.3): each PID's counter advances by one
    // per packet with payload and stays put on a packet without (checked too, as TSDuck and
    // ffmpeg do, once the PID has carried a payload: a PID that never does is not checked). Not
    // checked after a discontinuity_indicator; one repeat (a duplicate) is allowed, not two.
    let broken = false;
    let duplicate = false;
    const last = t.lastCc[slot]!;
    if (status === TsPacketStatus.OK && f.discontinuity) {
      t.lastCc[slot] = hasPayload || last >= 0 ? f.continuityCounter : -1;
      t.repeats[slot] = 0;
      t.gapEpoch[slot] = this.#gapEpoch;
      broken = true;
    } else if (last >= 0 || hasPayload) {
      const cc = f.continuityCounter;
      if (last >= 0) {
        const expected = hasPayload ? (last + 1) & 0x0f : last;
        if (cc === expected) {
          if (hasPayload) t.repeats[slot] = 0;
        } else if (hasPayload && cc === last) {
          duplicate = true;
          if (++t.repeats[slot]! >= TR101290.MAX_PACKET_OCCURRENCES) this.#ccError(slot, 0);
        } else {
          this.#ccError(slot, (cc - expected) & 0x0f);
          t.repeats[slot] = 0;
          broken = true;
        }
      }
      t.lastCc[slot] = cc;
      t.gapEpoch[slot] = this.#gapEpoch;
    }
    if (status !== TsPacketStatus.OK) {
      c[COUNTER.malformedPackets]!++;
      this.#assemblers[slot]?.reset(); // its payload is lost to the section in progress
      return;
    }
    if (f.pcr >= 0 && (flags & PID_FLAG.PCR) !== 0) {
      if (this.#pcrTimers.isActive(slot)) this.#pcrTimers.hit(slot, now);
      else {
        this.#pcrTimers.start(slot, now);
        this.#refreshDue();
      }
      this.#pcr.onPcr(slot, f.pcr, now, f.discontinuity);
    }
    if (!hasPayload || duplicate || f.payloadStart >= f.payloadEnd) return;
    if ((flags & PID_FLAG.SECTIONS) !== 0) {
      const assembler = this.#assemblers[slot];
      if (assembler === undefined) return;
      if (broken || scrambled) assembler.reset();
      if (!scrambled) {
        assembler.push(u8, f.payloadStart, f.payloadEnd, f.payloadUnitStart, pid, this.#sink);
      }
    } else if ((flags & PID_FLAG.AUDIO_VIDEO) !== 0 && f.payloadUnitStart && !scrambled) {
      if (readPesPts(u8, f.payloadStart, f.payloadEnd) >= 0) {
        if (this.#ptsTimers.isActive(slot)) this.#ptsTimers.hit(slot, now);
        else {
          this.#ptsTimers.start(slot, now);
          this.#refreshDue();
        }
      }
    }
  }

  #ccError(slot: number, missing: number): void {
    const c = this.#counters;
    c[COUNTER.ccErrors]!++;
    c[COUNTER.estimatedLostPackets]! += missing;
    this.#table.ccErrors[slot]!++;
    if (this.#table.gapEpoch[slot] === this.#gapEpoch) c[COUNTER.ccErrorsWithoutRtpLoss]!++;
  }

  #onSection(pid: number, section: Uint8Array, length: number): void {
    const c = this.#counters;
    const hasCrc = sectionHasCrc(section, length);
    if (hasCrc && !sectionCrcOk(section, length)) {
      c[COUNTER.crcErrors]!++; // 2.2
      return;
    }
    const tableId = section[0]!;
    const slot = this.#table.slotOf[pid]!;
    const flags = this.#table.flags[slot]!;
    if (pid === TS.PAT_PID) {
      if (tableId !== TABLE_ID.PROGRAM_ASSOCIATION) {
        c[COUNTER.patErrors]!++; // 1.3: a section other than a PAT on PID 0
        return;
      }
    } else if (
      !((flags & PID_FLAG.PMT) !== 0 && tableId === TABLE_ID.PROGRAM_MAP) &&
      !(pid === DVB_PID.SDT && tableId === TABLE_ID.SERVICE_DESCRIPTION_ACTUAL)
    ) {
      return; // other tables: CRC checked, content not needed
    }
    if (!hasCrc) {
      c[COUNTER.malformedSections]!++;
      return;
    }
    if (tableId === TABLE_ID.PROGRAM_ASSOCIATION) this.#patTimer.hit(slot, this.#nowMs);
    else if (tableId === TABLE_ID.PROGRAM_MAP) this.#pmtTimers.hit(slot, this.#nowMs);
    const crc = ((section[length - 4]! << 24) | (section[length - 3]! << 16) |
      (section[length - 2]! << 8) | section[length - 1]!) >>> 0;
    if (this.#lastSectionLength[slot] === length && this.#lastSectionCrc[slot] === crc) return;
    this.#lastSectionLength[slot] = length;
    this.#lastSectionCrc[slot] = crc;
    const view = section.subarray(0, length);
    let changed: boolean;
    try {
      if (tableId === TABLE_ID.PROGRAM_ASSOCIATION) {
        changed = this.#map.applyPat(parsePat(view));
        if (changed) this.#lastSectionLength.fill(-1, 0).fill(length, slot, slot + 1);
      } else if (tableId === TABLE_ID.PROGRAM_MAP) {
        changed = this.#map.applyPmt(pid, parsePmt(view));
      } else {
        this.#map.applySdt(parseSdt(view));
        changed = false;
      }
    } catch {
      c[COUNTER.malformedSections]!++;
      this.#lastSectionLength[slot] = -1;
      return;
    }
    if (changed) this.#rebuild();
  }

  /** Applies the programme map to the PID table: roles, section buffers and watchdogs. */
  #rebuild(): void {
    const t = this.#table;
    this.#map.applyRoles(t);
    const now = this.#nowMs;
    for (let slot = 0; slot < t.used; slot++) {
      const flags = t.flags[slot]!;
      if ((flags & PID_FLAG.SECTIONS) !== 0 && this.#assemblers[slot] === undefined) {
        const eit = t.pid[slot] === DVB_PID.EIT;
        this.#assemblers[slot] = new SectionAssembler(
          eit ? SECTION_LIMITS.PRIVATE_BYTES : SECTION_LIMITS.PSI_BYTES,
        );
      }
      if ((flags & PID_FLAG.PMT) !== 0) this.#pmtTimers.start(slot, now);
      else this.#pmtTimers.stop(slot);
      if ((flags & PID_FLAG.AUDIO_VIDEO) !== 0) this.#pidTimers.start(slot, now);
      else {
        this.#pidTimers.stop(slot);
        this.#ptsTimers.stop(slot);
      }
      if ((flags & PID_FLAG.PCR) === 0 && this.#pcrTimers.isActive(slot)) {
        this.#pcrTimers.stop(slot);
        this.#pcr.reset(slot);
      }
    }
    this.#refreshDue();
  }

  #checkTimers(nowMs: number): void {
    this.#patTimer.check(nowMs);
    this.#pmtTimers.check(nowMs);
    this.#pidTimers.check(nowMs);
    this.#pcrTimers.check(nowMs);
    this.#ptsTimers.check(nowMs);
    this.#refreshDue();
  }

  #refreshDue(): void {
    this.#nextDueMs = Math.min(
      this.#patTimer.nextDueMs,
      this.#pmtTimers.nextDueMs,
      this.#pidTimers.nextDueMs,
      this.#pcrTimers.nextDueMs,
      this.#ptsTimers.nextDueMs,
    );
  }

  /** Every counter, those of the watchdogs included, into `out` (indexed by COUNTER). */
  #totals(out: Float64Array): Float64Array {
    out.set(this.#counters);
    out[COUNTER.patErrors]! += this.#patTimer.errors;
    out[COUNTER.pmtErrors]! += this.#pmtTimers.errors;
    out[COUNTER.pidErrors]! += this.#pidTimers.errors;
    out[COUNTER.pcrRepetitionErrors]! += this.#pcrTimers.errors;
    out[COUNTER.ptsErrors]! += this.#ptsTimers.errors;
    out[COUNTER.pcrDiscontinuityErrors]! += this.#pcr.errors;
    return out;
  }

  /** Cumulative figures since the first datagram, at `nowMs`. Never changes state. */
  snapshot(nowMs: number): TsSnapshot {
    const totals = this.#totals(new Float64Array(COUNTER_COUNT));
    return this.#report(totals, nowMs - this.#startMs, false);
  }

  /**
   * Figures of the interval since the previous call (the first interval starts at the first
   * datagram), then starts the next interval at `nowMs`.
   */
  takeInterval(nowMs: number): TsSnapshot {
    const totals = this.#totals(new Float64Array(COUNTER_COUNT));
    const delta = new Float64Array(COUNTER_COUNT);
    for (let i = 0; i < COUNTER_COUNT; i++) delta[i] = totals[i]! - this.#marks[i]!;
    const report = this.#report(delta, nowMs - this.#intervalStartMs, true);
    this.#marks.set(totals);
    const t = this.#table;
    t.markPackets.set(t.packets);
    t.markCcErrors.set(t.ccErrors);
    for (let slot = 0; slot < t.used; slot++) this.#pcr.startInterval(slot);
    if (this.#startMs === this.#startMs) this.#intervalStartMs = nowMs;
    return report;
  }

  #report(counters: Float64Array, periodMs: number, interval: boolean): TsSnapshot {
    return buildTsReport({
      counters,
      periodMs: periodMs > 0 ? periodMs : 0,
      interval,
      rtp: this.#rtp,
      table: this.#table,
      services: this.#map.services(),
      drift: (pid, inInterval) => {
        const slot = this.#table.slotOf[pid]!;
        return slot < 0 ? { driftPpm: null, jitterMs: null } : this.#pcr.drift(slot, inInterval);
      },
    });
  }
}
