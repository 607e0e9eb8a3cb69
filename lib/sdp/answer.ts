// Answers to receivers' offers for a multicast stream (RFC 3264 §6, with the multicast rules of
// §6.2 and the documented deviation that the sender dictates group, port and payload types); a
// raw-UDP MPEG-TS stream is served only to an offer of `udp` (RFC 8866 §5.14).
// @ts-types="@types/sdp-transform"
import * as sdpTransform from "sdp-transform";
import { sameEncoding } from "../rtp/payload_format.ts";
import {
  connectionOf,
  describeFormats,
  mediaOf,
  originOf,
  RAW_UDP_MEDIA,
  sourceFilterOf,
  withoutUndefined,
} from "./describe.ts";
import { type MediaSection, parseSdp, RAW_UDP_PROTOCOL, RTP_PROTOCOL } from "./parse.ts";
import { type CatalogEntry, type StreamTransport, transportOf } from "./stream.ts";

/** Formats of an offered `udp` m-line that mean MPEG-TS: VLC's `mpeg`, the media type `MP2T`, and
 * ffmpeg's `33` (its SDP reader takes the format as an RTP payload type number). */
const RAW_UDP_FORMATS = /^(mpeg|mp2t|33)$/i;

/** True when an offered m-line asks for raw MPEG-TS over UDP. */
function offersRawUdp(m: MediaSection): boolean {
  return RAW_UDP_PROTOCOL.test(m.protocol) &&
    m.formatTokens.some((t) => RAW_UDP_FORMATS.test(t));
}

/** Outcome of answering an offer. */
export interface AnswerResult {
  /** The answer SDP (CRLF line ends). */
  readonly sdp: string;
  /** How many offered m-lines were accepted (0 or 1: a stream is one RTP session). */
  readonly accepted: number;
  /** What the offer asked for, for error messages: `video 33 MP2T/90000`, ... */
  readonly offered: readonly string[];
  /** What the stream carries: `33 MP2T/90000`, ... (`udp mpeg` for raw UDP). */
  readonly carried: readonly string[];
  /** The stream's transport: a raw-UDP stream accepts only `udp` m-lines. */
  readonly transport: StreamTransport;
}

/**
 * Answers an offer for a multicast stream (RFC 3264 §6). Every offered m-line gets an m-line in the
 * same order. The first one that offers RTP with a format the stream carries (same encoding, clock
 * rate and channels) is accepted with the stream's port, `RTP/AVP`, the common formats under the
 * stream's payload type numbers, and `a=sendonly` (or `a=inactive` for an inactive offer); the
 * others get port 0. The session-level `c=` is the stream's group and TTL, not the offer's: the
 * sender dictates the group (a documented deviation from §6.2). A raw-UDP stream (`transport:
 * "udp"`) accepts instead the first m-line that offers `udp` with `mpeg`, `MP2T` or `33`, answered
 * `m=video PORT udp mpeg`; an RTP offer is rejected for it (an RTP receiver cannot read datagrams
 * without an RTP header). Throws SdpError for invalid SDP.
 */
export function answerOffer(offerText: string, entry: CatalogEntry): AnswerResult {
  const offer = parseSdp(offerText);
  const { stream } = entry;
  const transport = transportOf(stream);
  let accepted = 0;
  const media = offer.media.map((m): sdpTransform.MediaDescription => {
    const common = stream.formats.filter((carried) =>
      m.formats.some((o) => o.format !== undefined && sameEncoding(o.format, carried))
    );
    const matches = transport === "udp"
      ? offersRawUdp(m)
      : RTP_PROTOCOL.test(m.protocol) && common.length > 0;
    const servable = accepted === 0 && m.port !== 0 && m.direction !== "sendonly" && matches;
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
    const answered = mediaOf(stream, common, m.direction === "inactive" ? "inactive" : "sendonly");
    return { ...answered, type: m.type };
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
    carried: transport === "udp"
      ? [`${RAW_UDP_MEDIA.protocol} ${RAW_UDP_MEDIA.format}`]
      : describeFormats(stream.formats),
    transport,
  };
}
