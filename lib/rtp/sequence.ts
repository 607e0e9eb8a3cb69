// Per-source RTP sequence number state machine (RFC 3550 Appendix A.1): probation, 16-bit wrap
// into an extended sequence number, large-jump detection and resync, plus a bitmap window of
// recently seen extended sequence numbers to tell duplicates from late (reordered) packets.

/** Constants of RFC 3550 Appendix A.1 (`update_seq`). */
export const SEQUENCE_LIMITS = {
  /** Sequential packets needed before a source is valid. */
  MIN_SEQUENTIAL: 2,
  /** Largest forward gap still taken as in order (loss); larger is a jump. */
  MAX_DROPOUT: 3000,
  /** Largest backward distance still taken as a late or duplicate packet. */
  MAX_MISORDER: 100,
  /** Sequence numbers are 16 bits. */
  RTP_SEQ_MOD: 0x10000,
} as const;

/** Width in packets of the duplicate-detection window (a power of two, > MAX_MISORDER). */
export const DUPLICATE_WINDOW = 2048;

/** What {@link SequenceTracker.update} decided about one packet (RFC 3550 A.1 branches). */
export const SequenceResult = {
  /** Source not valid yet (A.1 probation); the packet belongs to the current probation run. */
  PROBATION: 0,
  /** This packet completed probation: the whole run (`runLength` packets) now counts. */
  VALIDATED: 1,
  /** New highest extended sequence number (possibly after a gap, i.e. loss). */
  IN_ORDER: 2,
  /** Late: extended sequence number below the highest and not seen before. */
  REORDERED: 3,
  /** Extended sequence number already seen within the window. */
  DUPLICATE: 4,
  /** Very large jump (A.1 "bad_seq"): discarded but remembered in case the sender restarted. */
  BAD: 5,
  /** The packet after a BAD one continued it: resync, a new epoch starts at the BAD packet. */
  RESTART: 6,
} as const;

/** One of the {@link SequenceResult} codes. */
export type SequenceResult = typeof SequenceResult[keyof typeof SequenceResult];

const MOD = SEQUENCE_LIMITS.RTP_SEQ_MOD;
const SEQ_MASK = MOD - 1;
const WINDOW_MASK = DUPLICATE_WINDOW - 1;
const NO_BAD_SEQ = MOD + 1; // A.1: "so seq == bad_seq is false"

/**
 * Sequence state of one synchronisation source (RFC 3550 A.1). Feed it every packet's 16-bit
 * sequence number in arrival order; it keeps the extended highest sequence number, cumulative
 * `expected` and unique `received` counts over all epochs (a confirmed restart closes an epoch
 * so a sender restart is not counted as ~65 000 lost), and allocates nothing per packet.
 *
 * Deviation from A.1, which drops the probation packets and the packet that starts a resync:
 * here they count. On validation the epoch's base is the first packet of the probation run; on
 * a restart it is the BAD packet that the RESTART packet confirmed. Received counts only unique
 * packets whose extended number is within [base, highest], so duplicates never hide loss.
 */
export class SequenceTracker {
  #started = false;
  #probation = 0;
  #runLength = 0;
  /** Highest 16-bit sequence number (A.1 max_seq). */
  #maxSeq = 0;
  /** Wraps of the current epoch, already multiplied by 2^16 (A.1 "shifted count"). */
  #cycles = 0;
  /** Extended sequence number of the current epoch's first packet (A.1 base_seq). */
  #baseSeq = 0;
  #badSeq: number = NO_BAD_SEQ;
  /** Unique packets of the current epoch with extended number in [base, max]. */
  #received = 0;
  #priorExpected = 0;
  #priorReceived = 0;
  #restarts = 0;
  #lastExtended = 0;
  readonly #seen = new Uint32Array(DUPLICATE_WINDOW / 32);

  /** True once probation is over (A.1: `probation == 0`). */
  get valid(): boolean {
    return this.#started && this.#probation === 0;
  }

  /** Packets in the current probation run (0 once valid). */
  get runLength(): number {
    return this.#probation === 0 ? 0 : this.#runLength;
  }

  /** Highest 16-bit sequence number seen in the current epoch. */
  get maxSeq(): number {
    return this.#maxSeq;
  }

  /** Times the sequence number wrapped in the current epoch. */
  get cycles(): number {
    return this.#cycles / MOD;
  }

  /** Extended highest sequence number of the current epoch (cycles × 2^16 + max_seq). */
  get extendedMax(): number {
    return this.#cycles + this.#maxSeq;
  }

  /** Extended sequence number the current epoch started at. */
  get baseSeq(): number {
    return this.#baseSeq;
  }

  /** Extended sequence number of the last packet classified VALIDATED, IN_ORDER, REORDERED, DUPLICATE or RESTART. */
  get lastExtended(): number {
    return this.#lastExtended;
  }

  /** Packets expected over all epochs: Σ (extended_max − base_seq + 1) (RFC 3550 A.3). */
  get expected(): number {
    return this.valid ? this.#priorExpected + this.extendedMax - this.#baseSeq + 1 : 0;
  }

  /** Unique packets received over all epochs, within each epoch's [base, max]. */
  get received(): number {
    return this.#priorReceived + this.#received;
  }

  /** Confirmed resyncs after a large jump (sender restarts). */
  get restarts(): number {
    return this.#restarts;
  }

  /** Classifies one packet by its 16-bit sequence number and updates the state (RFC 3550 A.1). */
  update(sequenceNumber: number): SequenceResult {
    const seq = sequenceNumber & SEQ_MASK;
    if (!this.#started) {
      // A.1: init_seq(s, seq); s->max_seq = seq - 1; s->probation = MIN_SEQUENTIAL;
      this.#started = true;
      this.#maxSeq = (seq - 1) & SEQ_MASK;
      this.#probation = SEQUENCE_LIMITS.MIN_SEQUENTIAL;
      this.#runLength = 0;
    }
    if (this.#probation > 0) return this.#updateProbation(seq);

    const udelta = (seq - this.#maxSeq) & SEQ_MASK;
    if (udelta === 0) {
      this.#lastExtended = this.extendedMax;
      return SequenceResult.DUPLICATE;
    }
    if (udelta < SEQUENCE_LIMITS.MAX_DROPOUT) {
      // In order, with a permissible gap. `seq < max_seq` with a small forward delta means a wrap.
      if (seq < this.#maxSeq) this.#cycles += MOD;
      const previous = this.extendedMax;
      this.#maxSeq = seq;
      const extended = this.#cycles + seq;
      this.#advanceWindow(previous, extended);
      this.#mark(extended);
      this.#received++;
      this.#lastExtended = extended;
      return SequenceResult.IN_ORDER;
    }
    if (udelta <= MOD - SEQUENCE_LIMITS.MAX_MISORDER) {
      // A very large jump: a restart only if the next packet continues it.
      if (seq === this.#badSeq) return this.#restart(seq);
      this.#badSeq = (seq + 1) & SEQ_MASK;
      return SequenceResult.BAD;
    }
    // Late or duplicate. A number above max_seq belongs to the previous cycle: do not compare
    // 16-bit values alone, or a late pre-wrap packet would add 65 536.
    const extended = seq > this.#maxSeq ? this.#cycles - MOD + seq : this.#cycles + seq;
    this.#lastExtended = extended;
    const counts = extended >= this.#baseSeq;
    if (extended <= this.extendedMax - DUPLICATE_WINDOW) {
      // Older than the window: cannot tell, take it as late (unreachable while MAX_MISORDER < window).
      if (counts) this.#received++;
      return SequenceResult.REORDERED;
    }
    if (this.#isSeen(extended)) return SequenceResult.DUPLICATE;
    this.#mark(extended);
    if (counts) this.#received++;
    return SequenceResult.REORDERED;
  }

  #updateProbation(seq: number): SequenceResult {
    if (seq !== ((this.#maxSeq + 1) & SEQ_MASK)) {
      // Not sequential: a new run starts with this packet (A.1: probation = MIN_SEQUENTIAL - 1).
      this.#probation = SEQUENCE_LIMITS.MIN_SEQUENTIAL - 1;
      this.#maxSeq = seq;
      this.#runLength = 1;
      return SequenceResult.PROBATION;
    }
    this.#probation--;
    this.#maxSeq = seq;
    this.#runLength++;
    if (this.#probation > 0) return SequenceResult.PROBATION;
    // Valid: the epoch starts at the first packet of the run, which all count.
    this.#startEpoch(seq, this.#runLength);
    return SequenceResult.VALIDATED;
  }

  #restart(seq: number): SequenceResult {
    this.#priorExpected += this.extendedMax - this.#baseSeq + 1;
    this.#priorReceived += this.#received;
    this.#restarts++;
    // The BAD packet (seq − 1) and this one start the new epoch.
    this.#startEpoch(seq, 2);
    return SequenceResult.RESTART;
  }

  /** New epoch whose last `count` packets, ending at 16-bit `seq`, were all received in sequence. */
  #startEpoch(seq: number, count: number): void {
    const base = (seq - count + 1) & SEQ_MASK;
    const extended = base + count - 1;
    this.#baseSeq = base;
    this.#maxSeq = seq;
    this.#cycles = extended - seq;
    this.#received = count;
    this.#badSeq = NO_BAD_SEQ;
    this.#seen.fill(0);
    for (let e = base; e <= extended; e++) this.#mark(e);
    this.#lastExtended = extended;
  }

  /** Clears the window slots of the extended numbers in (previous, next]. */
  #advanceWindow(previous: number, next: number): void {
    if (next - previous >= DUPLICATE_WINDOW) {
      this.#seen.fill(0);
      return;
    }
    for (let e = previous + 1; e <= next; e++) {
      const slot = e & WINDOW_MASK;
      this.#seen[slot >>> 5] = this.#seen[slot >>> 5]! & ~(1 << (slot & 31));
    }
  }

  #mark(extended: number): void {
    const slot = extended & WINDOW_MASK;
    this.#seen[slot >>> 5] = this.#seen[slot >>> 5]! | (1 << (slot & 31));
  }

  #isSeen(extended: number): boolean {
    const slot = extended & WINDOW_MASK;
    return (this.#seen[slot >>> 5]! & (1 << (slot & 31))) !== 0;
  }
}
