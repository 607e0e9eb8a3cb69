// Counts of a raw MPEG-TS over UDP stream (ISO/IEC 13818-1 packets straight in the datagram, no
// RFC 3550 header): datagrams, bytes and rates over the time it sent. No sequence numbers, so no
// loss, duplicates or jitter here: the TS analyser estimates loss from the continuity counters.

/** Figures of a raw UDP stream, cumulative or of one interval. */
export interface UdpSnapshot {
  /** Datagrams received. */
  readonly packets: number;
  /** UDP payload bytes received (the transport stream). */
  readonly bytes: number;
  /** Payload bitrate, bit/s (over the sending time for totals, the interval for intervals). */
  readonly bitrateBps: number;
  readonly packetsPerSecond: number;
  /** Time the rates are taken over, ms. */
  readonly durationMs: number;
  readonly firstArrivalMs: number | null;
  readonly lastArrivalMs: number | null;
}

/**
 * Datagram counts of one raw UDP stream. Pure: `onDatagram(bytes, arrivalMs)`; `snapshot()` never
 * changes state; `takeInterval()` reports and starts the next interval. Rates of the totals leave
 * out every silence of at least `silenceLimitMs` (as SourceStats does for RTP).
 */
export class UdpStats {
  readonly #silenceLimitMs: number;
  #packets = 0;
  #bytes = 0;
  #firstMs = Number.NaN;
  #lastMs = Number.NaN;
  #silentMs = 0;
  #markMs = Number.NaN;
  #markPackets = 0;
  #markBytes = 0;

  constructor(options: { readonly silenceLimitMs: number }) {
    this.#silenceLimitMs = options.silenceLimitMs;
  }

  /** Datagrams so far. */
  get packets(): number {
    return this.#packets;
  }

  /** Accounts one datagram of `bytes` payload bytes that arrived at `arrivalMs`. */
  onDatagram(bytes: number, arrivalMs: number): void {
    if (Number.isNaN(this.#firstMs)) this.#firstMs = arrivalMs;
    const gap = arrivalMs - this.#lastMs; // NaN for the first datagram
    if (gap >= this.#silenceLimitMs) this.#silentMs += gap;
    this.#lastMs = arrivalMs;
    this.#packets++;
    this.#bytes += bytes;
  }

  /** Totals at `nowMs`. Pure. */
  snapshot(nowMs: number): UdpSnapshot {
    return this.#make(this.#packets, this.#bytes, this.#sendingMs(nowMs));
  }

  /** Figures since the previous call (the first interval starts at the first datagram). */
  takeInterval(nowMs: number): UdpSnapshot {
    const start = Number.isNaN(this.#markMs) ? this.#firstMs : this.#markMs;
    const result = this.#make(
      this.#packets - this.#markPackets,
      this.#bytes - this.#markBytes,
      Number.isNaN(start) ? 0 : nowMs - start,
    );
    this.#markMs = nowMs;
    this.#markPackets = this.#packets;
    this.#markBytes = this.#bytes;
    return result;
  }

  /** From the first datagram to now without the long silences; one mean gap after the last. */
  #sendingMs(nowMs: number): number {
    if (Number.isNaN(this.#firstMs)) return 0;
    const trailing = nowMs - this.#lastMs;
    const sent = this.#lastMs - this.#firstMs - this.#silentMs;
    if (trailing < this.#silenceLimitMs) return sent + trailing;
    return sent + (this.#packets > 1 ? sent / (this.#packets - 1) : 0);
  }

  #make(packets: number, bytes: number, durationMs: number): UdpSnapshot {
    const seconds = Math.max(0, durationMs) / 1000;
    return {
      packets,
      bytes,
      bitrateBps: seconds > 0 ? (bytes * 8) / seconds : 0,
      packetsPerSecond: seconds > 0 ? packets / seconds : 0,
      durationMs: Math.max(0, durationMs),
      firstArrivalMs: Number.isNaN(this.#firstMs) ? null : this.#firstMs,
      lastArrivalMs: Number.isNaN(this.#lastMs) ? null : this.#lastMs,
    };
  }
}
