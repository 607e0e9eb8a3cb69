// SAP packets (RFC 2974 §6, Session Announcement Protocol version 2, whose header says V=1): the
// header parser and writer, with a named error whose `problem` says which kind of bad packet it was
// so that listeners can count them.
import { formatIpAddress, parseIpAddress } from "../net/ip_address.ts";
import { ipVersionOf } from "../net/multicast_address.ts";

/** Header constants of RFC 2974 §6. */
export const SAP = {
  /** The version field of every SAP packet (RFC 2974 §6: "MUST be set to 1"). */
  VERSION: 1,
  /** First-byte flag bits. */
  ADDRESS_TYPE_IPV6: 0x10,
  RESERVED: 0x08,
  MESSAGE_TYPE_DELETE: 0x04,
  ENCRYPTED: 0x02,
  COMPRESSED: 0x01,
  /** Bytes before the originating source. */
  FIXED_HEADER_LENGTH: 4,
  /** The payload type SAP carries here (RFC 2974 §6: optional, MIME type, NUL-terminated). */
  SDP_PAYLOAD_TYPE: "application/sdp",
  /** Longest payload type field read before giving up on finding its NUL. */
  MAX_PAYLOAD_TYPE_LENGTH: 64,
} as const;

/** Largest datagram a listener accepts: 8 × the 1 KB RFC 2974 §6 asks announcers to keep under. */
export const MAX_SAP_PACKET_BYTES = 8 * 1024;
/** Largest announcement this project sends (RFC 2974 §6: "SHOULD NOT exceed 1 kbyte"). */
export const MAX_SAP_ANNOUNCEMENT_BYTES = 1023;

/** The kinds of packet a listener ignores, one counter each. */
export const SAP_PROBLEMS = [
  "wrongVersion",
  "truncated",
  "huge",
  "encrypted",
  "deflateBomb",
  "badCompression",
  "notSdp",
  "invalidSdp",
] as const;

/** One kind of ignored SAP packet. */
export type SapProblem = typeof SAP_PROBLEMS[number];

/** A datagram that is not a usable SAP packet; `offset` is where decoding stopped. */
export class SapParseError extends RangeError {
  override name = "SapParseError";
  /** Byte offset in the datagram (or the inflated payload) at which the problem was found. */
  readonly offset: number;
  /** Which counter the packet goes to. */
  readonly problem: SapProblem;
  constructor(
    problem: SapProblem,
    message: string,
    offset: number,
    options: { cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.problem = problem;
    this.offset = offset;
  }
}

/** Announcement or deletion (the T bit). */
export type SapMessageType = "announce" | "delete";

/** A parsed SAP header; `body` is a view (payload type + payload, possibly compressed). */
export interface SapHeader {
  readonly messageType: SapMessageType;
  /** IP version of the originating source (the A bit). */
  readonly addressType: 4 | 6;
  readonly encrypted: boolean;
  readonly compressed: boolean;
  /** Message identifier hash, 0-65535 (0 only from SAPv1 announcers). */
  readonly hash: number;
  /** Originating source address, as text. */
  readonly origin: string;
  /** Authentication data (a view), 4 × auth len bytes; not verified here. */
  readonly authentication: Uint8Array;
  /** Everything after the authentication data: payload type and payload, compressed when `compressed`. */
  readonly body: Uint8Array;
  /** Offset of `body` in the datagram. */
  readonly bodyOffset: number;
}

/*
 * RFC 2974 §6 packet format:
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | V=1 |A|R|T|E|C|   auth len    |         msg id hash           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                                                               |
 * :                originating source (32 or 128 bits)            :
 * :                                                               :
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                    optional authentication data               |
 * :                              ....                             :
 * *-*-*-*-*-*-*-*-*-*-*-*-*-*-*-*-*-*-*-*-*-*-*-*-*-*-*-*-*-*-*-*-*
 * |                      optional payload type                    |
 * +                                         +-+- - - - - - - - - -+
 * |                                         |0|                   |
 * + - - - - - - - - - - - - - - - - - - - - +-+                   |
 * |                                                               |
 * :                            payload                            :
 * |                                                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * A: 0 IPv4 / 1 IPv6 origin; R: reserved (ignored); T: 0 announcement / 1 deletion; E: encrypted;
 * C: zlib-compressed (everything after the authentication data); auth len: 32-bit words.
 */

/**
 * Parses the header of a SAP datagram: version, flags, hash, origin, and the authentication data
 * skipped. Throws SapParseError (`wrongVersion`, `truncated`, `huge`, `encrypted`) with the offset.
 * The views returned die with the next receive into the same buffer.
 */
export function parseSapHeader(datagram: Uint8Array): SapHeader {
  if (datagram.length > MAX_SAP_PACKET_BYTES) {
    throw new SapParseError(
      "huge",
      `SAP packet of ${datagram.length} bytes is larger than ${MAX_SAP_PACKET_BYTES}`,
      MAX_SAP_PACKET_BYTES,
    );
  }
  if (datagram.length < SAP.FIXED_HEADER_LENGTH) {
    throw new SapParseError(
      "truncated",
      `SAP packet of ${datagram.length} bytes is shorter than its 4-byte header`,
      datagram.length,
    );
  }
  const first = datagram[0]!;
  const version = first >> 5;
  if (version !== SAP.VERSION) {
    throw new SapParseError("wrongVersion", `SAP version ${version}, expected ${SAP.VERSION}`, 0);
  }
  const addressType = (first & SAP.ADDRESS_TYPE_IPV6) !== 0 ? 6 : 4;
  const authWords = datagram[1]!;
  const hash = (datagram[2]! << 8) | datagram[3]!;
  const originLength = addressType === 6 ? 16 : 4;
  const authOffset = SAP.FIXED_HEADER_LENGTH + originLength;
  if (datagram.length < authOffset) {
    throw new SapParseError(
      "truncated",
      `SAP packet of ${datagram.length} bytes ends inside its IPv${addressType} origin`,
      datagram.length,
    );
  }
  const bodyOffset = authOffset + 4 * authWords;
  if (datagram.length < bodyOffset) {
    throw new SapParseError(
      "truncated",
      `SAP packet of ${datagram.length} bytes ends inside its ${
        4 * authWords
      } bytes of authentication data`,
      datagram.length,
    );
  }
  if ((first & SAP.ENCRYPTED) !== 0) {
    throw new SapParseError("encrypted", "SAP payload is encrypted; ignored", 0);
  }
  return {
    messageType: (first & SAP.MESSAGE_TYPE_DELETE) !== 0 ? "delete" : "announce",
    addressType,
    encrypted: false,
    compressed: (first & SAP.COMPRESSED) !== 0,
    hash,
    origin: formatIpAddress(addressType, datagram, SAP.FIXED_HEADER_LENGTH),
    authentication: datagram.subarray(authOffset, bodyOffset),
    body: datagram.subarray(bodyOffset),
    bodyOffset,
  };
}

/** The payload type and the payload (a view) of an uncompressed body. */
export interface SapPayload {
  /** MIME type; `application/sdp` when the packet has none (RFC 2974 §6, SAPv1 compatibility). */
  readonly payloadType: string;
  readonly payload: Uint8Array;
  /** Offset of `payload` in the body. */
  readonly payloadOffset: number;
}

const V0 = [0x76, 0x3d, 0x30] as const; // "v=0"

/**
 * Splits a body into payload type and payload. A body starting with `v=0` has no payload type (SAPv1);
 * otherwise the type runs to a NUL within MAX_PAYLOAD_TYPE_LENGTH bytes. `baseOffset` is added to
 * offsets in errors (the body's offset in the datagram, or 0 for an inflated body).
 */
export function splitSapPayload(body: Uint8Array, baseOffset = 0): SapPayload {
  if (body.length >= 3 && V0.every((byte, i) => body[i] === byte)) {
    return { payloadType: SAP.SDP_PAYLOAD_TYPE, payload: body, payloadOffset: 0 };
  }
  const end = body.subarray(0, SAP.MAX_PAYLOAD_TYPE_LENGTH + 1).indexOf(0);
  if (end < 0) {
    throw new SapParseError(
      body.length <= SAP.MAX_PAYLOAD_TYPE_LENGTH ? "truncated" : "notSdp",
      body.length <= SAP.MAX_PAYLOAD_TYPE_LENGTH
        ? "SAP payload type is not NUL-terminated"
        : `SAP payload neither starts with v=0 nor has a payload type of at most ${SAP.MAX_PAYLOAD_TYPE_LENGTH} bytes`,
      baseOffset + Math.min(body.length, SAP.MAX_PAYLOAD_TYPE_LENGTH),
    );
  }
  let payloadType = "";
  for (const byte of body.subarray(0, end)) {
    if (byte < 0x21 || byte > 0x7e) {
      throw new SapParseError("notSdp", "SAP payload type is not printable ASCII", baseOffset);
    }
    payloadType += String.fromCharCode(byte);
  }
  return { payloadType, payload: body.subarray(end + 1), payloadOffset: end + 1 };
}

/** What {@link encodeSapPacket} writes. */
export interface SapPacketFields {
  readonly messageType: SapMessageType;
  /** Message identifier hash, 0-65535 (this project never sends 0). */
  readonly hash: number;
  /** Originating source, IPv4 or IPv6 text; sets the A bit. */
  readonly origin: string;
  /** Payload type field; undefined omits it (SAPv1 style). Ignored when `compressed`. */
  readonly payloadType?: string;
  /** The payload; when `compressed`, the already zlib-compressed payload type and payload. */
  readonly payload: Uint8Array;
  /** Sets the C bit: `payload` is zlib data (see inflate.ts `deflate`). */
  readonly compressed?: boolean;
  /** Sets the E bit (tests only: this project never encrypts). */
  readonly encrypted?: boolean;
  /** Authentication data, a multiple of 4 bytes (tests only: never verified here). */
  readonly authentication?: Uint8Array;
  /** Version field, default 1 (tests only). */
  readonly version?: number;
}

/** Writes a SAP packet (RFC 2974 §6). Throws RangeError for a bad hash, origin or auth length. */
export function encodeSapPacket(fields: SapPacketFields): Uint8Array {
  if (!Number.isInteger(fields.hash) || fields.hash < 0 || fields.hash > 0xffff) {
    throw new RangeError(`SAP message hash ${fields.hash} is not 0-65535`);
  }
  const version = ipVersionOf(fields.origin);
  if (version === undefined) {
    throw new RangeError(`SAP origin "${fields.origin}" is not an IP address`);
  }
  const auth = fields.authentication ?? new Uint8Array(0);
  if (auth.length % 4 !== 0 || auth.length > 255 * 4) {
    throw new RangeError(`SAP authentication data of ${auth.length} bytes is not 4 × 0-255`);
  }
  const origin = parseIpAddress(fields.origin.split("%", 1)[0]!)?.bytes;
  if (origin === undefined) {
    throw new RangeError(`SAP origin "${fields.origin}" is not an IP address`);
  }
  const type = fields.compressed === true || fields.payloadType === undefined
    ? new Uint8Array(0)
    : new TextEncoder().encode(`${fields.payloadType}\0`);
  const packet = new Uint8Array(
    SAP.FIXED_HEADER_LENGTH + origin.length + auth.length + type.length + fields.payload.length,
  );
  packet[0] = ((fields.version ?? SAP.VERSION) << 5) |
    (version === 6 ? SAP.ADDRESS_TYPE_IPV6 : 0) |
    (fields.messageType === "delete" ? SAP.MESSAGE_TYPE_DELETE : 0) |
    (fields.encrypted === true ? SAP.ENCRYPTED : 0) |
    (fields.compressed === true ? SAP.COMPRESSED : 0);
  packet[1] = auth.length / 4;
  packet[2] = fields.hash >> 8;
  packet[3] = fields.hash & 0xff;
  let offset = SAP.FIXED_HEADER_LENGTH;
  for (const part of [origin, auth, type, fields.payload]) {
    packet.set(part, offset);
    offset += part.length;
  }
  return packet;
}
