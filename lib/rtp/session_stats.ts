// Receiver-side RTP statistics for one multicast session (RFC 3550 §6.4.1, Appendix A): validates
// each datagram's header, filters payload types, and routes packets to per-SSRC SourceStats.
// Pure bookkeeping, no sockets: the receive loop calls onDatagram() with an injected arrival time.

import {
  createRtpHeaderFields,
  readRtpHeader,
  RTP_HEADER_STATUS_REASONS,
  type RtpHeaderFields,
  RtpHeaderStatus,
  type RtpInvalidReason,
} from "./packet.ts";
import { type IpVersion, type SourceSnapshot, SourceStats } from "./source_stats.ts";

/** Defaults of {@link ReceiverStats}. */
export const RECEIVER_DEFAULTS = {
  /** Clock rate of payload types missing from `clockRates` (RFC 3551 video and MP2T use 90 kHz). */
  DEFAULT_CLOCK_RATE: 90000,
  /** Most SSRCs tracked at once; beyond that one is evicted (see ReceiverStats) or none is added. */
  MAX_SOURCES: 64,
  /** Valid sources heard within this long are never evicted, in ms (the client's --stall-after). */
  PROTECT_ACTIVE_MS: 2000,
} as const;

/** Options of {@link ReceiverStats}. */
export interface ReceiverStatsOptions {
  /** Payload type → RTP clock rate in Hz, from the SDP `a=rtpmap` lines. */
  clockRates?: ReadonlyMap<number, number>;
  /** Clock rate for payload types not in `clockRates`; default 90000. */
  defaultClockRate?: number;
  /** Payload types the session carries; packets with others are counted, not measured. Empty = any. */
  expectedPayloadTypes?: ReadonlySet<number>;
  /** IP version of the session, for the wire bitrate; default 4. */
  ipVersion?: IpVersion;
  /** Most SSRCs tracked at once (default 64) so that garbage cannot grow memory. */
  maxSources?: number;
  /** Silences at least this long (ms) are not a source's sending time; see SourceStatsOptions. */
  silenceLimitMs?: number;
  /**
   * A source that passed probation and sent within this many ms is never evicted (default 2000:
   * pass the client's --stall-after), so a flood of new SSRCs cannot push a live stream out.
   */
  protectActiveMs?: number;
}

/** Datagrams rejected by header validation, per reason. */
export type InvalidByReason = Readonly<Record<RtpInvalidReason, number>>;

/** Statistics of a whole session, cumulative or of one interval; keys are JSON output keys. */
export interface ReceiverSnapshot {
  /** The time ("now", ms on the injected clock) the snapshot was taken at. */
  readonly atMs: number;
  /** Datagrams handed to onDatagram(). */
  readonly datagrams: number;
  /** Datagrams that are not valid RTP. */
  readonly invalid: number;
  /** `invalid` split by reason. */
  readonly invalidByReason: InvalidByReason;
  /** Valid RTP with a payload type the session does not carry. */
  readonly unexpectedPayloadType: number;
  /** Packets the caller dropped by a source filter (SSM), see countFiltered(). */
  readonly filtered: number;
  /** Sources dropped to keep at most `maxSources`. */
  readonly evictedSources: number;
  /**
   * Valid RTP packets of new SSRCs not tracked because every tracked source was valid and active
   * (a flood of new SSRCs while the table is full).
   */
  readonly untrackedPackets: number;
  /** One entry per tracked SSRC, in order of first appearance. */
  readonly sources: readonly SourceSnapshot[];
}

const STATUS_COUNT = RTP_HEADER_STATUS_REASONS.length;

/**
 * All receiver statistics of a session. `onDatagram()` is the hot path: it reuses one header
 * object, never throws and allocates only when a new SSRC appears. A new SSRC is a new source
 * (no loss is carried over); a sender restart within one SSRC is handled by its SourceStats.
 */
export class ReceiverStats {
  readonly #clockRates: ReadonlyMap<number, number>;
  readonly #defaultClockRate: number;
  readonly #expectedPayloadTypes: ReadonlySet<number>;
  readonly #ipVersion: IpVersion;
  readonly #maxSources: number;
  readonly #silenceLimitMs: number | undefined;
  readonly #protectActiveMs: number;
  readonly #fields = createRtpHeaderFields();
  readonly #sources = new Map<number, SourceStats>();

  #firstPacketMs = Number.NaN;
  #datagrams = 0;
  #unexpectedPayloadType = 0;
  #filtered = 0;
  #evicted = 0;
  #untracked = 0;
  #lastDuplicate = false;
  readonly #invalid = new Float64Array(STATUS_COUNT);

  #markDatagrams = 0;
  #markUnexpected = 0;
  #markFiltered = 0;
  #markEvicted = 0;
  #markUntracked = 0;
  readonly #markInvalid = new Float64Array(STATUS_COUNT);

  constructor(options: ReceiverStatsOptions = {}) {
    this.#clockRates = options.clockRates ?? new Map();
    this.#defaultClockRate = options.defaultClockRate ?? RECEIVER_DEFAULTS.DEFAULT_CLOCK_RATE;
    this.#expectedPayloadTypes = options.expectedPayloadTypes ?? new Set();
    this.#ipVersion = options.ipVersion ?? 4;
    this.#maxSources = Math.max(1, options.maxSources ?? RECEIVER_DEFAULTS.MAX_SOURCES);
    this.#silenceLimitMs = options.silenceLimitMs;
    this.#protectActiveMs = options.protectActiveMs ?? RECEIVER_DEFAULTS.PROTECT_ACTIVE_MS;
  }

  /** Arrival of the first packet routed to a source (valid header, expected PT), or undefined. */
  get firstPacketMs(): number | undefined {
    return Number.isNaN(this.#firstPacketMs) ? undefined : this.#firstPacketMs;
  }

  /**
   * The header of the last datagram given to onDatagram(); meaningful only when it returned true
   * (payload offset and length, sequence number and SSRC of that packet). Overwritten by the next.
   */
  get lastHeader(): Readonly<RtpHeaderFields> {
    return this.#fields;
  }

  /** True when the last packet onDatagram() counted was a duplicate (RFC 3550 A.1). */
  get lastWasDuplicate(): boolean {
    return this.#lastDuplicate;
  }

  /** Packets dropped by the caller's source filter so far. */
  get filtered(): number {
    return this.#filtered;
  }

  /**
   * Accounts one received datagram; `arrivalMs` is its arrival time (e.g. performance.now()).
   * Returns true when it was counted as an RTP packet of a source, false for an invalid datagram
   * or an unexpected payload type.
   */
  onDatagram(u8: Uint8Array, arrivalMs: number): boolean {
    this.#datagrams++;
    const fields = this.#fields;
    const status = readRtpHeader(u8, fields);
    if (status !== RtpHeaderStatus.OK) {
      this.#invalid[status]!++;
      return false;
    }
    if (
      this.#expectedPayloadTypes.size > 0 && !this.#expectedPayloadTypes.has(fields.payloadType)
    ) {
      this.#unexpectedPayloadType++;
      return false;
    }
    let source = this.#sources.get(fields.ssrc);
    if (source === undefined) {
      source = this.#addSource(fields.ssrc, fields.payloadType, arrivalMs);
      if (source === undefined) {
        this.#untracked++;
        return false;
      }
    }
    if (Number.isNaN(this.#firstPacketMs)) this.#firstPacketMs = arrivalMs;
    source.update(fields, u8.byteLength, arrivalMs);
    this.#lastDuplicate = source.lastWasDuplicate;
    return true;
  }

  /** Counts one packet the caller dropped because its source address failed the SSM filter. */
  countFiltered(): void {
    this.#filtered++;
  }

  /** The tracked sources, in order of first appearance. */
  sources(): Iterable<SourceStats> {
    return this.#sources.values();
  }

  /** Cumulative statistics at `nowMs`. Pure: never changes state. */
  snapshot(nowMs: number): ReceiverSnapshot {
    return {
      atMs: nowMs,
      datagrams: this.#datagrams,
      invalid: sum(this.#invalid),
      invalidByReason: byReason(this.#invalid, null),
      unexpectedPayloadType: this.#unexpectedPayloadType,
      filtered: this.#filtered,
      evictedSources: this.#evicted,
      untrackedPackets: this.#untracked,
      sources: Array.from(this.#sources.values(), (s) => s.snapshot(nowMs)),
    };
  }

  /** Statistics of the interval since the previous call (see SourceStats.takeInterval); starts the next. */
  takeInterval(nowMs: number): ReceiverSnapshot {
    const result: ReceiverSnapshot = {
      atMs: nowMs,
      datagrams: this.#datagrams - this.#markDatagrams,
      invalid: sum(this.#invalid) - sum(this.#markInvalid),
      invalidByReason: byReason(this.#invalid, this.#markInvalid),
      unexpectedPayloadType: this.#unexpectedPayloadType - this.#markUnexpected,
      filtered: this.#filtered - this.#markFiltered,
      evictedSources: this.#evicted - this.#markEvicted,
      untrackedPackets: this.#untracked - this.#markUntracked,
      sources: Array.from(this.#sources.values(), (s) => s.takeInterval(nowMs)),
    };
    this.#markDatagrams = this.#datagrams;
    this.#markInvalid.set(this.#invalid);
    this.#markUnexpected = this.#unexpectedPayloadType;
    this.#markFiltered = this.#filtered;
    this.#markEvicted = this.#evicted;
    this.#markUntracked = this.#untracked;
    return result;
  }

  #addSource(ssrc: number, payloadType: number, nowMs: number): SourceStats | undefined {
    if (this.#sources.size >= this.#maxSources && !this.#evictOne(nowMs)) return undefined;
    const source = new SourceStats({
      ssrc,
      clockRate: this.#clockRates.get(payloadType) ?? this.#defaultClockRate,
      ipVersion: this.#ipVersion,
      ...(this.#silenceLimitMs === undefined ? {} : { silenceLimitMs: this.#silenceLimitMs }),
    });
    this.#sources.set(ssrc, source);
    return source;
  }

  /**
   * Evicts one source to make room: the least recently seen of those still on A.1 probation, else
   * the least recently seen valid one silent for `protectActiveMs`. A valid source heard since then
   * is never evicted; false when every tracked source is one.
   */
  #evictOne(nowMs: number): boolean {
    let victim: SourceStats | undefined;
    for (const source of this.#sources.values()) {
      if (source.valid && nowMs - (source.lastArrivalMs ?? -Infinity) < this.#protectActiveMs) {
        continue;
      }
      if (victim === undefined || isBetterVictim(source, victim)) victim = source;
    }
    if (victim === undefined) return false;
    this.#sources.delete(victim.ssrc);
    this.#evicted++;
    return true;
  }
}

function isBetterVictim(candidate: SourceStats, current: SourceStats): boolean {
  if (candidate.valid !== current.valid) return !candidate.valid;
  return (candidate.lastArrivalMs ?? -Infinity) < (current.lastArrivalMs ?? -Infinity);
}

function sum(counts: Float64Array): number {
  let total = 0;
  for (let i = 1; i < counts.length; i++) total += counts[i]!;
  return total;
}

function byReason(counts: Float64Array, marks: Float64Array | null): InvalidByReason {
  const at = (status: RtpHeaderStatus) => counts[status]! - (marks?.[status] ?? 0);
  return {
    tooShort: at(RtpHeaderStatus.TOO_SHORT),
    badVersion: at(RtpHeaderStatus.BAD_VERSION),
    badCsrc: at(RtpHeaderStatus.BAD_CSRC),
    badExtension: at(RtpHeaderStatus.BAD_EXTENSION),
    badPadding: at(RtpHeaderStatus.BAD_PADDING),
  };
}
