// Receiver statistics of one RTP synchronisation source (RFC 3550 §6.4.1, Appendix A.3 loss and
// A.8 interarrival jitter): cumulative and per-interval counts, fraction lost, jitter, bitrate.
// Time is injected (arrival and "now" in ms), so the figures are reproducible in tests.

import type { RtpHeaderFields } from "./packet.ts";
import { SequenceResult, SequenceTracker } from "./sequence.ts";

/** Bytes of UDP + IP headers added to each RTP datagram on the wire (RFC 768, 791, 8200). */
export const WIRE_OVERHEAD_BYTES = {
  /** UDP 8 + IPv4 20 (no options). */
  4: 28,
  /** UDP 8 + IPv6 40 (no extension headers). */
  6: 48,
} as const;

/** IP version the datagrams arrived over; selects {@link WIRE_OVERHEAD_BYTES}. */
export type IpVersion = keyof typeof WIRE_OVERHEAD_BYTES;

/** Options of {@link SourceStats}. */
export interface SourceStatsOptions {
  /** SSRC of the source. */
  ssrc: number;
  /** RTP clock rate of its payload type in Hz (from the SDP `a=rtpmap`), e.g. 90000. */
  clockRate: number;
  /** Start of the measurement in ms; defaults to the first packet's arrival. */
  firstArrivalMs?: number;
  /** IP version for the wire bitrate; default 4. */
  ipVersion?: IpVersion;
  /**
   * A silence at least this long (ms) is not sending time: the cumulative rates of
   * {@link SourceStats.snapshot} leave it out (stalls, and the time after the source ended).
   * Default {@link DEFAULT_SILENCE_LIMIT_MS}.
   */
  silenceLimitMs?: number;
}

/** Default {@link SourceStatsOptions.silenceLimitMs}: the client's default `--stall-after`. */
export const DEFAULT_SILENCE_LIMIT_MS = 2000;

/**
 * Statistics of one source, cumulative (from {@link SourceStats.snapshot}) or of one interval
 * (from {@link SourceStats.takeInterval}). Keys are the JSON keys the client prints; times are in
 * ms on the clock the caller injected, `null` when no packet arrived yet.
 */
export interface SourceSnapshot {
  /** Synchronisation source identifier (unsigned 32 bits). */
  readonly ssrc: number;
  /** Payload type of the last packet, or -1 before any packet. */
  readonly payloadType: number;
  /** Clock rate used for jitter, Hz. */
  readonly clockRate: number;
  /** A.1 validation passed (probation over). Packets of a source still on probation are pending, not counted. */
  readonly valid: boolean;
  /** Accepted datagrams, duplicates included. */
  readonly packets: number;
  /** RTP datagram bytes (header + payload + padding) of the accepted datagrams. */
  readonly bytes: number;
  /** RTP payload bytes (padding excluded) of the accepted datagrams. */
  readonly payloadBytes: number;
  /** Packets expected from the sequence numbers: extended_max − base_seq + 1 summed over epochs (A.3). */
  readonly expected: number;
  /** max(0, expected − unique received): duplicates never hide loss (A.3). */
  readonly lost: number;
  /** lost / expected in [0, 1]; 0 when nothing was expected (A.3). */
  readonly fractionLost: number;
  /** Packets whose extended sequence number had already been seen. */
  readonly duplicates: number;
  /** Packets that arrived after one with a higher extended sequence number (late), not duplicates. */
  readonly reordered: number;
  /**
   * Packets A.1 does not count (RFC 3550 A.1): probation runs that broke off, large jumps no
   * packet confirmed (beyond MAX_DROPOUT ahead, or more than MAX_MISORDER behind), and the packets
   * still held for confirmation. A later confirmation (a probation run that completes, a restart
   * that continues a held jump) moves the held ones into `packets`, so every datagram routed to
   * this source is in `packets` or `discarded`. Per interval: the increase, never negative, and
   * without a probation run still pending (the first packet of a new source is not news).
   */
  readonly discarded: number;
  /** Confirmed sequence restarts (A.1 resync after a large jump; sender restarted with the same SSRC). */
  readonly restarts: number;
  /** Interarrival jitter (A.8), RTP timestamp units. */
  readonly jitter: number;
  /** Interarrival jitter in ms: jitter / clockRate × 1000. */
  readonly jitterMs: number;
  /** Payload bitrate: payloadBytes × 8 / seconds (seconds = durationMs / 1000). */
  readonly bitrateBps: number;
  /** Bitrate on the wire: (bytes + UDP/IP header bytes per packet) × 8 / seconds. */
  readonly wireBitrateBps: number;
  /** packets / seconds. */
  readonly packetsPerSecond: number;
  /**
   * Length in ms of the period the rates cover. Of an interval: the interval. Cumulative: the time
   * the source was sending, from its first packet to "now" without the silences of at least
   * `silenceLimitMs` (stalls, and the time since its last packet once that is as long).
   */
  readonly durationMs: number;
  /** Arrival of the first packet (or the configured start). */
  readonly firstArrivalMs: number | null;
  /** Arrival of the last packet. */
  readonly lastArrivalMs: number | null;
}

/**
 * RFC 3550 receiver statistics of one SSRC. `update()` is the hot path and allocates nothing;
 * `snapshot()` never changes state; `takeInterval()` reports and starts the next interval.
 */
export class SourceStats {
  /** Synchronisation source identifier. */
  readonly ssrc: number;
  /** Clock rate for jitter, Hz. */
  readonly clockRate: number;
  readonly #overhead: number;
  readonly #silenceLimitMs: number;
  readonly #sequence = new SequenceTracker();

  #payloadType = -1;
  #firstArrivalMs = Number.NaN;
  #lastArrivalMs = Number.NaN;
  // Sending time: the silences of at least #silenceLimitMs between the start and the last packet.
  #lastActivityMs = Number.NaN;
  #silentMs = 0;
  #arrivals = 0;

  #packets = 0;
  #bytes = 0;
  #payloadBytes = 0;
  #duplicates = 0;
  #reordered = 0;
  #discarded = 0;
  #lastDuplicate = false;

  // Probation run, or the BAD packet that may start a new epoch: counted once confirmed.
  #pendingPackets = 0;
  #pendingBytes = 0;
  #pendingPayloadBytes = 0;

  // A.8 jitter; previous arrival (timestamp units) and timestamp instead of transit, so that a
  // 32-bit timestamp wrap is handled by a signed 32-bit difference.
  #jitter = 0;
  #hasTransit = false;
  #previousArrivalTs = 0;
  #previousTimestamp = 0;

  // Interval marks: cumulative values at the last takeInterval().
  #markMs = Number.NaN;
  #markPackets = 0;
  #markBytes = 0;
  #markPayloadBytes = 0;
  #markExpected = 0;
  #markReceived = 0;
  #markDuplicates = 0;
  #markReordered = 0;
  #markDiscarded = 0;
  #markRestarts = 0;

  constructor(options: SourceStatsOptions) {
    this.ssrc = options.ssrc;
    this.clockRate = options.clockRate;
    this.#overhead = WIRE_OVERHEAD_BYTES[options.ipVersion ?? 4];
    this.#silenceLimitMs = options.silenceLimitMs ?? DEFAULT_SILENCE_LIMIT_MS;
    if (options.firstArrivalMs !== undefined) {
      this.#firstArrivalMs = options.firstArrivalMs;
      this.#lastActivityMs = options.firstArrivalMs;
    }
  }

  /** Arrival of the first packet (or the configured start), undefined before that. */
  get firstArrivalMs(): number | undefined {
    return Number.isNaN(this.#firstArrivalMs) ? undefined : this.#firstArrivalMs;
  }

  /** Arrival of the last packet, undefined before any. */
  get lastArrivalMs(): number | undefined {
    return Number.isNaN(this.#lastArrivalMs) ? undefined : this.#lastArrivalMs;
  }

  /** True once the source passed A.1 probation. */
  get valid(): boolean {
    return this.#sequence.valid;
  }

  /** True when the last packet given to update() was a duplicate (A.1 saw its number before). */
  get lastWasDuplicate(): boolean {
    return this.#lastDuplicate;
  }

  /**
   * Accounts one RTP packet of this source. `fields` as filled by readRtpHeader(),
   * `datagramBytes` the UDP payload size, `arrivalMs` its arrival time (e.g. performance.now()).
   */
  update(fields: RtpHeaderFields, datagramBytes: number, arrivalMs: number): void {
    if (Number.isNaN(this.#firstArrivalMs)) this.#firstArrivalMs = arrivalMs;
    const gap = arrivalMs - this.#lastActivityMs; // NaN for the first packet: no silence
    if (gap >= this.#silenceLimitMs) this.#silentMs += gap;
    this.#lastActivityMs = arrivalMs;
    this.#arrivals++;
    this.#lastArrivalMs = arrivalMs;
    this.#payloadType = fields.payloadType;
    const result = this.#sequence.update(fields.sequenceNumber);
    this.#lastDuplicate = result === SequenceResult.DUPLICATE;
    switch (result) {
      case SequenceResult.PROBATION:
        if (this.#sequence.runLength === 1) {
          // A new run: the previous one broke off; its transit must not feed the jitter.
          this.#discardPending();
          this.#hasTransit = false;
        }
        this.#hold(datagramBytes, fields.payloadLength);
        this.#updateJitter(fields.timestamp, arrivalMs);
        break;
      case SequenceResult.VALIDATED:
        this.#commitPending();
        this.#count(datagramBytes, fields.payloadLength);
        this.#updateJitter(fields.timestamp, arrivalMs);
        break;
      case SequenceResult.IN_ORDER:
        this.#count(datagramBytes, fields.payloadLength);
        this.#updateJitter(fields.timestamp, arrivalMs);
        break;
      case SequenceResult.REORDERED:
        this.#count(datagramBytes, fields.payloadLength);
        this.#reordered++;
        this.#updateJitter(fields.timestamp, arrivalMs);
        break;
      case SequenceResult.DUPLICATE:
        this.#count(datagramBytes, fields.payloadLength);
        this.#duplicates++;
        break;
      case SequenceResult.BAD:
        // Only the latest BAD packet can be confirmed by a RESTART.
        this.#discardPending();
        this.#hold(datagramBytes, fields.payloadLength);
        break;
      case SequenceResult.RESTART:
        // New epoch: the sender restarted, so its timestamps restarted too; reseed the transit.
        this.#commitPending();
        this.#count(datagramBytes, fields.payloadLength);
        this.#hasTransit = false;
        this.#updateJitter(fields.timestamp, arrivalMs);
        break;
    }
  }

  /** Cumulative statistics since the first packet, at `nowMs`. Pure: never changes state. */
  snapshot(nowMs: number): SourceSnapshot {
    const expected = this.#sequence.expected;
    const lost = Math.max(0, expected - this.#sequence.received);
    return this.#makeSnapshot({
      packets: this.#packets,
      bytes: this.#bytes,
      payloadBytes: this.#payloadBytes,
      expected,
      lost,
      duplicates: this.#duplicates,
      reordered: this.#reordered,
      discarded: this.#discarded + this.#pendingPackets,
      restarts: this.#sequence.restarts,
      durationMs: this.#sendingMs(nowMs),
    });
  }

  /**
   * Time from the start to `nowMs` without the silences of at least the limit (see durationMs).
   * A source that has gone quiet is given one mean packet gap after its last packet, so that n
   * packets are counted over n gaps, as while it sends.
   */
  #sendingMs(nowMs: number): number {
    if (Number.isNaN(this.#firstArrivalMs)) return 0;
    const trailing = nowMs - this.#lastActivityMs;
    const sent = this.#lastActivityMs - this.#firstArrivalMs - this.#silentMs;
    if (trailing < this.#silenceLimitMs) return sent + trailing;
    return sent + (this.#arrivals > 1 ? sent / (this.#arrivals - 1) : 0);
  }

  /**
   * Statistics of the interval since the previous call (the first interval starts at the first
   * packet), then starts the next interval at `nowMs`. fractionLost follows A.3:
   * lost_interval / expected_interval, 0 when expected_interval ≤ 0 or lost_interval ≤ 0.
   */
  takeInterval(nowMs: number): SourceSnapshot {
    const expected = this.#sequence.expected;
    const received = this.#sequence.received;
    const restarts = this.#sequence.restarts;
    const start = Number.isNaN(this.#markMs) ? this.#firstArrivalMs : this.#markMs;
    const expectedInterval = expected - this.#markExpected;
    const lostInterval = expectedInterval - (received - this.#markReceived);
    const result = this.#makeSnapshot({
      packets: this.#packets - this.#markPackets,
      bytes: this.#bytes - this.#markBytes,
      payloadBytes: this.#payloadBytes - this.#markPayloadBytes,
      expected: expectedInterval,
      lost: Math.max(0, lostInterval),
      duplicates: this.#duplicates - this.#markDuplicates,
      reordered: this.#reordered - this.#markReordered,
      discarded: Math.max(0, this.#intervalDiscarded() - this.#markDiscarded),
      restarts: restarts - this.#markRestarts,
      durationMs: Number.isNaN(start) ? 0 : nowMs - start,
    });
    this.#markMs = nowMs;
    this.#markPackets = this.#packets;
    this.#markBytes = this.#bytes;
    this.#markPayloadBytes = this.#payloadBytes;
    this.#markExpected = expected;
    this.#markReceived = received;
    this.#markDuplicates = this.#duplicates;
    this.#markReordered = this.#reordered;
    this.#markDiscarded = this.#intervalDiscarded();
    this.#markRestarts = restarts;
    return result;
  }

  /** Discarded so far as intervals count it: a probation run still pending is not (yet). */
  #intervalDiscarded(): number {
    return this.#discarded + (this.#sequence.valid ? this.#pendingPackets : 0);
  }

  #makeSnapshot(figures: {
    packets: number;
    bytes: number;
    payloadBytes: number;
    expected: number;
    lost: number;
    duplicates: number;
    reordered: number;
    discarded: number;
    restarts: number;
    durationMs: number;
  }): SourceSnapshot {
    const seconds = figures.durationMs / 1000;
    const rate = (value: number) => (seconds > 0 ? value / seconds : 0);
    const fractionLost = figures.expected > 0 && figures.lost > 0
      ? Math.min(1, figures.lost / figures.expected)
      : 0;
    return {
      ssrc: this.ssrc,
      payloadType: this.#payloadType,
      clockRate: this.clockRate,
      valid: this.#sequence.valid,
      packets: figures.packets,
      bytes: figures.bytes,
      payloadBytes: figures.payloadBytes,
      expected: figures.expected,
      lost: figures.lost,
      fractionLost,
      duplicates: figures.duplicates,
      reordered: figures.reordered,
      discarded: figures.discarded,
      restarts: figures.restarts,
      jitter: this.#jitter,
      jitterMs: (this.#jitter / this.clockRate) * 1000,
      bitrateBps: rate(figures.payloadBytes * 8),
      wireBitrateBps: rate((figures.bytes + figures.packets * this.#overhead) * 8),
      packetsPerSecond: rate(figures.packets),
      durationMs: Math.max(0, figures.durationMs),
      firstArrivalMs: Number.isNaN(this.#firstArrivalMs) ? null : this.#firstArrivalMs,
      lastArrivalMs: Number.isNaN(this.#lastArrivalMs) ? null : this.#lastArrivalMs,
    };
  }

  #count(datagramBytes: number, payloadBytes: number): void {
    this.#packets++;
    this.#bytes += datagramBytes;
    this.#payloadBytes += payloadBytes;
  }

  /** The held probation run or BAD packet was confirmed: count it. */
  #commitPending(): void {
    this.#packets += this.#pendingPackets;
    this.#bytes += this.#pendingBytes;
    this.#payloadBytes += this.#pendingPayloadBytes;
    this.#pendingPackets = 0;
    this.#pendingBytes = 0;
    this.#pendingPayloadBytes = 0;
  }

  #hold(datagramBytes: number, payloadBytes: number): void {
    this.#pendingPackets++;
    this.#pendingBytes += datagramBytes;
    this.#pendingPayloadBytes += payloadBytes;
  }

  #discardPending(): void {
    this.#discarded += this.#pendingPackets;
    this.#pendingPackets = 0;
    this.#pendingBytes = 0;
    this.#pendingPayloadBytes = 0;
  }

  /**
   * RFC 3550 A.8: D = (R_j − R_i) − (S_j − S_i) in timestamp units, J += (|D| − J) / 16.
   * The first packet only seeds (no spike). Arrival order, not sequence order, as A.8 says.
   */
  #updateJitter(timestamp: number, arrivalMs: number): void {
    const arrivalTs = (arrivalMs * this.clockRate) / 1000;
    if (this.#hasTransit) {
      // `| 0` turns the difference of two unsigned 32-bit timestamps into a signed one (wrap).
      const d = arrivalTs - this.#previousArrivalTs - ((timestamp - this.#previousTimestamp) | 0);
      this.#jitter += (Math.abs(d) - this.#jitter) / 16;
    }
    this.#previousArrivalTs = arrivalTs;
    this.#previousTimestamp = timestamp;
    this.#hasTransit = true;
  }
}
