// PSI section parsing (ISO/IEC 13818-1 §2.4.4): the long section header, the program association
// table (§2.4.4.3), the program map table (§2.4.4.8) and descriptor loops (§2.6). Each parser takes
// one whole section, returns a readonly object and throws TsParseError with the offset.

import { TABLE_ID, TS } from "./constants.ts";
import { crc32Mpeg2 } from "./crc32.ts";
import { TsParseError } from "./parse_error.ts";

/*
 * Long-form section header (§2.4.4.11), shared by the PAT, PMT and the DVB tables:
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |   table_id    |S|0|res|    section_length     | table_id_ext. |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | ...ext.       |res| version |C| section_number| last_sect._num|
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  table body ...                                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                            CRC_32                             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * S section_syntax_indicator, C current_next_indicator. section_length counts the bytes after it,
 * CRC included; the CRC_32 (Annex A) over the whole section including itself is 0.
 */

/** The long section header ({@link parseSectionHeader}). */
export interface SectionHeader {
  readonly tableId: number;
  /** Bytes of the whole section: 3 + section_length. */
  readonly length: number;
  /** transport_stream_id (PAT), program_number (PMT), service or network id (SI). */
  readonly idExtension: number;
  readonly version: number;
  readonly currentNext: boolean;
  readonly sectionNumber: number;
  readonly lastSectionNumber: number;
}

/** Bytes of the long header before the table body. */
const LONG_HEADER_BYTES = 8;
/** Bytes of CRC_32 at the end of the section. */
const CRC_BYTES = 4;

/**
 * Whether the section `u8[0, length)` carries a CRC_32: every long-form section
 * (section_syntax_indicator 1) and the TOT, which has one despite its short form (EN 300 468 §5.2.6).
 */
export function sectionHasCrc(u8: Uint8Array, length: number): boolean {
  if (length < 3) return false;
  return (u8[1]! & 0x80) !== 0 || u8[0] === TABLE_ID.TIME_OFFSET;
}

/** Whether the CRC_32 of the section `u8[0, length)` is right (Annex A: the CRC over all is 0). */
export function sectionCrcOk(u8: Uint8Array, length: number): boolean {
  return length >= CRC_BYTES && length <= u8.length && crc32Mpeg2(u8, 0, length) === 0;
}

/** Parses the long header of the section at the start of `u8`; checks the length and syntax. */
export function parseSectionHeader(u8: Uint8Array): SectionHeader {
  if (u8.length < 3) throw new TsParseError(`Section needs 3 bytes, got ${u8.length}`, 0);
  const length = 3 + (((u8[1]! & 0x0f) << 8) | u8[2]!);
  if (length > u8.length) {
    throw new TsParseError(`section_length ${length - 3} runs past the end (${u8.length})`, 1);
  }
  if ((u8[1]! & 0x80) === 0) {
    throw new TsParseError(`Table 0x${hex(u8[0]!)} is not a long-form section`, 1);
  }
  if (length < LONG_HEADER_BYTES + CRC_BYTES) {
    throw new TsParseError(`section_length ${length - 3} is shorter than the header and CRC`, 1);
  }
  return {
    tableId: u8[0]!,
    length,
    idExtension: (u8[3]! << 8) | u8[4]!,
    version: (u8[5]! >>> 1) & 0x1f,
    currentNext: (u8[5]! & 1) !== 0,
    sectionNumber: u8[6]!,
    lastSectionNumber: u8[7]!,
  };
}

function hex(value: number): string {
  return value.toString(16).padStart(2, "0");
}

function expectTable(header: SectionHeader, tableId: number, name: string): void {
  if (header.tableId !== tableId) {
    throw new TsParseError(
      `Expected a ${name} (table_id 0x${hex(tableId)}), got 0x${hex(header.tableId)}`,
      0,
    );
  }
}

/** One entry of a PAT: program_number 0 names the network PID (NIT). */
export interface PatProgram {
  readonly number: number;
  readonly pid: number;
}

/** A program association section ({@link parsePat}). */
export interface Pat extends SectionHeader {
  readonly transportStreamId: number;
  readonly programs: readonly PatProgram[];
}

/*
 * PAT body (§2.4.4.3), after the long header, repeated up to the CRC:
 * | program_number (16) | reserved (3) | network_PID or program_map_PID (13) |
 */

/** Parses a PAT section (table_id 0x00); the CRC is not checked here (see {@link sectionCrcOk}). */
export function parsePat(u8: Uint8Array): Pat {
  const header = parseSectionHeader(u8);
  expectTable(header, TABLE_ID.PROGRAM_ASSOCIATION, "PAT");
  const bodyEnd = header.length - CRC_BYTES;
  if ((bodyEnd - LONG_HEADER_BYTES) % 4 !== 0) {
    throw new TsParseError(
      `PAT body of ${bodyEnd - LONG_HEADER_BYTES} bytes is not whole entries`,
      1,
    );
  }
  const programs: PatProgram[] = [];
  for (let p = LONG_HEADER_BYTES; p < bodyEnd; p += 4) {
    programs.push({
      number: (u8[p]! << 8) | u8[p + 1]!,
      pid: ((u8[p + 2]! & 0x1f) << 8) | u8[p + 3]!,
    });
  }
  return { ...header, transportStreamId: header.idExtension, programs };
}

/** A descriptor (§2.6): tag and a view of its data. */
export interface Descriptor {
  readonly tag: number;
  readonly data: Uint8Array;
}

/** Parses the descriptor loop `u8[start, end)` (tag, length, data); throws if one runs past `end`. */
export function parseDescriptors(u8: Uint8Array, start: number, end: number): Descriptor[] {
  const list: Descriptor[] = [];
  let p = start;
  while (p < end) {
    if (p + 2 > end) throw new TsParseError("Descriptor header runs past the end of its loop", p);
    const length = u8[p + 1]!;
    if (p + 2 + length > end) {
      throw new TsParseError(
        `Descriptor 0x${hex(u8[p]!)} of ${length} bytes runs past its loop`,
        p + 1,
      );
    }
    list.push({ tag: u8[p]!, data: u8.subarray(p + 2, p + 2 + length) });
    p += 2 + length;
  }
  return list;
}

/** One elementary stream of a PMT. */
export interface PmtStream {
  readonly streamType: number;
  readonly pid: number;
  readonly descriptors: readonly Descriptor[];
}

/** A program map section ({@link parsePmt}). */
export interface Pmt extends SectionHeader {
  readonly programNumber: number;
  /** PCR_PID, or null when it is 0x1FFF (no PCR for this programme, §2.4.4.9). */
  readonly pcrPid: number | null;
  readonly descriptors: readonly Descriptor[];
  readonly streams: readonly PmtStream[];
}

/*
 * PMT body (§2.4.4.8), after the long header:
 * | reserved (3) | PCR_PID (13) | reserved (4) | program_info_length (12) | descriptors |
 * then up to the CRC, per stream:
 * | stream_type (8) | reserved (3) | elementary_PID (13) | reserved (4) | ES_info_length (12) | descriptors |
 */

/** Parses a PMT section (table_id 0x02); the CRC is not checked here. */
export function parsePmt(u8: Uint8Array): Pmt {
  const header = parseSectionHeader(u8);
  expectTable(header, TABLE_ID.PROGRAM_MAP, "PMT");
  const bodyEnd = header.length - CRC_BYTES;
  let p = LONG_HEADER_BYTES;
  if (p + 4 > bodyEnd) throw new TsParseError("PMT is too short for PCR_PID and program_info", p);
  const pcrPid = ((u8[p]! & 0x1f) << 8) | u8[p + 1]!;
  const infoLength = ((u8[p + 2]! & 0x0f) << 8) | u8[p + 3]!;
  p += 4;
  if (p + infoLength > bodyEnd) {
    throw new TsParseError(`program_info_length ${infoLength} runs past the end`, p - 2);
  }
  const descriptors = parseDescriptors(u8, p, p + infoLength);
  p += infoLength;
  const streams: PmtStream[] = [];
  while (p < bodyEnd) {
    if (p + 5 > bodyEnd) throw new TsParseError("PMT stream entry runs past the end", p);
    const esInfoLength = ((u8[p + 3]! & 0x0f) << 8) | u8[p + 4]!;
    if (p + 5 + esInfoLength > bodyEnd) {
      throw new TsParseError(`ES_info_length ${esInfoLength} runs past the end`, p + 3);
    }
    streams.push({
      streamType: u8[p]!,
      pid: ((u8[p + 1]! & 0x1f) << 8) | u8[p + 2]!,
      descriptors: parseDescriptors(u8, p + 5, p + 5 + esInfoLength),
    });
    p += 5 + esInfoLength;
  }
  return {
    ...header,
    programNumber: header.idExtension,
    pcrPid: pcrPid === TS.NULL_PID ? null : pcrPid,
    descriptors,
    streams,
  };
}
