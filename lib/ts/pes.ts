// PES packet header parsing (ISO/IEC 13818-1 §2.4.3.6, §2.4.3.7): the stream id and the PTS/DTS
// that TR 101 290 2.5 (PTS_error) watches. readPesPts() is the hot path (no allocation, no throw);
// parsePesHeader() returns a readonly object or throws TsParseError with the offset.

import { TsParseError } from "./parse_error.ts";

/*
 * PES packet header (§2.4.3.6), for stream ids that carry the optional header:
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |        packet_start_code_prefix = 0x000001    |   stream_id   |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |       PES_packet_length       |1 0|SC |P|A|C|O|PD |E|R|T|I|C|X|
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | header_length |0 0 1 x|PTS32-30 |1|   PTS 29-15 ...            |   PD '10': PTS, '11': PTS + DTS
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | ...     |1|          PTS 14-0           |1| DTS (same layout) |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * PD is PTS_DTS_flags ('01' is forbidden); each 5-byte timestamp carries three marker bits of 1.
 */

/** stream_ids without the optional PES header (§2.4.3.7, Table 2-22): no PTS can follow. */
function hasOptionalHeader(streamId: number): boolean {
  return streamId !== 0xbc && // program_stream_map
    streamId !== 0xbe && // padding_stream
    streamId !== 0xbf && // private_stream_2
    streamId !== 0xf0 && // ECM
    streamId !== 0xf1 && // EMM
    streamId !== 0xf2 && // DSMCC_stream
    streamId !== 0xf8 && // ITU-T H.222.1 type E
    streamId !== 0xff; // program_stream_directory
}

/** The 33-bit timestamp at `u8[p, p + 5)`, or -1 when a marker bit is 0. */
function readTimestamp(u8: Uint8Array, p: number): number {
  const b0 = u8[p]!, b2 = u8[p + 2]!, b4 = u8[p + 4]!;
  if ((b0 & 1) === 0 || (b2 & 1) === 0 || (b4 & 1) === 0) return -1;
  return ((b0 >>> 1) & 7) * 1_073_741_824 + u8[p + 1]! * 4_194_304 + (b2 >>> 1) * 32_768 +
    u8[p + 3]! * 128 + (b4 >>> 1);
}

/**
 * The PTS (90 kHz, 0 to 2^33 − 1) of the PES header at `u8[start, end)`, or -1 when there is no
 * PES start code, no optional header, no PTS, or the header is cut short or malformed. Reads only
 * inside `[start, end)` and never throws.
 */
export function readPesPts(u8: Uint8Array, start: number, end: number): number {
  if (start < 0 || end > u8.length || end - start < 14) return -1;
  if (u8[start] !== 0 || u8[start + 1] !== 0 || u8[start + 2] !== 1) return -1;
  if (!hasOptionalHeader(u8[start + 3]!)) return -1;
  if ((u8[start + 6]! & 0xc0) !== 0x80) return -1;
  const flags = u8[start + 7]! >>> 6;
  if ((flags & 2) === 0 || u8[start + 8]! < (flags === 3 ? 10 : 5)) return -1;
  return readTimestamp(u8, start + 9);
}

/** A PES header as a readonly object ({@link parsePesHeader}). */
export interface PesHeader {
  readonly streamId: number;
  /** PES_packet_length: bytes after this field, 0 = unbounded (video in TS). */
  readonly packetLength: number;
  /** 90 kHz PTS, or null without one. */
  readonly pts: number | null;
  /** 90 kHz DTS, or null without one. */
  readonly dts: number | null;
  /** Offset of the PES packet data (after the header) in the input. */
  readonly dataOffset: number;
}

/** Parses the PES header at the start of `u8`; throws TsParseError with the offending offset. */
export function parsePesHeader(u8: Uint8Array): PesHeader {
  if (u8.length < 6) throw new TsParseError(`PES header needs 6 bytes, got ${u8.length}`, 0);
  if (u8[0] !== 0 || u8[1] !== 0 || u8[2] !== 1) {
    throw new TsParseError("PES packet does not start with the start code 0x000001", 0);
  }
  const streamId = u8[3]!;
  const packetLength = (u8[4]! << 8) | u8[5]!;
  if (!hasOptionalHeader(streamId)) {
    return { streamId, packetLength, pts: null, dts: null, dataOffset: 6 };
  }
  if (u8.length < 9) throw new TsParseError("PES optional header is cut short", u8.length);
  if ((u8[6]! & 0xc0) !== 0x80) throw new TsParseError("PES optional header lacks '10'", 6);
  const flags = u8[7]! >>> 6;
  if (flags === 1) throw new TsParseError("PTS_DTS_flags '01' is forbidden", 7);
  const headerLength = u8[8]!;
  const dataOffset = 9 + headerLength;
  if (dataOffset > u8.length) {
    throw new TsParseError(`PES_header_data_length ${headerLength} runs past the end`, 8);
  }
  const needed = flags === 3 ? 10 : flags === 2 ? 5 : 0;
  if (headerLength < needed) {
    throw new TsParseError(`PES_header_data_length ${headerLength} is too short for PTS/DTS`, 8);
  }
  let pts: number | null = null;
  let dts: number | null = null;
  if (flags >= 2) {
    pts = readTimestamp(u8, 9);
    if (pts < 0) throw new TsParseError("PTS marker bit is 0", 9);
  }
  if (flags === 3) {
    dts = readTimestamp(u8, 14);
    if (dts < 0) throw new TsParseError("DTS marker bit is 0", 14);
  }
  return { streamId, packetLength, pts, dts, dataOffset };
}
