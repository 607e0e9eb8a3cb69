// Answers to receivers' offers for a multicast stream (RFC 3264 §6, with the multicast rules of
// §6.2 and the documented deviation that the sender dictates group, port and payload types).
// @ts-types="@types/sdp-transform"
import * as sdpTransform from "sdp-transform";
import { sameEncoding } from "../rtp/payload_format.ts";
import {
  connectionOf,
  describeFormats,
  originOf,
  rtpmapsOf,
  sourceFilterOf,
  withoutUndefined,
} from "./describe.ts";
import { parseSdp, RTP_PROTOCOL } from "./parse.ts";
import type { CatalogEntry } from "./stream.ts";

/** Outcome of answering an offer. */
export interface AnswerResult {
  /** The answer SDP (CRLF line ends). */
  readonly sdp: string;
  /** How many offered m-lines were accepted (0 or 1: a stream is one RTP session). */
  readonly accepted: number;
  /** What the offer asked for, for error messages: `video 33 MP2T/90000`, ... */
  readonly offered: readonly string[];
  /** What the stream carries: `33 MP2T/90000`, ... */
  readonly carried: readonly string[];
}

/**
 * Answers an offer for a multicast stream (RFC 3264 §6). Every offered m-line gets an m-line in the
 * same order. The first one that offers RTP with a format the stream carries (same encoding, clock
 * rate and channels) is accepted with the stream's port, `RTP/AVP`, the common formats under the
 * stream's payload type numbers, and `a=sendonly` (or `a=inactive` for an inactive offer); the
 * others get port 0. The session-level `c=` is the stream's group and TTL, not the offer's: the
 * sender dictates the group (a documented deviation from §6.2). Throws SdpError for invalid SDP.
 */
export function answerOffer(offerText: string, entry: CatalogEntry): AnswerResult {
  const offer = parseSdp(offerText);
  const { stream } = entry;
  let accepted = 0;
  const media = offer.media.map((m): sdpTransform.MediaDescription => {
    const common = stream.formats.filter((carried) =>
      m.formats.some((o) => o.format !== undefined && sameEncoding(o.format, carried))
    );
    const servable = accepted === 0 && m.port !== 0 && RTP_PROTOCOL.test(m.protocol) &&
      m.direction !== "sendonly" && common.length > 0;
    if (!servable) {
      const tokens = m.formatTokens.filter((t) => /^[A-Za-z0-9._/-]{1,32}$/.test(t));
      return {
        type: m.type,
        port: 0,
        protocol: m.protocol,
        payloads: tokens.length > 0 ? tokens.join(" ") : "0",
        rtp: [],
        fmtp: [],
      };
    }
    accepted++;
    return {
      type: m.type,
      port: stream.port,
      protocol: "RTP/AVP",
      payloads: common.map((f) => f.payloadType).join(" "),
      rtp: rtpmapsOf(common),
      fmtp: [],
      direction: m.direction === "inactive" ? "inactive" : "sendonly",
    };
  });
  const answer: sdpTransform.SessionDescription = withoutUndefined({
    version: 0,
    origin: originOf(entry),
    name: stream.name,
    connection: connectionOf(stream),
    timing: { start: 0, stop: 0 },
    sourceFilter: sourceFilterOf(stream),
    media,
  });
  return {
    sdp: sdpTransform.write(answer),
    accepted,
    offered: offer.media.map((m) =>
      `${m.type} ${m.protocol} ${
        m.formats.map((f) =>
          f.format === undefined ? `${f.payloadType}` : describeFormats([f.format])[0]
        ).join(", ")
      }`
    ),
    carried: describeFormats(stream.formats),
  };
}
