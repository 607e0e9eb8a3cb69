// A small constant-bitrate MPEG-2 transport stream muxer (ISO/IEC 13818-1) for the test source: PAT,
// PMT, SDT (ETSI EN 300 468), one MPEG-1 Layer II audio stream of silent frames, PCR and null
// padding, ready to be carried 7 packets at a time in RTP (RFC 2250 §2), with optional TR 101 290
// faults and their exact truth. Writes into caller buffers, allocates nothing per packet.
import { TS } from "../ts/constants.ts";
import type { Tr101290Limits } from "../ts/tr101290.ts";
import { inWindow, RepeatedSchedule, type TsFaultOptions, validateFaults } from "./ts_faults.ts";
import {
  crcLastByteOffset,
  DEFAULT_SERVICE,
  patPacket,
  pmtPacket,
  sdtPacket,
  TS_LAYOUT,
} from "./ts_tables.ts";
import { type TsTruth, TsTruthModel } from "./ts_truth.ts";

export { TS_LAYOUT };

/**
 * The silent audio: MPEG-1 Layer II, 48 kHz, mono, 64 kbit/s (ISO/IEC 11172-3 §2.4.2.3). A frame
 * of 1152 samples lasts 24 ms and is 144 × 64000 / 48000 = 192 bytes; with every bit allocation
 * zero, no sample follows the header, so header + zeros decodes as silence.
 */
export const SILENT_AUDIO = {
  /** syncword 0xFFF, ID 1 (MPEG-1), layer '10' (II), protection_bit 1 (no CRC). */
  HEADER: [0xff, 0xfd, 0x44, 0xc0],
  FRAME_BYTES: 192,
  SAMPLES_PER_FRAME: 1152,
  SAMPLE_RATE: 48_000,
  BITRATE: 64_000,
} as const;

/** Lowest TS bitrate (bit/s) that fits audio, PSI and PCR with room to spare. */
export const MIN_TS_BITRATE = 250_000;

/** Options of {@link TsMuxer}. */
export interface TsMuxerOptions {
  /** Constant transport stream rate in bit/s (integer, ≥ {@link MIN_TS_BITRATE}). */
  bitrate: number;
  /** PAT and PMT repetition interval in milliseconds (default 100). */
  psiIntervalMs?: number;
  /** A PCR is sent once this many milliseconds passed since the last (default 30; max gap < 40). */
  pcrIntervalMs?: number;
  /** Presentation delay of the audio behind the PCR in milliseconds (default 200). */
  audioDelayMs?: number;
  /**
   * The SDT naming the service (EN 300 468 §5.2.3), sent every `intervalMs` (default 500; at
   * most 2 s apart per TR 101 290 3.5); `false` sends none. Names default to
   * {@link DEFAULT_SERVICE}; non-ASCII names are sent as UTF-8 (Annex A, prefix 0x15).
   */
  sdt?: { serviceName?: string; providerName?: string; intervalMs?: number } | false;
  /** TR 101 290 faults to inject (none by default); their counts are in {@link TsMuxer.truth}. */
  faults?: TsFaultOptions;
  /** Limits the truth is counted against (the analyser's options; TR 101 290 defaults). */
  limits?: Partial<Tr101290Limits>;
}

const PTS_MODULO = TS.PTS_MODULO;
const PCR_MODULO = TS.PCR_MODULO;
const AUDIO_FRAME_27MHZ = SILENT_AUDIO.SAMPLES_PER_FRAME *
  (TS.SYSTEM_CLOCK_HZ / SILENT_AUDIO.SAMPLE_RATE);
const AUDIO_FRAME_90KHZ = SILENT_AUDIO.SAMPLES_PER_FRAME *
  (TS.PTS_CLOCK_HZ / SILENT_AUDIO.SAMPLE_RATE);
/** PES header with PTS only: start code + stream_id + length (6) + flags (3) + PTS (5). */
const PES_HEADER_BYTES = 14;
const PES_BYTES = PES_HEADER_BYTES + SILENT_AUDIO.FRAME_BYTES;
/** Adaptation field with PCR: length byte, flags byte, 6 PCR bytes. */
const PCR_FIELD_BYTES = 8;

/*
 * Transport packet header (ISO/IEC 13818-1 §2.4.3.2) and adaptation field (§2.4.3.4):
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  sync = 0x47  |E|S|P|           PID           |SC |AFC|  CC   |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | AF length     |D|R|I|C|O|S|P|E|  PCR base (33 bits) ...        |   if AFC & 2; C = PCR_flag
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  ... PCR base               |B| reserved  | PCR ext (9 bits)  |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  stuffing 0xFF ...  |  payload (184 - AF bytes)                |   if AFC & 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * E transport_error_indicator, S payload_unit_start_indicator, P transport_priority, SC scrambling
 * control, AFC adaptation_field_control (01 payload only, 10 adaptation field only, 11 both), CC
 * continuity_counter (incremented per PID only for packets with payload). PCR = base × 300 + ext.
 */
function writeHeader(
  out: Uint8Array,
  at: number,
  pid: number,
  pusi: boolean,
  afc: number,
  cc: number,
) {
  out[at] = TS.SYNC_BYTE;
  out[at + 1] = (pusi ? 0x40 : 0) | (pid >>> 8);
  out[at + 2] = pid & 0xff;
  out[at + 3] = (afc << 4) | (cc & 0x0f);
}

function writePcr(out: Uint8Array, at: number, pcr27: number): void {
  const base = Math.floor(pcr27 / 300);
  const ext = pcr27 % 300;
  out[at] = Math.floor(base / 2 ** 25) & 0xff;
  out[at + 1] = Math.floor(base / 2 ** 17) & 0xff;
  out[at + 2] = Math.floor(base / 2 ** 9) & 0xff;
  out[at + 3] = Math.floor(base / 2) & 0xff;
  out[at + 4] = ((base & 1) << 7) | 0x7e | (ext >>> 8);
  out[at + 5] = ext & 0xff;
}

/** Writes a 33-bit PTS with prefix '0010' (§2.4.3.7: PTS_DTS_flags '10'). */
function writePts(out: Uint8Array, at: number, pts: number): void {
  const high = Math.floor(pts / 2 ** 30) & 0x07;
  const low = pts % 2 ** 30;
  out[at] = 0x21 | (high << 1);
  out[at + 1] = (low >>> 22) & 0xff;
  out[at + 2] = (((low >>> 15) & 0x7f) << 1) | 1;
  out[at + 3] = (low >>> 7) & 0xff;
  out[at + 4] = ((low & 0x7f) << 1) | 1;
}

/**
 * A constant-bitrate transport stream of one program (PAT, PMT on PID 0x1000, SDT on PID 0x11,
 * silent MPEG-1 Layer II audio on PID 0x100 which also carries the PCR), padded with null packets
 * to the exact rate.
 *
 * Time is the mux position: packet `i` starts at `i × 188 × 8 / bitrate` seconds, so PCR values
 * and the RTP timestamps of a sender pacing at the same rate agree. Each slot carries, in order of
 * priority: a PCR when one is due (in an audio packet if audio is pending, else an adaptation-field
 * only packet), PAT, PMT then SDT when due, audio while a frame is ready, otherwise a null packet.
 *
 * Faults (see {@link TsFaultOptions}) are scheduled in mux time. {@link truth} counts what a
 * TR 101 290 analyser must find, from what was written: each fillPackets() call is one datagram
 * whose packets share the mux time of its first packet, the arrival time to feed the analyser.
 */
export class TsMuxer {
  readonly #bitrate: number;
  readonly #pat = patPacket();
  readonly #pmt = pmtPacket();
  readonly #sdt: Uint8Array | null;
  readonly #pes = new Uint8Array(PES_BYTES);
  readonly #psiInterval27: number;
  readonly #sdtInterval27: number;
  readonly #pcrInterval27: number;
  readonly #audioDelay90: number;
  /** Mux time of the next packet, 27 MHz, as whole ticks plus a remainder in 1/bitrate ticks. */
  #time27 = 0;
  #timeRemainder = 0;
  readonly #step27: number;
  readonly #stepRemainder: number;
  /** Delay from packet start to the last byte of the PCR base (byte 10), 27 MHz ticks. */
  readonly #pcrByteOffset27: number;
  #packets = 0;
  #lastPcr27 = -Infinity;
  #nextPsi27 = 0;
  #nextSdt27 = 0;
  #patPending = false;
  #pmtPending = false;
  #sdtPending = false;
  #patCc = 0;
  #pmtCc = 0;
  #sdtCc = 0;
  #audioCc = 0;
  #audioPayloadPackets = 0;
  #frame = 0;
  /** Bytes of the current PES already written, or -1 when no frame is in progress. */
  #pesOffset = -1;
  readonly #faults: TsFaultOptions;
  readonly #ccSkips: RepeatedSchedule;
  readonly #transportErrors: RepeatedSchedule;
  readonly #crcErrors: RepeatedSchedule;
  readonly #crcTable: "pat" | "pmt" | "sdt";
  /** Per PCR jump: applied yet. */
  readonly #jumped: boolean[];
  /** Sum of the PCR jumps applied, 27 MHz ticks; and whether the next PCR carries the flag. */
  #pcrOffset27 = 0;
  #flagNextPcr = false;
  readonly #truth: TsTruthModel;

  /** Throws RangeError for a bad bitrate, name or fault, ConfigError for a bad limit. */
  constructor(options: TsMuxerOptions) {
    const { bitrate } = options;
    if (!Number.isSafeInteger(bitrate) || bitrate < MIN_TS_BITRATE) {
      throw new RangeError(
        `TS bitrate must be an integer of at least ${MIN_TS_BITRATE} bit/s, got ${bitrate}`,
      );
    }
    this.#bitrate = bitrate;
    const ticksPerPacket = TS.PACKET_SIZE * 8 * TS.SYSTEM_CLOCK_HZ;
    this.#step27 = Math.floor(ticksPerPacket / bitrate);
    this.#stepRemainder = ticksPerPacket % bitrate;
    this.#pcrByteOffset27 = Math.round((10 * 8 * TS.SYSTEM_CLOCK_HZ) / bitrate);
    this.#psiInterval27 = (options.psiIntervalMs ?? 100) * 27_000;
    this.#pcrInterval27 = (options.pcrIntervalMs ?? 30) * 27_000;
    this.#audioDelay90 = (options.audioDelayMs ?? 200) * 90;
    const sdt = options.sdt ?? {};
    this.#sdt = sdt === false ? null : sdtPacket(
      sdt.serviceName ?? DEFAULT_SERVICE.SERVICE_NAME,
      sdt.providerName ?? DEFAULT_SERVICE.PROVIDER_NAME,
    );
    this.#sdtInterval27 = (sdt === false ? 500 : sdt.intervalMs ?? 500) * 27_000;
    this.#faults = options.faults ?? {};
    validateFaults(this.#faults);
    this.#ccSkips = new RepeatedSchedule(this.#faults.ccSkips);
    this.#transportErrors = new RepeatedSchedule(this.#faults.transportErrors);
    this.#crcErrors = new RepeatedSchedule(this.#faults.crcErrors);
    this.#crcTable = this.#faults.crcErrors?.table ?? "pat";
    this.#jumped = (this.#faults.pcrJumps ?? []).map(() => false);
    this.#truth = new TsTruthModel(options.limits);
    // PES header (§2.4.3.6): start code, stream_id, PES_packet_length, '10' 0 0 0
    // data_alignment 1 0 0, PTS_DTS_flags '10', PES_header_data_length 5, PTS, then the frame.
    const pesLength = PES_BYTES - 6;
    this.#pes.set([0, 0, 1, TS_LAYOUT.AUDIO_STREAM_ID, pesLength >>> 8, pesLength & 0xff]);
    this.#pes.set([0x84, 0x80, 0x05], 6);
    this.#pes.set(SILENT_AUDIO.HEADER, PES_HEADER_BYTES);
  }

  /** Transport stream rate in bit/s. */
  get bitrate(): number {
    return this.#bitrate;
  }

  /** Packets written so far. */
  get packetCount(): number {
    return this.#packets;
  }

  /** Mux time of the next packet in 27 MHz ticks (not wrapped). */
  get time27MHz(): number {
    return this.#time27;
  }

  /** Mux time of the next packet in ms: the arrival time of the next datagram. */
  get timeMs(): number {
    return this.#time27 / 27_000;
  }

  /** What a TR 101 290 analyser must count on everything written so far. */
  get truth(): TsTruth {
    return this.#truth.snapshot();
  }

  /**
   * Writes the next `count` transport packets (default 7, one RTP payload per RFC 2250) to
   * `out[0, count × 188)`. Throws a RangeError when `out` is too small.
   */
  fillPackets(out: Uint8Array, count = 7): void {
    if (!Number.isInteger(count) || count < 0 || out.length < count * TS.PACKET_SIZE) {
      throw new RangeError(
        `Cannot write ${count} TS packets into ${out.length} bytes (need ${count} × ${TS.PACKET_SIZE})`,
      );
    }
    if (count > 0) this.#truth.datagram(this.timeMs);
    for (let i = 0; i < count; i++) {
      this.#writePacket(out, i * TS.PACKET_SIZE);
      this.#truth.packet();
      this.#packets++;
      this.#time27 += this.#step27;
      this.#timeRemainder += this.#stepRemainder;
      if (this.#timeRemainder >= this.#bitrate) {
        this.#time27++;
        this.#timeRemainder -= this.#bitrate;
      }
    }
  }

  #writePacket(out: Uint8Array, at: number): void {
    const now = this.#time27;
    const ms = now / 27_000;
    const faults = this.#faults;
    const audioGap = inWindow(faults.audioGaps, ms);
    if (audioGap && this.#pesOffset < 0) {
      // Frames that fall in the gap are never sent.
      while (now >= this.#frame * AUDIO_FRAME_27MHZ) this.#frame++;
    }
    const audioReady = this.#pesOffset >= 0 || now >= this.#frame * AUDIO_FRAME_27MHZ;
    const pcrAllowed = !audioGap && !inWindow(faults.pcrGaps, ms);
    if (pcrAllowed && now - this.#lastPcr27 >= this.#pcrInterval27) {
      this.#applyPcrJumps(ms);
      const pcr = (now + this.#pcrByteOffset27 + this.#pcrOffset27) % PCR_MODULO;
      const flagged = this.#flagNextPcr;
      this.#flagNextPcr = false;
      this.#lastPcr27 = now;
      if (audioReady) {
        this.#writeAudio(out, at, pcr, flagged);
      } else {
        // Adaptation field only: the continuity counter is not incremented (§2.4.3.3).
        writeHeader(out, at, TS_LAYOUT.AUDIO_PID, false, 0b10, this.#audioCc - 1);
        out[at + 4] = TS.PAYLOAD_SIZE - 1;
        out[at + 5] = flagged ? 0x90 : 0x10; // PCR_flag, discontinuity_indicator if flagged
        writePcr(out, at + 6, pcr);
        out.fill(0xff, at + 12, at + TS.PACKET_SIZE);
        this.#truth.audioPacket();
      }
      this.#truth.pcr(pcr, flagged);
      return;
    }
    if (now >= this.#nextPsi27) {
      while (this.#nextPsi27 <= now) this.#nextPsi27 += this.#psiInterval27;
      this.#patPending = true;
      this.#pmtPending = true;
      if (this.#sdt !== null && now >= this.#nextSdt27) {
        while (this.#nextSdt27 <= now) this.#nextSdt27 += this.#sdtInterval27;
        this.#sdtPending = true;
      }
    }
    if (this.#patPending) {
      this.#patPending = false;
      if (!inWindow(faults.patGaps, ms)) {
        this.#truth.pat(this.#writeSection(out, at, this.#pat, this.#patCc++, "pat", ms));
        return;
      }
    }
    if (this.#pmtPending) {
      this.#pmtPending = false;
      if (!inWindow(faults.pmtGaps, ms)) {
        this.#truth.pmt(this.#writeSection(out, at, this.#pmt, this.#pmtCc++, "pmt", ms));
        return;
      }
    }
    if (this.#sdtPending && this.#sdt !== null) {
      this.#sdtPending = false;
      this.#truth.sdt(this.#writeSection(out, at, this.#sdt, this.#sdtCc++, "sdt", ms));
      return;
    }
    if (audioReady && (!audioGap || this.#pesOffset >= 0)) {
      this.#writeAudio(out, at, -1, false);
      return;
    }
    out.set(NULL_PACKET, at);
  }

  /** Writes a table packet with counter `cc`; returns false when its CRC was corrupted. */
  #writeSection(
    out: Uint8Array,
    at: number,
    packet: Uint8Array,
    cc: number,
    table: "pat" | "pmt" | "sdt",
    ms: number,
  ): boolean {
    out.set(packet, at);
    out[at + 3] = 0x10 | (cc & 0x0f);
    if (this.#crcTable !== table || !this.#crcErrors.due(ms)) return true;
    this.#crcErrors.apply();
    out[at + crcLastByteOffset(packet)]! ^= 0xff;
    return false;
  }

  #applyPcrJumps(ms: number): void {
    const jumps = this.#faults.pcrJumps;
    if (jumps === undefined) return;
    for (let i = 0; i < jumps.length; i++) {
      const jump = jumps[i]!;
      if (this.#jumped[i] || ms < jump.atMs) continue;
      this.#jumped[i] = true;
      this.#pcrOffset27 = (this.#pcrOffset27 + Math.round(jump.jumpMs * 27_000)) % PCR_MODULO;
      if (this.#pcrOffset27 < 0) this.#pcrOffset27 += PCR_MODULO;
      if (jump.flagged === true) this.#flagNextPcr = true;
    }
  }

  /** One packet of the current (or next) audio PES; `pcr` ≥ 0 adds a PCR. */
  #writeAudio(out: Uint8Array, at: number, pcr: number, flagged: boolean): void {
    if (this.#pesOffset < 0) {
      const pts = (this.#frame * AUDIO_FRAME_90KHZ + this.#audioDelay90) % PTS_MODULO;
      writePts(this.#pes, 9, pts);
      this.#frame++;
      this.#pesOffset = 0;
      this.#truth.pts();
    }
    const ms = this.#time27 / 27_000;
    // A skipped counter needs an earlier packet to differ from, and no discontinuity flag.
    if (this.#audioPayloadPackets > 0 && !flagged && this.#ccSkips.due(ms)) {
      this.#ccSkips.apply();
      this.#audioCc++;
      this.#truth.ccSkip();
    }
    const remaining = PES_BYTES - this.#pesOffset;
    const capacity = TS.PAYLOAD_SIZE - (pcr >= 0 ? PCR_FIELD_BYTES : 0);
    const length = Math.min(remaining, capacity);
    const adaptationBytes = TS.PAYLOAD_SIZE - length;
    writeHeader(
      out,
      at,
      TS_LAYOUT.AUDIO_PID,
      this.#pesOffset === 0,
      adaptationBytes > 0 ? 0b11 : 0b01,
      this.#audioCc++,
    );
    this.#audioPayloadPackets++;
    if (this.#transportErrors.due(ms)) {
      this.#transportErrors.apply();
      out[at + 1]! |= 0x80;
      this.#truth.transportError();
    }
    let p = at + 4;
    if (adaptationBytes > 0) {
      out[p++] = adaptationBytes - 1;
      if (adaptationBytes > 1) {
        out[p++] = pcr >= 0 ? (flagged ? 0x90 : 0x10) : 0x00;
        if (pcr >= 0) {
          writePcr(out, p, pcr);
          p += 6;
        }
        const payloadStart = at + TS.PACKET_SIZE - length;
        out.fill(0xff, p, payloadStart);
        p = payloadStart;
      }
    }
    const pes = this.#pes;
    for (let i = 0, from = this.#pesOffset; i < length; i++) out[p + i] = pes[from + i]!;
    this.#pesOffset += length;
    if (this.#pesOffset === PES_BYTES) this.#pesOffset = -1;
    this.#truth.audioPacket();
  }
}

const NULL_PACKET = (() => {
  const packet = new Uint8Array(TS.PACKET_SIZE).fill(0xff);
  writeHeader(packet, 0, TS.NULL_PID, false, 0b01, 0);
  return packet;
})();
