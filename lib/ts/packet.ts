// Transport packet parsing (ISO/IEC 13818-1 §2.4.3.2 header, §2.4.3.4 adaptation field with PCR).
// readTsPacket() is the analyser's hot path (fills a caller-owned object, never throws, never
// allocates); parseTsPacket() returns a readonly view and throws TsParseError with the offset.

import { TS } from "./constants.ts";
import { TsParseError } from "./parse_error.ts";

/** Result of {@link readTsPacket}: `OK` or why the packet (or part of it) is unusable. */
export const TsPacketStatus = {
  OK: 0,
  /** Fewer than 188 bytes from the start offset. */
  TOO_SHORT: 1,
  /** First byte is not 0x47 (TR 101 290 1.2): nothing else was read. */
  BAD_SYNC: 2,
  /** adaptation_field_control '00' (reserved, §2.4.3.3): decoders discard the packet. */
  RESERVED_AFC: 3,
  /**
   * adaptation_field_length past the end of the packet (over 183, or over 182 when a payload
   * follows), or a PCR_flag with a field too short for the PCR: header fields are valid, the
   * adaptation field and the payload are not read.
   */
  BAD_ADAPTATION_FIELD: 4,
} as const;

/** One of the {@link TsPacketStatus} codes. */
export type TsPacketStatus = typeof TsPacketStatus[keyof typeof TsPacketStatus];

/**
 * Caller-owned packet fields filled by {@link readTsPacket}. Reuse one object for every packet;
 * header fields are meaningful unless the status was TOO_SHORT or BAD_SYNC, adaptation field and
 * payload fields only after `OK`.
 */
export interface TsPacketFields {
  /** transport_error_indicator. */
  transportError: boolean;
  /** payload_unit_start_indicator. */
  payloadUnitStart: boolean;
  /** 13-bit PID. */
  pid: number;
  /** transport_scrambling_control (2 bits; 0 = not scrambled). */
  scrambling: number;
  /** adaptation_field_control (2 bits): 1 payload only, 2 adaptation field only, 3 both. */
  adaptationFieldControl: number;
  /** continuity_counter (4 bits). */
  continuityCounter: number;
  /** discontinuity_indicator of the adaptation field. */
  discontinuity: boolean;
  /** random_access_indicator of the adaptation field. */
  randomAccess: boolean;
  /** PCR in 27 MHz ticks (base × 300 + extension), or -1 when the packet carries none. */
  pcr: number;
  /** Absolute offset of the payload's first byte in the buffer. */
  payloadStart: number;
  /** Absolute offset just past the payload (start + 188); payloadStart === payloadEnd: none. */
  payloadEnd: number;
}

/** A fresh {@link TsPacketFields} to pass to {@link readTsPacket}. */
export function createTsPacketFields(): TsPacketFields {
  return {
    transportError: false,
    payloadUnitStart: false,
    pid: 0,
    scrambling: 0,
    adaptationFieldControl: 0,
    continuityCounter: 0,
    discontinuity: false,
    randomAccess: false,
    pcr: -1,
    payloadStart: 0,
    payloadEnd: 0,
  };
}

/*
 * Transport packet header (ISO/IEC 13818-1 §2.4.3.2) and adaptation field (§2.4.3.4):
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  sync = 0x47  |E|S|P|           PID           |SC |AFC|  CC   |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | AF length     |D|R|I|C|O|S|P|X|  PCR base (33 bits) ...        |   if AFC & 2
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  ... PCR base               |B| reserved  | PCR ext (9 bits)  |   if C (PCR_flag)
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  OPCR, splice countdown, private data, extension, stuffing    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  payload (the rest of the 188 bytes)                          |   if AFC & 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * E transport_error_indicator, S payload_unit_start_indicator, P transport_priority, SC
 * transport_scrambling_control, AFC adaptation_field_control, CC continuity_counter. Adaptation
 * field flags: D discontinuity, R random_access, I ES priority, C PCR, O OPCR, S splicing point,
 * P private data, X extension. AF length is 183 with no payload (AFC 10), 0-182 with one (AFC 11).
 */

/**
 * Reads the packet at `u8[at, at + 188)` into `f`. Never throws and never reads outside the
 * packet: every length is checked against the 188-byte boundary first.
 */
export function readTsPacket(u8: Uint8Array, at: number, f: TsPacketFields): TsPacketStatus {
  if (at < 0 || at + TS.PACKET_SIZE > u8.length) return TsPacketStatus.TOO_SHORT;
  if (u8[at] !== TS.SYNC_BYTE) return TsPacketStatus.BAD_SYNC;
  const b1 = u8[at + 1]!;
  const b3 = u8[at + 3]!;
  const end = at + TS.PACKET_SIZE;
  f.transportError = (b1 & 0x80) !== 0;
  f.payloadUnitStart = (b1 & 0x40) !== 0;
  f.pid = ((b1 & 0x1f) << 8) | u8[at + 2]!;
  f.scrambling = b3 >>> 6;
  const afc = (b3 >>> 4) & 3;
  f.adaptationFieldControl = afc;
  f.continuityCounter = b3 & 0x0f;
  f.discontinuity = false;
  f.randomAccess = false;
  f.pcr = -1;
  f.payloadStart = end;
  f.payloadEnd = end;
  if (afc === 0) return TsPacketStatus.RESERVED_AFC;
  let payloadStart = at + 4;
  if ((afc & 2) !== 0) {
    const length = u8[at + 4]!;
    if (length > (afc === 3 ? TS.PAYLOAD_SIZE - 2 : TS.PAYLOAD_SIZE - 1)) {
      return TsPacketStatus.BAD_ADAPTATION_FIELD;
    }
    if (length > 0) {
      const flags = u8[at + 5]!;
      if ((flags & 0x10) !== 0) {
        // PCR_flag: 6 bytes after the flags byte, so the field needs a length of at least 7.
        if (length < 7) return TsPacketStatus.BAD_ADAPTATION_FIELD;
        const p = at + 6;
        const base = u8[p]! * 33_554_432 + u8[p + 1]! * 131_072 + u8[p + 2]! * 512 +
          u8[p + 3]! * 2 + (u8[p + 4]! >>> 7);
        f.pcr = base * 300 + ((u8[p + 4]! & 1) << 8) + u8[p + 5]!;
      }
      f.discontinuity = (flags & 0x80) !== 0;
      f.randomAccess = (flags & 0x40) !== 0;
    }
    payloadStart += 1 + length;
  }
  if ((afc & 1) !== 0) f.payloadStart = payloadStart;
  return TsPacketStatus.OK;
}

/** A transport packet as a readonly object ({@link parseTsPacket}); `payload` is a view. */
export interface TsPacket {
  readonly transportError: boolean;
  readonly payloadUnitStart: boolean;
  readonly pid: number;
  readonly scrambling: number;
  readonly adaptationFieldControl: number;
  readonly continuityCounter: number;
  readonly discontinuity: boolean;
  readonly randomAccess: boolean;
  /** 27 MHz PCR, or null without one. */
  readonly pcr: number | null;
  /** Zero-copy view of the payload bytes (empty without payload). */
  readonly payload: Uint8Array;
}

const STATUS_MESSAGES: Record<number, [string, number]> = {
  [TsPacketStatus.TOO_SHORT]: ["Transport packet is shorter than 188 bytes", 0],
  [TsPacketStatus.BAD_SYNC]: ["Transport packet does not start with the sync byte 0x47", 0],
  [TsPacketStatus.RESERVED_AFC]: ["adaptation_field_control is the reserved value 00", 3],
  [TsPacketStatus.BAD_ADAPTATION_FIELD]: ["Adaptation field runs past the end of the packet", 4],
};

/** Parses one 188-byte packet at `u8[at]`; throws TsParseError (with the offset) when invalid. */
export function parseTsPacket(u8: Uint8Array, at = 0): TsPacket {
  const f = createTsPacketFields();
  const status = readTsPacket(u8, at, f);
  if (status !== TsPacketStatus.OK) {
    const [message, offset] = STATUS_MESSAGES[status]!;
    throw new TsParseError(`${message} (at byte ${at + offset})`, at + offset);
  }
  return {
    transportError: f.transportError,
    payloadUnitStart: f.payloadUnitStart,
    pid: f.pid,
    scrambling: f.scrambling,
    adaptationFieldControl: f.adaptationFieldControl,
    continuityCounter: f.continuityCounter,
    discontinuity: f.discontinuity,
    randomAccess: f.randomAccess,
    pcr: f.pcr < 0 ? null : f.pcr,
    payload: u8.subarray(f.payloadStart, f.payloadEnd),
  };
}
