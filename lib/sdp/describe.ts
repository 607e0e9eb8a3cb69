// The plain SDP description of a stream (RFC 8866), as VLC, ffmpeg and GStreamer open it, and the
// session-level lines (o=, c=, source filter, rtpmap) that answers share with it.
// @ts-types="@types/sdp-transform"
import * as sdpTransform from "sdp-transform";
import { ipVersionOf } from "../net/multicast_address.ts";
import { formatEncoding, mediaTypeOf, type PayloadFormat } from "../rtp/payload_format.ts";
import { type CatalogEntry, type StreamDefinition, transportOf } from "./stream.ts";

/**
 * The m-line of a raw-UDP MPEG-TS stream, as VLC writes it for `#udp{...}` and
 * `#std{access=udp,mux=ts,...}` (RFC 8866 §5.14: with proto `udp` the format is a media subtype;
 * VLC says `mpeg`): `m=video PORT udp mpeg`.
 */
export const RAW_UDP_MEDIA = { type: "video", protocol: "udp", format: "mpeg" } as const;

/** The m-line of `stream` with `port`, direction and (for RTP) the formats' rtpmaps. */
export function mediaOf(
  stream: StreamDefinition,
  formats: readonly PayloadFormat[],
  direction: "recvonly" | "sendonly" | "inactive",
): sdpTransform.MediaDescription {
  if (transportOf(stream) === "udp") {
    return {
      type: RAW_UDP_MEDIA.type,
      port: stream.port,
      protocol: RAW_UDP_MEDIA.protocol,
      payloads: RAW_UDP_MEDIA.format,
      rtp: [],
      fmtp: [],
      direction,
    };
  }
  return {
    type: mediaTypeOf(formats[0]!),
    port: stream.port,
    protocol: "RTP/AVP",
    payloads: formats.map((f) => f.payloadType).join(" "),
    rtp: rtpmapsOf(formats),
    fmtp: [],
    direction,
  };
}

/** The `o=` line of a stream: stable session id, version, the source (or unspecified) address. */
export function originOf(entry: CatalogEntry): sdpTransform.SessionDescription["origin"] {
  const ipVer = ipVersionOf(entry.stream.address) ?? 4;
  return {
    username: "-",
    sessionId: entry.sessionId,
    sessionVersion: entry.version,
    netType: "IN",
    ipVer,
    address: entry.stream.source ?? (ipVer === 6 ? "::" : "0.0.0.0"),
  };
}

/** The `c=` line of a stream: group with TTL for IPv4 (RFC 8866 §5.7), group alone for IPv6. */
export function connectionOf(stream: StreamDefinition): { version: number; ip: string } {
  return ipVersionOf(stream.address) === 6
    ? { version: 6, ip: stream.address }
    : { version: 4, ip: `${stream.address}/${stream.ttl}` };
}

/** The RFC 4570 `a=source-filter: incl` of a source-specific stream, if it has a source. */
export function sourceFilterOf(
  stream: StreamDefinition,
): sdpTransform.SessionDescription["sourceFilter"] | undefined {
  if (stream.source === undefined) return undefined;
  return {
    filterMode: "incl",
    netType: "IN",
    addressTypes: ipVersionOf(stream.address) === 6 ? "IP6" : "IP4",
    destAddress: stream.address,
    srcList: stream.source,
  };
}

/** One `a=rtpmap` per format (RFC 8866 §6.6). */
export function rtpmapsOf(formats: readonly PayloadFormat[]): sdpTransform.MediaAttributes["rtp"] {
  return formats.map((f) =>
    f.channels === undefined
      ? { payload: f.payloadType, codec: f.encoding, rate: f.clockRate }
      : { payload: f.payloadType, codec: f.encoding, rate: f.clockRate, encoding: f.channels }
  );
}

/** A copy of `value` without its undefined members (sdp-transform writes them as "undefined"). */
export function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/** Human text of a format list, e.g. `33 MP2T/90000`. */
export function describeFormats(formats: readonly PayloadFormat[]): string[] {
  return formats.map((f) => `${f.payloadType} ${formatEncoding(f)}`);
}

/**
 * The plain SDP description of a stream (RFC 8866), as served at `/streams/{name}.sdp`: what VLC,
 * ffmpeg and GStreamer open to receive it. Starts `v=0` then `o=` (VLC requires it); `a=recvonly`
 * and `a=type:broadcast` as VLC itself writes for a multicast stream. A raw-UDP stream gets VLC's
 * `m=video PORT udp mpeg` and no rtpmap.
 */
export function describeStream(entry: CatalogEntry): string {
  const { stream } = entry;
  const session: sdpTransform.SessionDescription = withoutUndefined({
    version: 0,
    origin: originOf(entry),
    name: stream.name,
    description: stream.description === "" ? undefined : stream.description,
    connection: connectionOf(stream),
    timing: { start: 0, stop: 0 },
    sourceFilter: sourceFilterOf(stream),
    media: [mediaOf(stream, stream.formats, "recvonly")],
  });
  const text = sdpTransform.write(session);
  // sdp-transform has no grammar for a=tool / a=type; add them after s= / t= lines.
  return text.replace(/^(t=.*\r\n)/m, "$1a=tool:rtp-multicast-gateway\r\na=type:broadcast\r\n");
}
