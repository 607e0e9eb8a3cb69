// The exact ETSI TR 101 290 §5.2.1/§5.2.2 counts of what the test source's muxer wrote: each
// indicator's definition applied to the muxer's own knowledge of every packet (not to a parse of
// its output), at datagram granularity, so a receiver's analyser can be checked against it.

import { TS } from "../ts/constants.ts";
import { resolveLimits, type Tr101290Limits } from "../ts/tr101290.ts";

/** What a TR 101 290 analyser must count on the muxer's output (the analyser's JSON keys). */
export interface TsTruth {
  readonly ccErrors: number;
  readonly transportErrors: number;
  readonly crcErrors: number;
  readonly patErrors: number;
  readonly pmtErrors: number;
  readonly pidErrors: number;
  readonly pcrRepetitionErrors: number;
  readonly pcrDiscontinuityErrors: number;
  readonly ptsErrors: number;
  /** Packets written. */
  readonly packets: number;
}

/** A "must occur at least every limit" watch: one error per whole limit elapsed without it. */
class Watch {
  last = Number.NaN;
  counted = 0;
  errors = 0;
  constructor(readonly limitMs: number) {}

  get active(): boolean {
    return this.last === this.last;
  }

  /** Starts watching at `t` if not yet watched. */
  start(t: number): void {
    if (!this.active) this.last = t;
  }

  occur(t: number): void {
    if (!this.active) return;
    this.last = t;
    this.counted = 0;
  }

  /** Counts the errors due at datagram time `t`. */
  tick(t: number): void {
    if (!this.active) return;
    for (;;) {
      if (!(t - this.last > this.limitMs * (this.counted + 1))) break;
      this.counted++;
      this.errors++;
    }
  }
}

/**
 * Counts the indicators as the muxer writes. The rules, as the analyser applies them: times are
 * those of the datagram (the first packet of one fillPackets() call), timeouts are evaluated when a
 * datagram starts; the PAT watch starts with the first datagram; a PMT is watched once a valid PAT
 * named it, the audio PID's presence once a valid PMT named it; PCR and PTS watches start with
 * the first PCR or PTS after that PMT; 2.3b compares consecutive PCRs from then on.
 */
export class TsTruthModel {
  readonly #pat: Watch;
  readonly #pmt: Watch;
  readonly #presence: Watch;
  readonly #pcr: Watch;
  readonly #pts: Watch;
  readonly #discontinuityTicks: number;
  #t = Number.NaN;
  #patKnown = false;
  #pmtKnown = false;
  #lastPcr = -1;
  #pcrDiscontinuities = 0;
  #ccErrors = 0;
  #transportErrors = 0;
  #crcErrors = 0;
  #packets = 0;

  constructor(limits: Partial<Tr101290Limits> = {}) {
    const l = resolveLimits(limits);
    this.#pat = new Watch(l.patIntervalMs);
    this.#pmt = new Watch(l.pmtIntervalMs);
    this.#presence = new Watch(l.pidIntervalMs);
    this.#pcr = new Watch(l.pcrIntervalMs);
    this.#pts = new Watch(l.ptsIntervalMs);
    this.#discontinuityTicks = l.pcrDiscontinuityMs * (TS.SYSTEM_CLOCK_HZ / 1000);
  }

  /** A datagram starts at mux time `tMs`. */
  datagram(tMs: number): void {
    this.#t = tMs;
    this.#pat.start(tMs);
    for (const w of [this.#pat, this.#pmt, this.#presence, this.#pcr, this.#pts]) w.tick(tMs);
  }

  /** One packet written (any PID). */
  packet(): void {
    this.#packets++;
  }

  /** A PAT section was written; `crcOk` false when its CRC was corrupted. */
  pat(crcOk: boolean): void {
    if (!crcOk) return void this.#crcErrors++;
    this.#pat.occur(this.#t);
    this.#patKnown = true;
    this.#pmt.start(this.#t);
  }

  /** A PMT section was written. */
  pmt(crcOk: boolean): void {
    if (!crcOk) return void this.#crcErrors++;
    if (!this.#patKnown) return;
    this.#pmt.occur(this.#t);
    this.#pmtKnown = true;
    this.#presence.start(this.#t);
  }

  /** An SDT section was written. */
  sdt(crcOk: boolean): void {
    if (!crcOk) this.#crcErrors++;
  }

  /** A packet on the audio PID (payload or adaptation field only). */
  audioPacket(): void {
    this.#presence.occur(this.#t);
  }

  /** A PES with a PTS started on the audio PID. */
  pts(): void {
    if (!this.#pmtKnown) return;
    this.#pts.start(this.#t);
    this.#pts.occur(this.#t);
  }

  /** A PCR (27 MHz, wrapped) on the audio PID; `flagged`: discontinuity_indicator set. */
  pcr(value: number, flagged: boolean): void {
    if (!this.#pmtKnown) return;
    this.#pcr.start(this.#t);
    this.#pcr.occur(this.#t);
    const previous = this.#lastPcr;
    this.#lastPcr = value;
    if (previous < 0 || flagged) return;
    const delta = (value - previous + TS.PCR_MODULO) % TS.PCR_MODULO;
    if (delta >= TS.PCR_MODULO / 2 || delta > this.#discontinuityTicks) this.#pcrDiscontinuities++;
  }

  /** A continuity counter was skipped on a packet that follows another of its PID. */
  ccSkip(): void {
    this.#ccErrors++;
  }

  /** transport_error_indicator set on a packet. */
  transportError(): void {
    this.#transportErrors++;
  }

  /** The counts so far. */
  snapshot(): TsTruth {
    return {
      ccErrors: this.#ccErrors,
      transportErrors: this.#transportErrors,
      crcErrors: this.#crcErrors,
      patErrors: this.#pat.errors,
      pmtErrors: this.#pmt.errors,
      pidErrors: this.#presence.errors,
      pcrRepetitionErrors: this.#pcr.errors,
      pcrDiscontinuityErrors: this.#pcrDiscontinuities,
      ptsErrors: this.#pts.errors,
      packets: this.#packets,
    };
  }
}
