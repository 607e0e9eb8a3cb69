// What an announced session is, read from its SDP (RFC 8866): name (`s=`), description (`i=`),
// category (`a=cat`), tool, `o=` identity, and where its media lives (group, port, formats, source).
import { SdpError } from "../common/errors.ts";
import { multicastProblem } from "../net/multicast_address.ts";
import { formatEncoding, type PayloadFormat } from "../rtp/payload_format.ts";
import { parseSdp, RTP_PROTOCOL } from "../sdp/parse.ts";
import { includedSources, receivable } from "../sdp/receive_target.ts";
import {
  checkStreamName,
  checkStreamText,
  MAX_CATEGORY_CHARS,
  MAX_DESCRIPTION_CHARS,
  type StreamDefinition,
} from "../sdp/stream.ts";

/** A session as its announcement describes it. */
export interface AnnouncedSession {
  readonly name: string;
  readonly description: string;
  readonly category?: string;
  /** `a=tool`, e.g. `vlc 3.0.24`, `libavformat ...`. */
  readonly tool?: string;
  /** `o=` username, sess-id, nettype, addrtype and address: what stays when a session is modified. */
  readonly identity: string;
  /** `o=` sess-version. */
  readonly version: string;
  /** Multicast group of the first media line. */
  readonly group: string;
  readonly port: number;
  /** IPv4 TTL from `c=`, when given. */
  readonly ttl?: number;
  /** `rtp` for RTP/AVP (and its secure/feedback profiles), `udp` for raw UDP (VLC's `udp mpeg`). */
  readonly transport: "rtp" | "udp";
  /** Formats of the first media line, e.g. `33 MP2T/90000` (raw `m=` tokens for udp). */
  readonly formats: readonly string[];
  /** The formats with known encodings (RTP only). */
  readonly payloadFormats: readonly PayloadFormat[];
  /** Sender for source-specific multicast (first `incl` source), if any. */
  readonly source?: string;
}

/** The value of the first `x=` line of `kind` (e.g. `i`), or of `a=NAME:` for `a=NAME`. */
function lineValue(lines: readonly string[], prefix: string): string | undefined {
  const line = lines.find((l) => l.startsWith(prefix));
  return line === undefined ? undefined : line.slice(prefix.length).trim();
}

/**
 * Reads an announced session out of its SDP. Throws SdpError when the description is not valid SDP
 * (lib/sdp/parse.ts rules) or its first media line with a port is not RTP or UDP to a multicast group.
 */
export function readAnnouncedSession(sdp: string): AnnouncedSession {
  const summary = parseSdp(sdp);
  const lines = sdp.split(/\r?\n/);
  // Session-level lines are those before the first m=.
  const firstMedia = lines.findIndex((l) => l.startsWith("m="));
  const session = firstMedia < 0 ? lines : lines.slice(0, firstMedia);
  const media = summary.media.find((m) => m.port !== 0 && receivable(m));
  if (media === undefined) throw new SdpError("The announcement has no RTP or UDP media line");
  if (media.connection === undefined) throw new SdpError(`No c= line for m=${media.type}`);
  const problem = multicastProblem(media.connection.address);
  if (problem !== undefined) throw new SdpError(`Not a multicast session: ${problem}`);
  const transport = RTP_PROTOCOL.test(media.protocol) ? "rtp" : "udp";
  const payloadFormats = transport === "rtp"
    ? media.formats.flatMap((f) => (f.format === undefined ? [] : [f.format]))
    : [];
  const formats = transport === "rtp"
    ? media.formats.map((f) =>
      f.format === undefined ? `${f.payloadType}` : `${f.payloadType} ${formatEncoding(f.format)}`
    )
    : [...media.formatTokens];
  const origin = (lineValue(session, "o=") ?? "").split(/\s+/);
  // The client's reading: only a filter for this group, never VLC's 0.0.0.0 placeholder.
  const source = includedSources(media)[0];
  const description = lineValue(session, "i=") ?? "";
  const category = lineValue(session, "a=cat:");
  const tool = lineValue(session, "a=tool:");
  return {
    name: summary.name.trim(),
    description,
    ...(category === undefined || category === "" ? {} : { category }),
    ...(tool === undefined ? {} : { tool }),
    identity: [origin[0], origin[1], origin[3], origin[4], origin[5]].join(" "),
    version: origin[2] ?? "",
    group: media.connection.address,
    port: media.port,
    ...(media.connection.ttl === undefined ? {} : { ttl: media.connection.ttl }),
    transport,
    formats,
    payloadFormats,
    ...(source === undefined ? {} : { source }),
  };
}

/**
 * The catalog stream an announced session stands for (the server's `--sap-listen`), or a reason
 * why it cannot be one: its name must be a valid stream name, its description and category text
 * fit for SDP lines, and it must be RTP with at least one format of known encoding, or raw UDP
 * (VLC's `udp mpeg`: MPEG-TS without RTP).
 */
export function streamOfSession(
  session: AnnouncedSession,
): { stream: StreamDefinition } | { problem: string } {
  try {
    checkStreamName(session.name, "s=");
    checkStreamText(session.description, "i=", MAX_DESCRIPTION_CHARS);
    if (session.category !== undefined) {
      checkStreamText(session.category, "a=cat", MAX_CATEGORY_CHARS);
    }
  } catch (error) {
    return { problem: `Session "${session.name}": ${(error as Error).message}` };
  }
  if (session.transport === "rtp" && session.payloadFormats.length === 0) {
    return { problem: `Session "${session.name}" has no format with a known encoding` };
  }
  const stream: StreamDefinition = {
    name: session.name,
    description: session.description,
    address: session.group,
    port: session.port,
    ttl: session.ttl ?? 1,
    formats: session.transport === "udp" ? [] : session.payloadFormats,
    ...(session.transport === "udp" ? { transport: "udp" } : {}),
    ...(session.source === undefined ? {} : { source: session.source }),
    ...(session.category === undefined ? {} : { category: session.category }),
  };
  return { stream };
}
