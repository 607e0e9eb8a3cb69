// Where a stream lives, read out of an SDP answer or any description (VLC's, ffmpeg's, the
// server's `.sdp`): group, port, TTL, formats and the RFC 4570 source filter.
import { SdpError } from "../common/errors.ts";
import { controlGroupProblem, ipVersionOf, multicastProblem } from "../net/multicast_address.ts";
import { printable } from "../common/printable.ts";
import type { PayloadFormat } from "../rtp/payload_format.ts";
import { parseSdp, RTP_PROTOCOL } from "./parse.ts";

/** Where and how to receive a stream, read from an answer or a plain description. */
export interface ReceiveTarget {
  /** The description's `s=`, printable (control characters and escape sequences removed). */
  readonly name: string;
  readonly group: string;
  readonly ipVersion: 4 | 6;
  readonly port: number;
  readonly ttl?: number;
  readonly formats: readonly PayloadFormat[];
  /** Payload types on the m-line whose format is unknown (dynamic without rtpmap). */
  readonly unknownPayloadTypes: readonly number[];
  /** Source addresses for an `incl` source filter (SSM); empty when unfiltered. */
  readonly sources: readonly string[];
}

/** Options of {@link readReceiveTarget}. */
export interface ReceiveTargetOptions {
  /** Accept control groups (224.0.0.0/24, ff02::1-style); refused by default. */
  readonly allowControlGroups?: boolean;
}

/**
 * Reads where a stream lives out of an SDP answer or description: the first RTP m-line with a non-zero
 * port, its `c=` (media- or session-level) which must be a multicast group and not a control group
 * (unless allowed), port 1-65535, TTL 0-255, formats, and an `incl` source filter. Throws SdpError
 * for anything unusable; a description whose m-lines all have port 0 is reported as rejected.
 */
export function readReceiveTarget(text: string, options: ReceiveTargetOptions = {}): ReceiveTarget {
  const summary = parseSdp(text);
  const media = summary.media.find((m) => m.port !== 0 && RTP_PROTOCOL.test(m.protocol));
  if (media === undefined) {
    const rejected = summary.media.every((m) => m.port === 0);
    throw new SdpError(
      rejected
        ? "The answer rejects every media line (port 0)"
        : "The description has no RTP media line (m=... RTP/AVP)",
    );
  }
  const connection = media.connection;
  if (connection === undefined) throw new SdpError(`No c= line for m=${media.type}`);
  const problem = multicastProblem(connection.address);
  if (problem !== undefined) throw new SdpError(`Refusing to join: ${problem}`);
  const control = options.allowControlGroups ? undefined : controlGroupProblem(connection.address);
  if (control !== undefined) {
    throw new SdpError(`Refusing to join: ${control} (--allow-control-groups to join it anyway)`);
  }
  const sources = media.sourceFilter?.mode === "incl" ? media.sourceFilter.sources : [];
  for (const source of sources) {
    if (ipVersionOf(source) !== connection.ipVersion) {
      throw new SdpError(`Source filter address ${source} is not IPv${connection.ipVersion}`);
    }
  }
  return {
    name: printable(summary.name),
    group: connection.address,
    ipVersion: connection.ipVersion,
    port: media.port,
    ...(connection.ttl === undefined ? {} : { ttl: connection.ttl }),
    formats: media.formats.flatMap((f) => (f.format === undefined ? [] : [f.format])),
    unknownPayloadTypes: media.formats.filter((f) => f.format === undefined).map((f) =>
      f.payloadType
    ),
    sources,
  };
}
