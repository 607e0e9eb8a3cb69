// PCR checks per PCR PID (ETSI TR 101 290 §5.2.2): 2.3b PCR_discontinuity_indicator_error, and the
// PCR's drift and jitter against arrival time, reported as information in place of 2.4
// PCR_accuracy_error. Preallocated per PID slot; no allocation per PCR.

import { TS } from "./constants.ts";

const TICKS_PER_MS = TS.SYSTEM_CLOCK_HZ / 1000;
const HALF_MODULO = TS.PCR_MODULO / 2;

/** Drift and jitter of one PCR PID over a period ({@link PcrTracker.drift}). */
export interface PcrDrift {
  /**
   * How fast the PCR clock runs against the receiver's clock, in parts per million (least-squares
   * slope of PCR time minus arrival time); null with under 1 s of PCRs in the period.
   */
  readonly driftPpm: number | null;
  /** Peak-to-peak spread of (PCR time − arrival time) in the period, ms; null without PCRs. */
  readonly jitterMs: number | null;
}

/** Least-squares sums and min/max of the offset, per slot, for one period (run or interval). */
class OffsetStats {
  readonly n: Float64Array;
  readonly sx: Float64Array;
  readonly sy: Float64Array;
  readonly sxx: Float64Array;
  readonly sxy: Float64Array;
  readonly min: Float64Array;
  readonly max: Float64Array;
  readonly firstX: Float64Array;
  readonly lastX: Float64Array;

  constructor(slots: number) {
    this.n = new Float64Array(slots);
    this.sx = new Float64Array(slots);
    this.sy = new Float64Array(slots);
    this.sxx = new Float64Array(slots);
    this.sxy = new Float64Array(slots);
    this.min = new Float64Array(slots);
    this.max = new Float64Array(slots);
    this.firstX = new Float64Array(slots);
    this.lastX = new Float64Array(slots);
  }

  clear(slot: number): void {
    this.n[slot] = 0;
    this.sx[slot] =
      this.sy[slot] =
      this.sxx[slot] =
      this.sxy[slot] =
        0;
  }

  add(slot: number, x: number, y: number): void {
    if (this.n[slot] === 0) {
      this.min[slot] = this.max[slot] = y;
      this.firstX[slot] = x;
    } else {
      if (y < this.min[slot]!) this.min[slot] = y;
      if (y > this.max[slot]!) this.max[slot] = y;
    }
    this.lastX[slot] = x;
    this.n[slot]!++;
    this.sx[slot]! += x;
    this.sy[slot]! += y;
    this.sxx[slot]! += x * x;
    this.sxy[slot]! += x * y;
  }

  drift(slot: number): PcrDrift {
    const n = this.n[slot]!;
    if (n === 0) return { driftPpm: null, jitterMs: null };
    const jitterMs = Math.round((this.max[slot]! - this.min[slot]!) * 1000) / 1000;
    const span = this.lastX[slot]! - this.firstX[slot]!;
    const denominator = n * this.sxx[slot]! - this.sx[slot]! * this.sx[slot]!;
    if (n < 2 || span < 1000 || !(denominator > 0)) return { driftPpm: null, jitterMs };
    const slope = (n * this.sxy[slot]! - this.sx[slot]! * this.sy[slot]!) / denominator;
    return { driftPpm: Math.round(slope * 1e6 * 10) / 10, jitterMs };
  }
}

/**
 * 2.3b and the PCR drift of each PCR PID slot. 2.3b as TR 101 290 defines it: the difference
 * between two consecutive PCRs of the PID (modulo 2^33 × 300) is outside 0...`discontinuityMs`
 * while the later packet's discontinuity_indicator is not set. A flagged discontinuity or an
 * error restarts the drift measurement (the PCR timeline changed).
 *
 * Drift (in place of 2.4): PCR accuracy is ±500 ns (TR 101 290 2.4), but a receiver that
 * timestamps datagrams in user space sees network and scheduling jitter of hundreds of
 * microseconds to milliseconds, and all 7 packets of a datagram share one arrival time. So this
 * reports the offset of the PCR clock against arrival time, its least-squares slope in ppm (a
 * sender clock off by more than the 30 ppm of ISO/IEC 13818-1 §2.4.2.1 shows) and its spread in
 * ms, as information, never as a TR 101 290 error.
 */
export class PcrTracker {
  readonly #discontinuityTicks: number;
  /** Per slot: last PCR value (27 MHz, wrapped), -1 before the first. */
  readonly #last: Float64Array;
  /** Per slot: PCR elapsed since the reference, unwrapped, ticks; and the reference's arrival. */
  readonly #elapsed: Float64Array;
  readonly #refArrival: Float64Array;
  readonly #run: OffsetStats;
  readonly #interval: OffsetStats;
  #errors = 0;

  constructor(slots: number, discontinuityMs: number) {
    this.#discontinuityTicks = discontinuityMs * TICKS_PER_MS;
    this.#last = new Float64Array(slots).fill(-1);
    this.#elapsed = new Float64Array(slots);
    this.#refArrival = new Float64Array(slots);
    this.#run = new OffsetStats(slots);
    this.#interval = new OffsetStats(slots);
  }

  /** 2.3b errors counted so far. */
  get errors(): number {
    return this.#errors;
  }

  /** Forgets `slot` (it is no longer a PCR PID); its next PCR starts afresh. */
  reset(slot: number): void {
    this.#last[slot] = -1;
    this.#run.clear(slot);
    this.#interval.clear(slot);
  }

  /** A PCR `pcr` (27 MHz) on `slot` arrived at `arrivalMs`; `flagged`: discontinuity_indicator. */
  onPcr(slot: number, pcr: number, arrivalMs: number, flagged: boolean): void {
    const last = this.#last[slot]!;
    this.#last[slot] = pcr;
    if (last >= 0 && !flagged) {
      let delta = pcr - last;
      if (delta < 0) delta += TS.PCR_MODULO;
      if (delta < HALF_MODULO && delta <= this.#discontinuityTicks) {
        this.#elapsed[slot]! += delta;
        const x = arrivalMs - this.#refArrival[slot]!;
        const y = this.#elapsed[slot]! / TICKS_PER_MS - x;
        this.#run.add(slot, x, y);
        this.#interval.add(slot, x, y);
        return;
      }
      this.#errors++; // backwards (delta ≥ half the modulo) or a jump beyond the limit
    }
    // First PCR, flagged discontinuity or error: a new reference for the drift.
    this.#elapsed[slot] = 0;
    this.#refArrival[slot] = arrivalMs;
    this.#run.clear(slot);
    this.#interval.clear(slot);
    this.#run.add(slot, 0, 0);
    this.#interval.add(slot, 0, 0);
  }

  /** Drift and jitter of `slot` since its last reference (`interval`: since the last takeInterval). */
  drift(slot: number, interval: boolean): PcrDrift {
    return (interval ? this.#interval : this.#run).drift(slot);
  }

  /** Starts a new interval for `slot`'s interval figures. */
  startInterval(slot: number): void {
    this.#interval.clear(slot);
  }
}
