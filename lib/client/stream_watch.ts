// One watched stream, without sockets or timers: RFC 3550 receiver statistics of its RTP packets,
// counts of raw MPEG-TS over UDP datagrams, TR 101 290 analysis of whatever carries MPEG-TS, and
// the reception state (waiting, receiving, stalled). Fed (datagram, arrival time); time injected.
import { SourceFilter } from "../net/source_filter.ts";
import type { DatagramBatch } from "../net/datagram_batch.ts";
import { type ReceiverSnapshot, ReceiverStats } from "../rtp/session_stats.ts";
import type { ReceiveTarget } from "../sdp/receive_target.ts";
import type { StreamTransport } from "../sdp/stream.ts";
import { isRawTsDatagram } from "../ts/raw_ts.ts";
import { TS } from "../ts/constants.ts";
import type { Tr101290Limits } from "../ts/tr101290.ts";
import type { TsSnapshot } from "../ts/ts_report.ts";
import type { TsOutput } from "./ts_output.ts";
import { TsWatch } from "./ts_watch.ts";
import { type UdpSnapshot, UdpStats } from "./udp_stats.ts";

/** Reception state shown in the view and in JSON. */
export type ReceptionState = "waiting" | "receiving" | "stalled";

/** Reception state and timing at a moment. */
export interface ReceptionStatus {
  readonly state: ReceptionState;
  /** Seconds since the stream was joined. */
  readonly elapsedS: number;
  readonly stalls: number;
  readonly stalledS: number;
}

/** Payload type of MP2T (RFC 3551 §6). */
const MP2T_PAYLOAD_TYPE = 33;

/** Options of {@link StreamWatch}. */
export interface StreamWatchOptions {
  /** The `stream` label: catalog name, the SDP's `s=`, or group:port. */
  readonly name: string;
  readonly target: ReceiveTarget;
  /** Senders accepted (the description's source filter and `--source`); empty: any. */
  readonly sources: readonly string[];
  /** `--stall-after` in ms. */
  readonly stallAfterMs: number;
  /** TR 101 290 limits of the analysers (`--pcr-interval-ms` ...). */
  readonly tsLimits?: Partial<Tr101290Limits>;
  /** When the stream was joined, on the clock of every later call. */
  readonly startMs: number;
  /** Analyse MPEG-TS (TR 101 290); default true (`--no-ts` turns it off). */
  readonly analyseTs?: boolean;
  /** Where the stream's transport stream is written (`--output`). */
  readonly output?: TsOutput;
}

/** What a watch reports for an interval or the whole run. */
export interface WatchFigures {
  readonly atMs: number;
  /** RTP statistics (sources, invalid, filtered, ...). */
  readonly rtp: ReceiverSnapshot;
  /** Raw UDP counts, once any raw MPEG-TS datagram arrived. */
  readonly udp: UdpSnapshot | undefined;
  /** MPEG-TS figures by SSRC (UDP_KEY for raw UDP). */
  readonly ts: ReadonlyMap<number, TsSnapshot>;
  /** Datagrams the kernel dropped on the stream's socket; undefined where unknown. */
  readonly socketDrops: number | undefined;
}

/**
 * Everything known about one stream. `onDatagram()` is the hot path (no allocation but for a new
 * SSRC); `tick()` moves the state on with the clock; `takeInterval()`/`snapshot()` report.
 */
export class StreamWatch {
  readonly name: string;
  readonly target: ReceiveTarget;
  /** The user-space source filter (empty: accepts everything). */
  readonly filter: SourceFilter;
  readonly startMs: number;
  readonly stats: ReceiverStats;
  readonly #udp: UdpStats;
  readonly ts: TsWatch;
  readonly #stallAfterMs: number;
  readonly #tsPayloadTypes: ReadonlySet<number>;
  readonly #analyseTs: boolean;
  readonly #output: TsOutput | undefined;
  #state: ReceptionState = "waiting";
  #changed: ReceptionState | undefined;
  #firstPacketMs = Number.NaN;
  #lastPacketMs = Number.NaN;
  #accepted = 0;
  #stalls = 0;
  #stalledMs = 0;
  #stallStartMs = Number.NaN;
  #dropsSocket: object | undefined;
  #dropsBase = 0;
  #dropsEarlier = 0;
  #drops: number | undefined;
  #dropsMark = 0;

  /** Throws MulticastError for a bad source, ConfigError for a TS limit out of range. */
  constructor(options: StreamWatchOptions) {
    const { target } = options;
    this.name = options.name;
    this.target = target;
    this.startMs = options.startMs;
    this.filter = new SourceFilter(options.sources);
    this.#stallAfterMs = options.stallAfterMs;
    this.stats = new ReceiverStats({
      clockRates: new Map(target.formats.map((f) => [f.payloadType, f.clockRate])),
      expectedPayloadTypes: new Set([
        ...target.formats.map((f) => f.payloadType),
        ...target.unknownPayloadTypes,
      ]),
      ipVersion: target.ipVersion,
      silenceLimitMs: options.stallAfterMs,
      // A live stream is never evicted by a flood of new SSRCs (it is stalled beyond this).
      protectActiveMs: options.stallAfterMs,
    });
    this.#udp = new UdpStats({ silenceLimitMs: options.stallAfterMs });
    this.ts = new TsWatch({ ...(options.tsLimits ? { limits: options.tsLimits } : {}) });
    this.#analyseTs = options.analyseTs ?? true;
    this.#output = options.output;
    this.#tsPayloadTypes = new Set([
      MP2T_PAYLOAD_TYPE,
      ...target.formats.filter((f) => f.encoding.toUpperCase() === "MP2T").map((f) =>
        f.payloadType
      ),
    ]);
  }

  /** The state now. */
  get state(): ReceptionState {
    return this.#state;
  }

  /** Datagrams counted as the stream's traffic (RTP packets of a source, raw MPEG-TS datagrams). */
  get accepted(): number {
    return this.#accepted;
  }

  /** Arrival of the first packet counted, undefined before any. */
  get firstPacketMs(): number | undefined {
    return Number.isNaN(this.#firstPacketMs) ? undefined : this.#firstPacketMs;
  }

  /** Arrival of the last packet counted, undefined before any. */
  get lastPacketMs(): number | undefined {
    return Number.isNaN(this.#lastPacketMs) ? undefined : this.#lastPacketMs;
  }

  /** `udp` once raw MPEG-TS arrived and no RTP did, or when described so; else `rtp`. */
  get transport(): StreamTransport {
    if (this.target.transport === "udp") return "udp";
    return this.#udpSeen() && this.stats.firstPacketMs === undefined ? "udp" : "rtp";
  }

  /** True when datagram `index` of `batch` passes the stream's source filter. */
  accepts(batch: DatagramBatch, index: number): boolean {
    return this.filter.accepts(batch, index);
  }

  /** Counts a datagram of the stream's socket that no stream there accepted (SSM filter). */
  /** Whether raw MPEG-TS over UDP has arrived. */
  #udpSeen(): boolean {
    return this.#udp.packets > 0;
  }

  countFiltered(): void {
    this.stats.countFiltered();
  }

  /**
   * Accounts one datagram that arrived at `arrivalMs`. Raw MPEG-TS (whole 188-byte packets, never
   * valid RTP) is counted and analysed as TS over UDP; anything else goes to the RTP statistics,
   * and MPEG-TS payloads of counted packets to the analyser (unless `analyseTs` is off) and the
   * output. Returns true when it was traffic of the stream (which ends a stall and counts towards
   * --packets).
   */
  onDatagram(u8: Uint8Array, arrivalMs: number): boolean {
    if (u8[0] === TS.SYNC_BYTE && isRawTsDatagram(u8)) {
      this.#udp.onDatagram(u8.byteLength, arrivalMs);
      if (this.#analyseTs) this.ts.feedUdp(u8, arrivalMs);
      this.#output?.udp(u8);
      this.#packet(arrivalMs);
      return true;
    }
    const stats = this.stats;
    if (!stats.onDatagram(u8, arrivalMs)) return false;
    const header = stats.lastHeader;
    if (this.#tsPayloadTypes.has(header.payloadType)) {
      const payload = u8.subarray(
        header.payloadOffset,
        header.payloadOffset + header.payloadLength,
      );
      if (this.#analyseTs) {
        this.ts.feedRtp(
          header.ssrc,
          header.sequenceNumber,
          payload,
          arrivalMs,
          stats.lastWasDuplicate,
        );
      }
      this.#output?.rtp(header.ssrc, header.sequenceNumber, payload, arrivalMs);
    } else {
      this.#output?.notMpegTs();
    }
    this.#packet(arrivalMs);
    return true;
  }

  #packet(arrivalMs: number): void {
    if (Number.isNaN(this.#firstPacketMs)) this.#firstPacketMs = arrivalMs;
    this.#lastPacketMs = arrivalMs;
    this.#accepted++;
    if (this.#state !== "receiving") this.#setState("receiving", arrivalMs);
  }

  /** Moves the state on at `nowMs`: receiving becomes stalled after `--stall-after` of silence. */
  tick(nowMs: number): void {
    this.#output?.tick(nowMs);
    if (this.#state === "receiving" && nowMs - this.#lastPacketMs >= this.#stallAfterMs) {
      this.#setState("stalled", nowMs);
    }
  }

  /** The state it changed to since the last call (the latest), or undefined. */
  takeChange(): ReceptionState | undefined {
    const changed = this.#changed;
    this.#changed = undefined;
    return changed;
  }

  #setState(next: ReceptionState, at: number): void {
    if (this.#state === "stalled") this.#stalledMs += at - this.#stallStartMs;
    if (next === "stalled") {
      this.#stalls++;
      this.#stallStartMs = at;
    }
    this.#state = next;
    this.#changed = next;
  }

  /** State and timing at `nowMs`. Pure. */
  status(nowMs: number): ReceptionStatus {
    const ongoing = this.#state === "stalled" ? nowMs - this.#stallStartMs : 0;
    return {
      state: this.#state,
      elapsedS: (nowMs - this.startMs) / 1000,
      stalls: this.#stalls,
      stalledS: (this.#stalledMs + ongoing) / 1000,
    };
  }

  /**
   * Follows the kernel's drop count of the socket the stream is received on (`socket` identifies
   * it: a new one starts a new count, added to the earlier ones). `undefined`: not known there.
   */
  noteSocketDrops(socket: object, total: number | undefined): void {
    if (total === undefined) {
      if (socket !== this.#dropsSocket) this.#drops = undefined;
      return;
    }
    if (socket !== this.#dropsSocket) {
      this.#dropsEarlier = this.#drops ?? 0;
      this.#dropsSocket = socket;
      this.#dropsBase = total;
    }
    this.#drops = this.#dropsEarlier + Math.max(0, total - this.#dropsBase);
  }

  /** Figures of the interval since the previous call; starts the next. */
  takeInterval(nowMs: number): WatchFigures {
    const drops = this.#drops;
    const figures: WatchFigures = {
      atMs: nowMs,
      rtp: this.stats.takeInterval(nowMs),
      udp: this.#udpSeen() ? this.#udp.takeInterval(nowMs) : undefined,
      ts: this.ts.takeInterval(nowMs),
      socketDrops: drops === undefined ? undefined : drops - this.#dropsMark,
    };
    if (drops !== undefined) this.#dropsMark = drops;
    this.ts.prune(new Set(figures.rtp.sources.map((s) => s.ssrc)));
    return figures;
  }

  /** Totals at `nowMs`. Pure. */
  snapshot(nowMs: number): WatchFigures {
    return {
      atMs: nowMs,
      rtp: this.stats.snapshot(nowMs),
      udp: this.#udpSeen() ? this.#udp.snapshot(nowMs) : undefined,
      ts: this.ts.snapshots(nowMs),
      socketDrops: this.#drops,
    };
  }
}
