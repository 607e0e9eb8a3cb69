// `--output FILE|-`: the transport stream a stream carries, as received, for a player or a
// recording: MPEG-TS payloads of RTP packets (RFC 2250) back in sequence order within the reorder
// window (lib/rtp/reorder_buffer.ts), raw MPEG-TS datagrams as they came, one source at a time.
import { ReorderBuffer, type ReorderCounts } from "../rtp/reorder_buffer.ts";

/** Datagrams in a row from another source (nothing from the followed one between) that make it take over. */
export const OUTPUT_TAKEOVER_PACKETS = 8;

/** Key of raw MPEG-TS over UDP datagrams (SSRCs are 0 to 2^32 − 1). */
const UDP_SOURCE = -1;

/** Where the transport stream goes (a QueuedWriter): false when the bytes were dropped. */
export interface OutputSink {
  write(bytes: Uint8Array): boolean;
}

/** What the output did so far. */
export interface TsOutputCounts extends ReorderCounts {
  /** Datagram payloads handed to the sink (RTP after reordering, raw UDP as received). */
  readonly datagrams: number;
  /** Bytes handed to the sink. */
  readonly bytes: number;
  /** Datagrams the sink had no room for (a reader slower than the stream). */
  readonly sinkDropped: number;
  /** Datagrams of other sources while one was followed (not written). */
  readonly otherSource: number;
  /** Times another source took over the output. */
  readonly sourceChanges: number;
  /** RTP packets of a payload type that is not MPEG-TS (nothing of them is written). */
  readonly notMpegTs: number;
}

/** Options of {@link TsOutput}. */
export interface TsOutputOptions {
  readonly sink: OutputSink;
  /** Reorder window in packets (default REORDER_DEFAULTS.CAPACITY). */
  readonly capacity?: number;
  /** Longest wait for a missing RTP packet, ms (default REORDER_DEFAULTS.WINDOW_MS). */
  readonly windowMs?: number;
}

/**
 * The output of one stream. It follows one source: the first to send, until another sends
 * {@link OUTPUT_TAKEOVER_PACKETS} datagrams in a row with nothing from it between (VLC `--loop`
 * starts a new SSRC on every pass; a second sender interleaved with the first never takes over).
 * RTP payloads go through a reorder buffer: late packets are put back in place, duplicates dropped,
 * gaps left as they are. Pure: time comes with every call.
 */
export class TsOutput {
  readonly #sink: OutputSink;
  readonly #reorder: ReorderBuffer;
  #source: number | undefined;
  #challenger: number | undefined;
  #challengerRun = 0;
  #datagrams = 0;
  #bytes = 0;
  #sinkDropped = 0;
  #otherSource = 0;
  #sourceChanges = 0;
  #notMpegTs = 0;

  constructor(options: TsOutputOptions) {
    this.#sink = options.sink;
    this.#reorder = new ReorderBuffer({
      emit: (payload) => this.#write(payload),
      ...(options.capacity === undefined ? {} : { capacity: options.capacity }),
      ...(options.windowMs === undefined ? {} : { windowMs: options.windowMs }),
    });
  }

  /** The MPEG-TS payload of an RTP packet of `ssrc` with sequence number `seq`. */
  rtp(ssrc: number, seq: number, payload: Uint8Array, arrivalMs: number): void {
    if (!this.#follows(ssrc)) return;
    this.#reorder.push(seq, payload, arrivalMs);
  }

  /** A raw MPEG-TS over UDP datagram: written as it came. */
  udp(datagram: Uint8Array): void {
    if (!this.#follows(UDP_SOURCE)) return;
    this.#write(datagram);
  }

  /** Counts an RTP packet whose payload is not MPEG-TS (H.264 over RTP, say): not written. */
  notMpegTs(): void {
    this.#notMpegTs++;
  }

  /** Leaves the gaps whose successors waited the reorder window by `nowMs`. */
  tick(nowMs: number): void {
    this.#reorder.flush(nowMs);
  }

  /** Writes what the reorder buffer holds, in order: the end of the stream. */
  end(): void {
    this.#reorder.drain();
  }

  /** The counts so far. Pure. */
  counts(): TsOutputCounts {
    return {
      ...this.#reorder.counts(),
      datagrams: this.#datagrams,
      bytes: this.#bytes,
      sinkDropped: this.#sinkDropped,
      otherSource: this.#otherSource,
      sourceChanges: this.#sourceChanges,
      notMpegTs: this.#notMpegTs,
    };
  }

  /** True when the datagram of `source` is to be written (switching sources when one takes over). */
  #follows(source: number): boolean {
    if (this.#source === undefined) this.#source = source;
    if (source === this.#source) {
      this.#challengerRun = 0;
      return true;
    }
    if (source !== this.#challenger) [this.#challenger, this.#challengerRun] = [source, 0];
    if (++this.#challengerRun < OUTPUT_TAKEOVER_PACKETS) {
      this.#otherSource++;
      return false;
    }
    this.#reorder.drain();
    this.#source = source;
    this.#challenger = undefined;
    this.#challengerRun = 0;
    this.#sourceChanges++;
    return true;
  }

  #write(bytes: Uint8Array): void {
    if (this.#sink.write(bytes)) {
      this.#datagrams++;
      this.#bytes += bytes.length;
    } else {
      this.#sinkDropped++;
    }
  }
}
