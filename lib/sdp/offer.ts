// A receiver's SDP offer (RFC 3264 §5): what the client POSTs to the server.
// @ts-types="@types/sdp-transform"
import * as sdpTransform from "sdp-transform";
import { ipVersionOf } from "../net/multicast_address.ts";
import type { PayloadFormat } from "../rtp/payload_format.ts";
import { rtpmapsOf } from "./describe.ts";

/** Options of {@link buildOffer}. */
export interface OfferOptions {
  /** Formats the receiver understands, in preference order. */
  readonly formats: readonly PayloadFormat[];
  /** Group suggested in `c=` (the server may answer another one). */
  readonly group: string;
  /** Port suggested on the m-line. */
  readonly port: number;
  /** Media type of the m-line; default `video`. */
  readonly mediaType?: string;
}

/** A receiver's offer (RFC 3264 §5): one `recvonly` `RTP/AVP` m-line with an rtpmap per format. */
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
  return sdpTransform.write(session);
}
