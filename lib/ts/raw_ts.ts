// Telling raw MPEG-TS over UDP (ISO/IEC 13818-1 packets straight in the datagram, as VLC's
// `#udp{...}` and ffmpeg's `-f mpegts udp://` send) from MPEG-TS over RTP (RFC 2250, RFC 3550 §5.1).

import { TS } from "./constants.ts";

/**
 * Whether a UDP datagram is raw MPEG-TS: its length is a non-zero multiple of 188 and every packet
 * in it starts with the sync byte 0x47. Such a datagram is never valid RTP: 0x47 has version bits
 * 01, and RFC 3550 §5.1 requires version 2 (first byte 0x80-0xBF), so the two cannot be confused.
 * Checking every packet's sync byte (7 reads for a typical datagram) keeps a datagram of other
 * data that merely starts with 0x47 from passing.
 */
export function isRawTsDatagram(u8: Uint8Array): boolean {
  const length = u8.length;
  if (length === 0 || length % TS.PACKET_SIZE !== 0) return false;
  for (let at = 0; at < length; at += TS.PACKET_SIZE) {
    if (u8[at] !== TS.SYNC_BYTE) return false;
  }
  return true;
}
