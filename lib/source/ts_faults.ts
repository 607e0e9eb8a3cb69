// Transport stream faults the test source can inject (the ETSI TR 101 290 §5.2.1/§5.2.2 conditions
// its analyser must find): continuity skips, transport errors, bad CRCs, withheld tables, PCR gaps
// and jumps. A schedule in mux time, validated once; consulted per packet without allocation.

/** A fault applied `count` times: at the first eligible packet at or after `atMs + k × everyMs`. */
export interface RepeatedFault {
  /** Mux time of the first, ms (≥ 0). */
  readonly atMs: number;
  /** How many (integer ≥ 0). */
  readonly count: number;
  /** Spacing, ms (> 0, default 100). */
  readonly everyMs?: number;
}

/** A span of mux time `[atMs, atMs + durationMs)`. */
export interface WindowFault {
  readonly atMs: number;
  readonly durationMs: number;
}

/** From `atMs` on, every PCR is `jumpMs` later (or earlier, if negative) than it should be. */
export interface PcrJumpFault {
  readonly atMs: number;
  readonly jumpMs: number;
  /** Set discontinuity_indicator on the first PCR after the jump (then it is no 2.3b error). */
  readonly flagged?: boolean;
}

/** The faults of one muxer run (all optional; none by default). */
export interface TsFaultOptions {
  /** Skip one value of the audio PID's continuity_counter (1.4), on a packet with payload. */
  readonly ccSkips?: RepeatedFault;
  /** Set transport_error_indicator (2.1) on an audio packet with payload. */
  readonly transportErrors?: RepeatedFault;
  /** Corrupt the CRC_32 (2.2) of a PAT, PMT or SDT section (default PAT). */
  readonly crcErrors?: RepeatedFault & { readonly table?: "pat" | "pmt" | "sdt" };
  /** Withhold the PAT (1.3). */
  readonly patGaps?: readonly WindowFault[];
  /** Withhold the PMT (1.5). */
  readonly pmtGaps?: readonly WindowFault[];
  /** Send no PCR (2.3a; 2.3b too when longer than its limit). */
  readonly pcrGaps?: readonly WindowFault[];
  /** Send nothing on the audio PID: no audio, no PCR (1.6, 2.5, 2.3). */
  readonly audioGaps?: readonly WindowFault[];
  /** Unflagged or flagged PCR jumps (2.3b). */
  readonly pcrJumps?: readonly PcrJumpFault[];
}

function check(ok: boolean, message: string): void {
  if (!ok) throw new RangeError(message);
}

function checkTime(value: number, name: string): void {
  check(Number.isFinite(value) && value >= 0, `${name} must be ms ≥ 0, got ${value}`);
}

/** Throws RangeError naming the first invalid fault option. */
export function validateFaults(faults: TsFaultOptions): void {
  for (const key of ["ccSkips", "transportErrors", "crcErrors"] as const) {
    const f = faults[key];
    if (f === undefined) continue;
    checkTime(f.atMs, `${key}.atMs`);
    check(Number.isInteger(f.count) && f.count >= 0, `${key}.count must be an integer ≥ 0`);
    const every = f.everyMs ?? 100;
    check(Number.isFinite(every) && every > 0, `${key}.everyMs must be ms > 0, got ${every}`);
  }
  const table = faults.crcErrors?.table;
  check(table === undefined || ["pat", "pmt", "sdt"].includes(table), `crcErrors.table: ${table}`);
  for (const key of ["patGaps", "pmtGaps", "pcrGaps", "audioGaps"] as const) {
    for (const [i, w] of (faults[key] ?? []).entries()) {
      checkTime(w.atMs, `${key}[${i}].atMs`);
      checkTime(w.durationMs, `${key}[${i}].durationMs`);
    }
  }
  for (const [i, j] of (faults.pcrJumps ?? []).entries()) {
    checkTime(j.atMs, `pcrJumps[${i}].atMs`);
    check(Number.isFinite(j.jumpMs), `pcrJumps[${i}].jumpMs must be a number of ms`);
  }
}

/** One {@link RepeatedFault}'s progress: is one due now, and marking it done. */
export class RepeatedSchedule {
  readonly #atMs: number;
  readonly #everyMs: number;
  readonly #count: number;
  #done = 0;

  constructor(fault: RepeatedFault | undefined) {
    this.#atMs = fault?.atMs ?? 0;
    this.#everyMs = fault?.everyMs ?? 100;
    this.#count = fault?.count ?? 0;
  }

  /** Whether the next occurrence is due at mux time `nowMs`. */
  due(nowMs: number): boolean {
    return this.#done < this.#count && nowMs >= this.#atMs + this.#done * this.#everyMs;
  }

  /** Marks the due occurrence as applied. */
  apply(): void {
    this.#done++;
  }

  /** Occurrences applied so far. */
  get applied(): number {
    return this.#done;
  }
}

/** Whether `nowMs` falls in one of the windows. */
export function inWindow(windows: readonly WindowFault[] | undefined, nowMs: number): boolean {
  if (windows === undefined) return false;
  for (const w of windows) if (nowMs >= w.atMs && nowMs < w.atMs + w.durationMs) return true;
  return false;
}
