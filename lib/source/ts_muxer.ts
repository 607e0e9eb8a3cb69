// A small constant-bitrate MPEG-2 transport stream muxer (ISO/IEC 13818-1) for the test source: PAT,
// PMT, one MPEG-1 Layer II audio stream of silent frames, PCR and null-packet padding, ready to be
// carried 7 packets at a time in RTP (RFC 2250 §2). Writes into caller buffers, allocates nothing.
import { STREAM_TYPE, TABLE_ID, TS } from "../ts/constants.ts";
import { crc32Mpeg2 } from "../ts/crc32.ts";

/** The layout this muxer writes: one program with one audio stream that also carries the PCR. */
export const TS_LAYOUT = {
  TRANSPORT_STREAM_ID: 1,
  PROGRAM_NUMBER: 1,
  PMT_PID: 0x1000,
  AUDIO_PID: 0x0100,
  /** PES stream_id of the first MPEG audio stream (§2.4.3.7, Table 2-22). */
  AUDIO_STREAM_ID: 0xc0,
} as const;

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
}

const PTS_MODULO = 2 ** 33;
const PCR_MODULO = PTS_MODULO * 300;
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

/*
 * PSI section header (ISO/IEC 13818-1 §2.4.4.3 PAT, §2.4.4.8 PMT), after a pointer_field of 0:
 *
 * | table_id (8) |1|0|11| section_length (12) | transport_stream_id or program_number (16) |
 * |11| version (5) |C| section_number (8) | last_section_number (8) | ...body... | CRC_32 (32) |
 *
 * PAT body: program_number (16), '111', program_map_PID (13).
 * PMT body: '111' PCR_PID (13), '1111' program_info_length (12) = 0,
 *           then per stream: stream_type (8), '111' elementary_PID (13), '1111' ES_info_length = 0.
 */
function buildPsiPacket(pid: number, tableId: number, idExtension: number, body: number[]) {
  const packet = new Uint8Array(TS.PACKET_SIZE).fill(0xff);
  writeHeader(packet, 0, pid, true, 0b01, 0);
  const sectionLength = 5 + body.length + 4;
  const section = [
    tableId,
    0xb0 | (sectionLength >>> 8),
    sectionLength & 0xff,
    idExtension >>> 8,
    idExtension & 0xff,
    0xc1, // reserved '11', version 0, current_next_indicator 1
    0x00,
    0x00,
    ...body,
  ];
  packet[4] = 0; // pointer_field
  packet.set(section, 5);
  const crc = crc32Mpeg2(packet, 5, 5 + section.length);
  new DataView(packet.buffer).setUint32(5 + section.length, crc);
  return packet;
}

/**
 * A constant-bitrate transport stream of one program (PAT, PMT on PID 0x1000, silent MPEG-1 Layer
 * II audio on PID 0x100 which also carries the PCR), padded with null packets to the exact rate.
 *
 * Time is the mux position: packet `i` starts at `i × 188 × 8 / bitrate` seconds, so PCR values
 * and the RTP timestamps of a sender pacing at the same rate agree. Each slot carries, in order of
 * priority: a PCR when one is due (in an audio packet if audio is pending, else an adaptation-field
 * only packet), PAT then PMT when due, audio while a frame is ready, otherwise a null packet.
 */
export class TsMuxer {
  readonly #bitrate: number;
  readonly #pat: Uint8Array;
  readonly #pmt: Uint8Array;
  readonly #pes = new Uint8Array(PES_BYTES);
  readonly #psiInterval27: number;
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
  #pmtPending = false;
  #patCc = 0;
  #pmtCc = 0;
  #audioCc = 0;
  #frame = 0;
  /** Bytes of the current PES already written, or -1 when no frame is in progress. */
  #pesOffset = -1;

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
    this.#pat = buildPsiPacket(
      TS.PAT_PID,
      TABLE_ID.PROGRAM_ASSOCIATION,
      TS_LAYOUT.TRANSPORT_STREAM_ID,
      [
        TS_LAYOUT.PROGRAM_NUMBER >>> 8,
        TS_LAYOUT.PROGRAM_NUMBER & 0xff,
        0xe0 | (TS_LAYOUT.PMT_PID >>> 8),
        TS_LAYOUT.PMT_PID & 0xff,
      ],
    );
    this.#pmt = buildPsiPacket(TS_LAYOUT.PMT_PID, TABLE_ID.PROGRAM_MAP, TS_LAYOUT.PROGRAM_NUMBER, [
      0xe0 | (TS_LAYOUT.AUDIO_PID >>> 8), // PCR_PID
      TS_LAYOUT.AUDIO_PID & 0xff,
      0xf0, // program_info_length 0
      0x00,
      STREAM_TYPE.MPEG1_AUDIO,
      0xe0 | (TS_LAYOUT.AUDIO_PID >>> 8),
      TS_LAYOUT.AUDIO_PID & 0xff,
      0xf0, // ES_info_length 0
      0x00,
    ]);
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
    for (let i = 0; i < count; i++) {
      this.#writePacket(out, i * TS.PACKET_SIZE);
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
    const audioReady = this.#pesOffset >= 0 || now >= this.#frame * AUDIO_FRAME_27MHZ;
    if (now - this.#lastPcr27 >= this.#pcrInterval27) {
      const pcr = (now + this.#pcrByteOffset27) % PCR_MODULO;
      this.#lastPcr27 = now;
      if (audioReady) {
        this.#writeAudio(out, at, pcr);
      } else {
        // Adaptation field only: the continuity counter is not incremented (§2.4.3.3).
        writeHeader(out, at, TS_LAYOUT.AUDIO_PID, false, 0b10, this.#audioCc - 1);
        out[at + 4] = TS.PAYLOAD_SIZE - 1;
        out[at + 5] = 0x10; // PCR_flag
        writePcr(out, at + 6, pcr);
        out.fill(0xff, at + 12, at + TS.PACKET_SIZE);
      }
      return;
    }
    if (now >= this.#nextPsi27) {
      while (this.#nextPsi27 <= now) this.#nextPsi27 += this.#psiInterval27;
      out.set(this.#pat, at);
      out[at + 3] = 0x10 | (this.#patCc++ & 0x0f);
      this.#pmtPending = true;
      return;
    }
    if (this.#pmtPending) {
      out.set(this.#pmt, at);
      out[at + 3] = 0x10 | (this.#pmtCc++ & 0x0f);
      this.#pmtPending = false;
      return;
    }
    if (audioReady) {
      this.#writeAudio(out, at, -1);
      return;
    }
    out.set(NULL_PACKET, at);
  }

  /** One packet of the current (or next) audio PES; `pcr` ≥ 0 adds a PCR. */
  #writeAudio(out: Uint8Array, at: number, pcr: number): void {
    if (this.#pesOffset < 0) {
      const pts = (this.#frame * AUDIO_FRAME_90KHZ + this.#audioDelay90) % PTS_MODULO;
      writePts(this.#pes, 9, pts);
      this.#frame++;
      this.#pesOffset = 0;
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
    let p = at + 4;
    if (adaptationBytes > 0) {
      out[p++] = adaptationBytes - 1;
      if (adaptationBytes > 1) {
        out[p++] = pcr >= 0 ? 0x10 : 0x00;
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
  }
}

const NULL_PACKET = (() => {
  const packet = new Uint8Array(TS.PACKET_SIZE).fill(0xff);
  writeHeader(packet, 0, TS.NULL_PID, false, 0b01, 0);
  return packet;
})();
