// Writes the RTP fixed header (RFC 3550 §5.1) into a caller buffer, for senders: version 2, no
// padding, no extension, no CSRC list. Allocation-free, so it can run once per packet.
import { RTP_HEADER } from "./packet.ts";

/** Fields of the fixed RTP header that a sender chooses (RFC 3550 §5.1). */
export interface RtpHeaderInit {
  /** PT, 0-127 (33 is MP2T, RFC 3551 §6). */
  readonly payloadType: number;
  /** M bit; for MP2T it marks a timestamp discontinuity (RFC 2250 §2). */
  readonly marker: boolean;
  /** 16-bit sequence number. */
  readonly sequenceNumber: number;
  /** 32-bit timestamp; taken modulo 2^32. */
  readonly timestamp: number;
  /** 32-bit synchronisation source identifier. */
  readonly ssrc: number;
}

/*
 * RFC 3550 §5.1 fixed header as written here (P=0, X=0, CC=0):
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
 */
/**
 * Writes the 12-byte fixed RTP header (RFC 3550 §5.1: V=2, P=0, X=0, CC=0) to `out[0, 12)` and
 * returns 12, the payload offset. Sequence number and timestamp wrap (mod 2^16, 2^32). Throws a
 * RangeError when `out` is shorter than 12 bytes or the payload type is not 0-127.
 */
export function writeRtpHeader(out: Uint8Array, header: RtpHeaderInit): number {
  if (out.length < RTP_HEADER.FIXED_LENGTH) {
    throw new RangeError(
      `RTP header needs ${RTP_HEADER.FIXED_LENGTH} bytes, buffer has ${out.length}`,
    );
  }
  const { payloadType, sequenceNumber, timestamp, ssrc } = header;
  if (!Number.isInteger(payloadType) || payloadType < 0 || payloadType > 127) {
    throw new RangeError(`RTP payload type must be 0-127, got ${payloadType}`);
  }
  out[0] = 0x80;
  out[1] = (header.marker ? 0x80 : 0) | payloadType;
  out[2] = (sequenceNumber >>> 8) & 0xff;
  out[3] = sequenceNumber & 0xff;
  out[4] = (timestamp >>> 24) & 0xff;
  out[5] = (timestamp >>> 16) & 0xff;
  out[6] = (timestamp >>> 8) & 0xff;
  out[7] = timestamp & 0xff;
  out[8] = (ssrc >>> 24) & 0xff;
  out[9] = (ssrc >>> 16) & 0xff;
  out[10] = (ssrc >>> 8) & 0xff;
  out[11] = ssrc & 0xff;
  return RTP_HEADER.FIXED_LENGTH;
}
