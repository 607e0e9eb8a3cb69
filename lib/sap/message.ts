// A whole SAP message decoded from a datagram (RFC 2974 §6): header, zlib inflate when the C bit is
// set, payload type `application/sdp`, UTF-8 text. Every way it can fail is a SapParseError problem.
import { inflateBounded } from "./inflate.ts";
import {
  parseSapHeader,
  SAP,
  type SapMessageType,
  SapParseError,
  splitSapPayload,
} from "./packet.ts";

/** A decoded SAP message carrying SDP. */
export interface SapMessage {
  readonly messageType: SapMessageType;
  readonly hash: number;
  readonly origin: string;
  readonly addressType: 4 | 6;
  /** The payload was zlib-compressed (C bit). */
  readonly compressed: boolean;
  /** The SDP text (copied out of the datagram). */
  readonly sdp: string;
  /** Size of the datagram. */
  readonly bytes: number;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Decodes a SAP datagram down to its SDP text. Throws SapParseError: `wrongVersion`, `truncated`,
 * `huge`, `encrypted` (header), `deflateBomb`, `badCompression` (C bit), `notSdp` (a payload type
 * other than application/sdp), `invalidSdp` (not UTF-8 text). The SDP itself is checked by the caller.
 */
export async function decodeSapMessage(datagram: Uint8Array): Promise<SapMessage> {
  const header = parseSapHeader(datagram);
  const body = header.compressed ? await inflateBounded(header.body) : header.body;
  const base = header.compressed ? 0 : header.bodyOffset;
  const { payloadType, payload, payloadOffset } = splitSapPayload(body, base);
  if (payloadType.toLowerCase() !== SAP.SDP_PAYLOAD_TYPE) {
    throw new SapParseError(
      "notSdp",
      `SAP payload type "${payloadType}" is not ${SAP.SDP_PAYLOAD_TYPE}`,
      base,
    );
  }
  let sdp: string;
  try {
    sdp = utf8.decode(payload);
  } catch (error) {
    throw new SapParseError("invalidSdp", "SAP payload is not UTF-8 text", base + payloadOffset, {
      cause: error,
    });
  }
  return {
    messageType: header.messageType,
    hash: header.hash,
    origin: header.origin,
    addressType: header.addressType,
    compressed: header.compressed,
    sdp,
    bytes: datagram.length,
  };
}
