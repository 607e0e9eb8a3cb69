// A receiver's SDP offer (RFC 3264 §5): what the client POSTs to the server. One RTP/AVP m-line,
// and optionally a second one for raw MPEG-TS over UDP (`udp mpeg`, RFC 8866 §5.14): RFC 3264 lets
// an offer carry several m-lines, and the answerer accepts the one it can serve.
// @ts-types="@types/sdp-transform"
import * as sdpTransform from "sdp-transform";
import { ipVersionOf } from "../net/multicast_address.ts";
import type { PayloadFormat } from "../rtp/payload_format.ts";
import { RAW_UDP_MEDIA, rtpmapsOf } from "./describe.ts";

/** Options of {@link buildOffer}. */
export interface OfferOptions {
  /** Formats the receiver understands, in preference order. */
  readonly formats: readonly PayloadFormat[];
  /** Group suggested in `c=` (the server may answer another one). */
  readonly group: string;
  /** Port suggested on the m-line. */
  readonly port: number;
  /** Media type of the m-lines; default `video`. */
  readonly mediaType?: string;
  /**
   * Also offer raw MPEG-TS over UDP: a second m-line `m=TYPE PORT+2 udp mpeg` (what VLC writes for
   * `#udp{...}`), so that a server whose stream has no RTP header can accept it. Default false.
   */
  readonly rawUdp?: boolean;
}

/**
 * A receiver's offer (RFC 3264 §5): one `recvonly` `RTP/AVP` m-line with an rtpmap per format, and
 * with `rawUdp` a second `recvonly` m-line `udp mpeg`. An answer accepts at most one of them (the
 * other gets port 0).
 */
export function buildOffer(options: OfferOptions): string {
  const ipVer = ipVersionOf(options.group) === 6 ? 6 : 4;
  const session: sdpTransform.SessionDescription = {
    version: 0,
    origin: {
      username: "-",
      sessionId: String(Math.floor(Math.random() * 2 ** 31)),
      sessionVersion: 1,
      netType: "IN",
      ipVer,
      address: ipVer === 6 ? "::" : "0.0.0.0",
    },
    name: "rtp-multicast-client",
    connection: { version: ipVer, ip: options.group },
    timing: { start: 0, stop: 0 },
    media: [{
      type: options.mediaType ?? "video",
      port: options.port,
      protocol: "RTP/AVP",
      payloads: options.formats.map((f) => f.payloadType).join(" "),
      rtp: rtpmapsOf(options.formats),
      fmtp: [],
      direction: "recvonly",
    }],
  };
  if (options.rawUdp === true) {
    session.media.push({
      type: options.mediaType ?? RAW_UDP_MEDIA.type,
      port: options.port + 2 <= 65535 ? options.port + 2 : options.port,
      protocol: RAW_UDP_MEDIA.protocol,
      payloads: RAW_UDP_MEDIA.format,
      rtp: [],
      fmtp: [],
      direction: "recvonly",
    });
  }
  return sdpTransform.write(session);
}
