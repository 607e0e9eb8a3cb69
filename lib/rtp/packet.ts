// RTP packet parsing: fixed header (RFC 3550 §5.1), header extension (§5.3.1) and padding.
// One validator serves both readRtpHeader() (receive hot path: no allocation, no throw) and
// parseRtpPacket() (a full readonly view that throws RtpParseError with the offending offset).

import { RtpParseError } from "../common/errors.ts";

/** Sizes and values of the RTP header (RFC 3550 §5.1, §5.3.1). */
export const RTP_HEADER = {
  /** Bytes of the fixed header, before the CSRC list. */
  FIXED_LENGTH: 12,
  /** The only version defined by RFC 3550. */
  VERSION: 2,
  /** Bytes per CSRC identifier. */
  CSRC_LENGTH: 4,
  /** Bytes of the extension header (profile + length in 32-bit words), before its data. */
  EXTENSION_HEADER_LENGTH: 4,
} as const;

/**
 * Result of {@link readRtpHeader}: `OK`, or why the datagram is not a valid RTP packet
 * (RFC 3550 §5.1 fixed header, §5.3.1 extension, padding rule of §5.1 "P").
 */
export const RtpHeaderStatus = {
  OK: 0,
  /** Fewer than the 12 bytes of the fixed header. */
  TOO_SHORT: 1,
  /** Version field is not 2. */
  BAD_VERSION: 2,
  /** The CSRC list (CC × 4 bytes) runs past the end. */
  BAD_CSRC: 3,
  /** X=1 but the extension header or its data runs past the end. */
  BAD_EXTENSION: 4,
  /** P=1 but the padding count is 0 or larger than the bytes after the header. */
  BAD_PADDING: 5,
} as const;

/** One of the {@link RtpHeaderStatus} codes. */
export type RtpHeaderStatus = typeof RtpHeaderStatus[keyof typeof RtpHeaderStatus];

/** camelCase reason per status code, indexed by the code (used as JSON keys for invalid counts). */
export const RTP_HEADER_STATUS_REASONS = [
  "ok",
  "tooShort",
  "badVersion",
  "badCsrc",
  "badExtension",
  "badPadding",
] as const;

/** Why a datagram was rejected, as a JSON-friendly key. */
export type RtpInvalidReason = Exclude<typeof RTP_HEADER_STATUS_REASONS[number], "ok">;

/**
 * Caller-owned, mutable header fields filled by {@link readRtpHeader}. Reuse one object for every
 * datagram; the values are meaningful only after a call that returned `RtpHeaderStatus.OK`.
 */
export interface RtpHeaderFields {
  /** PT, 7 bits. */
  payloadType: number;
  /** M bit. */
  marker: boolean;
  /** 16-bit sequence number. */
  sequenceNumber: number;
  /** 32-bit RTP timestamp (unsigned). */
  timestamp: number;
  /** 32-bit synchronisation source (unsigned). */
  ssrc: number;
  /** Offset of the payload: after fixed header, CSRC list and extension. */
  payloadOffset: number;
  /** Payload bytes, padding excluded. */
  payloadLength: number;
}

/** A fresh, zeroed {@link RtpHeaderFields} to pass to {@link readRtpHeader}. */
export function createRtpHeaderFields(): RtpHeaderFields {
  return {
    payloadType: 0,
    marker: false,
    sequenceNumber: 0,
    timestamp: 0,
    ssrc: 0,
    payloadOffset: 0,
    payloadLength: 0,
  };
}

/** A parsed RTP packet; `payload` and `extensionData` are views into the input (zero-copy). */
export interface RtpPacket {
  /** Always 2. */
  readonly version: number;
  /** P bit: the packet ends with padding. */
  readonly padding: boolean;
  /** X bit: a header extension follows the CSRC list. */
  readonly extension: boolean;
  /** M bit. */
  readonly marker: boolean;
  /** PT, 7 bits. */
  readonly payloadType: number;
  /** 16-bit sequence number. */
  readonly sequenceNumber: number;
  /** 32-bit RTP timestamp (unsigned). */
  readonly timestamp: number;
  /** 32-bit synchronisation source (unsigned). */
  readonly ssrc: number;
  /** Contributing sources (CC entries, unsigned). */
  readonly csrc: readonly number[];
  /** "defined by profile" 16 bits of the extension header, when X=1. */
  readonly extensionProfile?: number;
  /** Extension data (length × 4 bytes, header excluded), when X=1. */
  readonly extensionData?: Uint8Array;
  /** Padding bytes at the end, count byte included; 0 when P=0. */
  readonly paddingLength: number;
  /** Payload between header and padding. Dies with the next receive into the same buffer. */
  readonly payload: Uint8Array;
}

/** Where validation stopped and what it needed; only parseRtpPacket() asks for it. */
interface ScanDetail {
  /** Start of the element that is missing or malformed. */
  errorOffset: number;
  /** Bytes the packet would need (or the bad padding count for BAD_PADDING). */
  needed: number;
  /** For BAD_PADDING: bytes after the header (CSRC list and extension included). */
  available: number;
}

/*
 * RFC 3550 §5.1 fixed header, §5.3.1 extension:
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |V=2|P|X|  CC   |M|     PT      |       sequence number         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                           timestamp                           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |           synchronization source (SSRC) identifier            |
 * +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 * |            contributing source (CSRC) identifiers             |
 * |                             ....                              |   CC × 4 bytes
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |      defined by profile       |           length              |   if X=1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                        header extension                       |   length × 4 bytes
 * |                             ....                              |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                            payload ...                        |
 * |                               +-------------------------------+
 * |                               | padding ...   | padding count |   if P=1; count includes itself
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
function scanRtpHeader(
  u8: Uint8Array,
  out: RtpHeaderFields,
  detail: ScanDetail | null,
): RtpHeaderStatus {
  // Bytes are read directly rather than through a DataView so the hot path allocates nothing;
  // every index below is checked against `length` first.
  const length = u8.byteLength;
  if (length < RTP_HEADER.FIXED_LENGTH) {
    if (detail !== null) {
      detail.errorOffset = 0;
      detail.needed = RTP_HEADER.FIXED_LENGTH;
    }
    return RtpHeaderStatus.TOO_SHORT;
  }
  const b0 = u8[0]!;
  if (b0 >>> 6 !== RTP_HEADER.VERSION) {
    if (detail !== null) {
      detail.errorOffset = 0;
      detail.needed = 0;
    }
    return RtpHeaderStatus.BAD_VERSION;
  }
  const b1 = u8[1]!;
  out.marker = (b1 & 0x80) !== 0;
  out.payloadType = b1 & 0x7f;
  out.sequenceNumber = (u8[2]! << 8) | u8[3]!;
  out.timestamp = ((u8[4]! << 24) | (u8[5]! << 16) | (u8[6]! << 8) | u8[7]!) >>> 0;
  out.ssrc = ((u8[8]! << 24) | (u8[9]! << 16) | (u8[10]! << 8) | u8[11]!) >>> 0;

  let offset = RTP_HEADER.FIXED_LENGTH + (b0 & 0x0f) * RTP_HEADER.CSRC_LENGTH;
  if (offset > length) {
    if (detail !== null) {
      detail.errorOffset = RTP_HEADER.FIXED_LENGTH;
      detail.needed = offset;
    }
    return RtpHeaderStatus.BAD_CSRC;
  }
  if ((b0 & 0x10) !== 0) {
    const dataOffset = offset + RTP_HEADER.EXTENSION_HEADER_LENGTH;
    if (dataOffset > length) {
      if (detail !== null) {
        detail.errorOffset = offset;
        detail.needed = dataOffset;
      }
      return RtpHeaderStatus.BAD_EXTENSION;
    }
    const end = dataOffset + ((u8[offset + 2]! << 8) | u8[offset + 3]!) * 4;
    if (end > length) {
      if (detail !== null) {
        detail.errorOffset = dataOffset;
        detail.needed = end;
      }
      return RtpHeaderStatus.BAD_EXTENSION;
    }
    offset = end;
  }
  let paddingLength = 0;
  if ((b0 & 0x20) !== 0) {
    // The last octet counts the padding, itself included (§5.1); it may not reach into the header.
    paddingLength = u8[length - 1]!;
    if (paddingLength === 0 || paddingLength > length - offset) {
      if (detail !== null) {
        detail.errorOffset = length - 1;
        detail.needed = paddingLength;
        detail.available = length - offset;
      }
      return RtpHeaderStatus.BAD_PADDING;
    }
  }
  out.payloadOffset = offset;
  out.payloadLength = length - offset - paddingLength;
  return RtpHeaderStatus.OK;
}

/**
 * Validates the RTP header of `u8` and fills `out` without allocating or throwing: the receive
 * hot path. Returns `RtpHeaderStatus.OK` or the reason the datagram is not RTP; on a bad status
 * the contents of `out` are unspecified. Same validation as {@link parseRtpPacket}.
 */
export function readRtpHeader(u8: Uint8Array, out: RtpHeaderFields): RtpHeaderStatus {
  return scanRtpHeader(u8, out, null);
}

function describeFailure(status: RtpHeaderStatus, u8: Uint8Array, detail: ScanDetail): string {
  const length = u8.byteLength;
  switch (status) {
    case RtpHeaderStatus.TOO_SHORT:
      return `RTP packet of ${length} bytes is shorter than the ${RTP_HEADER.FIXED_LENGTH}-byte fixed header`;
    case RtpHeaderStatus.BAD_VERSION:
      return `Unsupported RTP version ${(u8[0] ?? 0) >>> 6} (expected ${RTP_HEADER.VERSION})`;
    case RtpHeaderStatus.BAD_CSRC:
      return `CSRC list of ${
        (u8[0] ?? 0) & 0x0f
      } entries needs ${detail.needed} bytes, packet has ${length}`;
    case RtpHeaderStatus.BAD_EXTENSION:
      return `RTP header extension at offset ${detail.errorOffset} needs ${detail.needed} bytes, packet has ${length}`;
    case RtpHeaderStatus.BAD_PADDING:
      return detail.needed === 0
        ? "RTP padding count is 0 (it includes itself, so must be at least 1)"
        : `RTP padding count ${detail.needed} exceeds the ${detail.available} bytes after the header`;
    default:
      return `Invalid RTP packet (status ${status})`;
  }
}

/**
 * Parses one RTP packet (RFC 3550 §5.1, extension §5.3.1) into a readonly object. `payload` and
 * `extensionData` are zero-copy views of `u8`. Throws {@link RtpParseError} (with the offset of
 * the bad element) for exactly the datagrams {@link readRtpHeader} rejects.
 */
export function parseRtpPacket(u8: Uint8Array): RtpPacket {
  const fields = createRtpHeaderFields();
  const detail: ScanDetail = { errorOffset: 0, needed: 0, available: 0 };
  const status = scanRtpHeader(u8, fields, detail);
  if (status !== RtpHeaderStatus.OK) {
    throw new RtpParseError(describeFailure(status, u8, detail), detail.errorOffset);
  }
  // Validated above: every read below is inside the packet.
  const view = new DataView(u8.buffer, u8.byteOffset, u8.byteLength);
  const b0 = view.getUint8(0);
  const csrcCount = b0 & 0x0f;
  const csrc: number[] = [];
  for (let i = 0; i < csrcCount; i++) {
    csrc.push(view.getUint32(RTP_HEADER.FIXED_LENGTH + i * RTP_HEADER.CSRC_LENGTH));
  }
  const hasExtension = (b0 & 0x10) !== 0;
  const hasPadding = (b0 & 0x20) !== 0;
  const payloadEnd = fields.payloadOffset + fields.payloadLength;
  const packet: RtpPacket = {
    version: b0 >>> 6,
    padding: hasPadding,
    extension: hasExtension,
    marker: fields.marker,
    payloadType: fields.payloadType,
    sequenceNumber: fields.sequenceNumber,
    timestamp: fields.timestamp,
    ssrc: fields.ssrc,
    csrc,
    paddingLength: u8.byteLength - payloadEnd,
    payload: u8.subarray(fields.payloadOffset, payloadEnd),
  };
  if (!hasExtension) return packet;
  const extensionOffset = RTP_HEADER.FIXED_LENGTH + csrcCount * RTP_HEADER.CSRC_LENGTH;
  return {
    ...packet,
    extensionProfile: view.getUint16(extensionOffset),
    extensionData: u8.subarray(
      extensionOffset + RTP_HEADER.EXTENSION_HEADER_LENGTH,
      fields.payloadOffset,
    ),
  };
}
