// Where a stream lives, read out of an SDP answer or any description (VLC's, ffmpeg's, the
// server's `.sdp`): which m-line (RFC 8866 §5.14) to receive, its group, port, TTL, formats, the
// RFC 4570 source filter, and whether it is RTP or raw MPEG-TS over UDP (`m=video 1234 udp mpeg`).
import { SdpError } from "../common/errors.ts";
import { controlGroupProblem, ipVersionOf, multicastProblem } from "../net/multicast_address.ts";
import { printable } from "../common/printable.ts";
import type { PayloadFormat } from "../rtp/payload_format.ts";
import { type MediaSection, parseSdp, RAW_UDP_PROTOCOL, RTP_PROTOCOL } from "./parse.ts";
import type { StreamTransport } from "./stream.ts";

/** Which m-line to receive: the first of a media type (`video`, `audio`, ...) or the N-th (1-based). */
export type MediaChoice =
  | { readonly kind: "type"; readonly type: string }
  | { readonly kind: "index"; readonly index: number };

/** The m-line a target was read from. */
export interface ChosenMedia {
  /** 1-based position among the description's m-lines. */
  readonly index: number;
  /** Its media type, e.g. `video`. */
  readonly type: string;
  /** How many m-lines the description has. */
  readonly count: number;
  /** The media types of all m-lines, in order. */
  readonly types: readonly string[];
  /** How many m-lines have a port other than 0 (an answer's rejected m-lines have port 0). */
  readonly open: number;
}

/** Where and how to receive a stream, read from an answer or a plain description. */
export interface ReceiveTarget {
  /** The description's `s=`, printable (control characters and escape sequences removed). */
  readonly name: string;
  /** `rtp` for an RTP profile (RTP/AVP...), `udp` for raw MPEG-TS over UDP (`udp mpeg`). */
  readonly transport: StreamTransport;
  readonly group: string;
  readonly ipVersion: 4 | 6;
  readonly port: number;
  readonly ttl?: number;
  readonly formats: readonly PayloadFormat[];
  /** Payload types on the m-line whose format is unknown (dynamic without rtpmap). */
  readonly unknownPayloadTypes: readonly number[];
  /** Source addresses for an `incl` source filter (SSM); empty when unfiltered. */
  readonly sources: readonly string[];
  /** The m-line this target describes. */
  readonly media: ChosenMedia;
}

/** Options of {@link readReceiveTarget}. */
export interface ReceiveTargetOptions {
  /** The m-line to receive; default the first RTP m-line that can be received. */
  readonly media?: MediaChoice;
  /** Accept control groups (224.0.0.0/24, ff02::1-style); refused by default. */
  readonly allowControlGroups?: boolean;
}

/** Text of a choice as the user gave it, for messages. */
export function describeMediaChoice(choice: MediaChoice): string {
  return choice.kind === "type" ? choice.type : String(choice.index);
}

/**
 * The senders of an `incl` source filter (RFC 4570 §3) that applies to the m-line's group: its
 * dest-address is `*` (every connection address, as VLC writes it: `incl IN IP4 * 127.0.0.1`) or
 * the group itself; a filter for another destination does not apply. The unspecified addresses
 * 0.0.0.0 and :: that no packet comes from are left out: VLC's SAP announcements name its unbound
 * socket's address (`a=source-filter: incl IN IP4 * 0.0.0.0`), which would filter out the very
 * stream announced.
 */
export function includedSources(media: MediaSection): readonly string[] {
  const filter = media.sourceFilter;
  if (filter?.mode !== "incl") return [];
  const group = media.connection?.address.toLowerCase();
  if (filter.destination !== "*" && filter.destination.toLowerCase() !== group) return [];
  return filter.sources.filter((s) => s !== "0.0.0.0" && !/^[0:]+$/.test(s));
}

/** True for an m-line the client can receive: an RTP profile, or raw UDP (MPEG-TS). */
export function receivable(media: MediaSection): boolean {
  return RTP_PROTOCOL.test(media.protocol) || RAW_UDP_PROTOCOL.test(media.protocol);
}

/** Why an m-line cannot be received (RTP or UDP with a port and a multicast c=), or undefined. */
function receiveProblem(media: MediaSection, allowControlGroups: boolean): string | undefined {
  if (!receivable(media)) return `m=${media.type} is not RTP (${media.protocol})`;
  if (media.port === 0) return `m=${media.type} is rejected (port 0)`;
  const connection = media.connection;
  if (connection === undefined) return `No c= line for m=${media.type}`;
  const problem = multicastProblem(connection.address);
  if (problem !== undefined) return `Refusing to join: ${problem}`;
  const control = allowControlGroups ? undefined : controlGroupProblem(connection.address);
  if (control !== undefined) {
    return `Refusing to join: ${control} (--allow-control-groups to join it anyway)`;
  }
  const sources = includedSources(media);
  for (const source of sources) {
    if (ipVersionOf(source) !== connection.ipVersion) {
      return `Source filter address ${source} is not IPv${connection.ipVersion}`;
    }
  }
  return undefined;
}

/** The index of the m-line to receive; throws SdpError saying why there is none. */
function chooseMedia(
  media: readonly MediaSection[],
  choice: MediaChoice | undefined,
  allowControlGroups: boolean,
): number {
  const types = media.map((m) => m.type).join(", ");
  if (choice !== undefined) {
    // A media type: the first m-line of that type that can be received (an answer to an offer of
    // RTP/AVP and udp m-lines rejects one of them with port 0), else the first of that type.
    const ofType = media.flatMap((m, i) =>
      choice.kind === "type" && m.type.toLowerCase() === choice.type.toLowerCase() ? [i] : []
    );
    const index = choice.kind === "index"
      ? choice.index - 1
      : ofType.find((i) => receiveProblem(media[i]!, allowControlGroups) === undefined) ??
        ofType[0] ?? -1;
    const chosen = media[index];
    if (chosen === undefined) {
      throw new SdpError(
        `--media ${describeMediaChoice(choice)}: the description has no ${
          choice.kind === "index" ? `m-line ${choice.index}` : `m=${choice.type} line`
        } (it has ${media.length === 0 ? "none" : types})`,
      );
    }
    const problem = receiveProblem(chosen, allowControlGroups);
    if (problem !== undefined) {
      throw new SdpError(`--media ${describeMediaChoice(choice)}: ${problem}`);
    }
    return index;
  }
  const candidates = media.flatMap((m, i) => m.port !== 0 && receivable(m) ? [i] : []);
  if (candidates.length === 0) {
    throw new SdpError(
      media.every((m) => m.port === 0)
        ? "The answer rejects every media line (port 0)"
        : "The description has no RTP media line (m=... RTP/AVP)",
    );
  }
  const usable = candidates.find((i) =>
    receiveProblem(media[i]!, allowControlGroups) === undefined
  );
  if (usable !== undefined) return usable;
  throw new SdpError(receiveProblem(media[candidates[0]!]!, allowControlGroups)!);
}

/**
 * Reads where a stream lives out of an SDP answer or description: the chosen m-line, by default
 * the first RTP (or raw UDP) m-line with a non-zero port and a multicast `c=` (media- or
 * session-level), its port 1-65535, TTL 0-255, formats, and an `incl` source filter. A raw UDP
 * m-line (`m=video 1234 udp mpeg`) has no RTP formats: its transport is `udp`. Throws SdpError for
 * anything unusable; a description whose m-lines all have port 0 is reported as rejected.
 */
export function readReceiveTarget(text: string, options: ReceiveTargetOptions = {}): ReceiveTarget {
  const summary = parseSdp(text);
  const index = chooseMedia(summary.media, options.media, options.allowControlGroups ?? false);
  const media = summary.media[index]!;
  const connection = media.connection!;
  const sources = includedSources(media);
  return {
    name: printable(summary.name),
    transport: RTP_PROTOCOL.test(media.protocol) ? "rtp" : "udp",
    group: connection.address,
    ipVersion: connection.ipVersion,
    port: media.port,
    ...(connection.ttl === undefined ? {} : { ttl: connection.ttl }),
    formats: media.formats.flatMap((f) => (f.format === undefined ? [] : [f.format])),
    unknownPayloadTypes: media.formats.filter((f) => f.format === undefined).map((f) =>
      f.payloadType
    ),
    sources,
    media: {
      index: index + 1,
      type: media.type,
      count: summary.media.length,
      types: summary.media.map((m) => m.type),
      open: summary.media.filter((m) => m.port !== 0).length,
    },
  };
}
