// SDP for multicast RTP: validating descriptions (RFC 8866), answering offers (RFC 3264 §6 with the
// multicast rules of §6.2), writing a stream's plain description, and reading where a stream lives
// (group, port, TTL, formats, RFC 4570 source filter) out of an answer or any description.
// @ts-types="@types/sdp-transform"
import * as sdpTransform from "sdp-transform";
import type { CatalogEntry, StreamDefinition } from "./catalog.ts";
import { SdpError } from "./errors.ts";
import { ipVersionOf, multicastProblem } from "./multicast_address.ts";
import {
  formatEncoding,
  mediaTypeOf,
  type PayloadFormat,
  sameEncoding,
  staticFormat,
} from "./payload_format.ts";

/** Largest SDP text accepted, in bytes (the server's body limit, and the client's answer limit). */
export const MAX_SDP_BYTES = 64 * 1024;
/** Most `m=` sections accepted in one description. */
export const MAX_MEDIA_SECTIONS = 64;

/** A `c=` line split into address, TTL and address count (RFC 8866 §5.7). */
export interface ConnectionAddress {
  readonly ipVersion: 4 | 6;
  readonly address: string;
  /** IPv4 multicast TTL, when given. */
  readonly ttl?: number;
  /** Number of consecutive addresses, when given. */
  readonly count?: number;
}

/** A format listed on an `m=` line; `encoding` is undefined for a dynamic type without `a=rtpmap`. */
export interface OfferedFormat {
  readonly payloadType: number;
  readonly format?: PayloadFormat;
}

/** One `m=` section, reduced to what multicast offer/answer needs. */
export interface MediaSection {
  readonly type: string;
  readonly port: number;
  readonly protocol: string;
  readonly formats: readonly OfferedFormat[];
  /** Raw `m=` format tokens, as offered. */
  readonly formatTokens: readonly string[];
  readonly direction: "sendrecv" | "recvonly" | "sendonly" | "inactive";
  /** Media-level `c=`, else the session-level one. */
  readonly connection?: ConnectionAddress;
  /** RFC 4570 source filter: media-level, else session-level. */
  readonly sourceFilter?: SourceFilter;
}

/** An RFC 4570 `a=source-filter` reduced to mode and source addresses. */
export interface SourceFilter {
  readonly mode: "incl" | "excl";
  readonly destination: string;
  readonly sources: readonly string[];
}

/** A validated SDP description. */
export interface SessionSummary {
  readonly name: string;
  readonly media: readonly MediaSection[];
}

type Direction = MediaSection["direction"];

/** Splits `239.0.0.1/127/3` (the `ip` sdp-transform leaves in `connection`) into its parts. */
export function parseConnection(ipVersion: number, text: string, line = 0): ConnectionAddress {
  // sdp-transform yields numbers for numeric-looking fields ("c=IN IP4 5"): always coerce.
  text = String(text);
  const parts = text.trim().split("/");
  const address = parts[0] ?? "";
  const version = ipVersionOf(address);
  if (version === undefined || version !== ipVersion) {
    throw new SdpError(`Invalid c= address "${text}" for IP${ipVersion}`, { line });
  }
  const numbers = parts.slice(1).map((p) => (/^[0-9]{1,6}$/.test(p) ? Number(p) : NaN));
  if (numbers.some(Number.isNaN) || numbers.length > 2) {
    throw new SdpError(`Invalid c= address "${text}": expected ADDRESS[/TTL[/COUNT]]`, { line });
  }
  if (version === 6) {
    // RFC 8866 §5.7: IPv6 has no TTL field; a single suffix is the address count.
    if (numbers.length > 1) throw new SdpError(`Invalid c= address "${text}" for IP6`, { line });
    return numbers[0] === undefined
      ? { ipVersion: 6, address }
      : { ipVersion: 6, address, count: numbers[0] };
  }
  const [ttl, count] = numbers;
  if (ttl !== undefined && ttl > 255) {
    throw new SdpError(`Invalid c= TTL ${ttl} in "${text}": TTL must be 0-255`, { line });
  }
  const base: ConnectionAddress = { ipVersion: 4, address };
  return {
    ...base,
    ...(ttl === undefined ? {} : { ttl }),
    ...(count === undefined ? {} : { count }),
  };
}

function lineOf(text: string, prefix: string): number {
  const lines = text.split(/\r?\n/);
  const index = lines.findIndex((l) => l.startsWith(prefix));
  return index + 1;
}

function readSourceFilter(
  raw: sdpTransform.SessionDescription["sourceFilter"],
): SourceFilter | undefined {
  if (raw === undefined) return undefined;
  const sources = String(raw.srcList).trim().split(/\s+/).filter((s) => s !== "");
  for (const source of sources) {
    if (ipVersionOf(source) === undefined) {
      throw new SdpError(`Invalid source address "${source}" in a=source-filter`);
    }
  }
  return {
    mode: raw.filterMode === "excl" ? "excl" : "incl",
    destination: String(raw.destAddress),
    sources,
  };
}

/**
 * Validates SDP text and reduces it to its media sections. Requires `v=0` first, then `o=` (the order
 * VLC insists on), `s=`, and at least one `m=`; at most MAX_SDP_BYTES and MAX_MEDIA_SECTIONS.
 * Accepts CRLF and LF line ends. Throws SdpError naming the problem.
 */
export function parseSdp(text: string): SessionSummary {
  if (text.length > MAX_SDP_BYTES) {
    throw new SdpError(`SDP description is larger than ${MAX_SDP_BYTES} bytes`);
  }
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== "");
  if (lines.length === 0) throw new SdpError("SDP description is empty");
  if (lines[0]!.trim() !== "v=0") {
    throw new SdpError(`Not an SDP description: the first line must be "v=0"`, { line: 1 });
  }
  if (!lines[1]?.startsWith("o=")) {
    throw new SdpError(`Not an SDP description: the second line must be "o=..."`, { line: 2 });
  }
  for (const [i, line] of lines.entries()) {
    if (!/^[a-z]=/.test(line)) {
      throw new SdpError(`Malformed SDP line ${i + 1}: expected "<letter>=<value>"`, {
        line: i + 1,
      });
    }
    if (
      line.startsWith("m=") &&
      !/^m=[\w.-]+ [0-9]{1,5}(\/[0-9]{1,5})? [\w/.-]+( [\w.*/-]+)*\s*$/.test(line)
    ) {
      throw new SdpError(
        `Malformed m= line ${i + 1}: expected "m=<media> <port> <proto> <fmt> ..."`,
        { line: i + 1 },
      );
    }
  }
  const mediaLines = lines.filter((l) => l.startsWith("m=")).length;
  if (mediaLines === 0) throw new SdpError("SDP description has no media (m=) line");
  if (mediaLines > MAX_MEDIA_SECTIONS) {
    throw new SdpError(`SDP description has ${mediaLines} m= lines; at most ${MAX_MEDIA_SECTIONS}`);
  }
  const parsed = sdpTransform.parse(text);
  if (parsed.media.length !== mediaLines) {
    throw new SdpError(`Malformed m= line at line ${lineOf(text, "m=")}`);
  }
  const sessionConnection = parsed.connection === undefined
    ? undefined
    : parseConnection(parsed.connection.version, parsed.connection.ip, lineOf(text, "c="));
  const sessionFilter = readSourceFilter(parsed.sourceFilter);
  const sessionDirection: Direction = parsed.direction ?? "sendrecv";
  const media = parsed.media.map((m): MediaSection => {
    if (!Number.isInteger(m.port) || m.port < 0 || m.port > 65535) {
      throw new SdpError(`Invalid port ${m.port} on m=${m.type}`);
    }
    // At run time sdp-transform may give `payloads` as a number (PLATFORM_NOTES).
    const formatTokens = String(m.payloads ?? "").trim().split(/\s+/).filter((t) => t !== "");
    if (formatTokens.length > 128) {
      throw new SdpError(`m=${m.type} lists ${formatTokens.length} formats; at most 128`);
    }
    const formats = formatTokens.flatMap((token): OfferedFormat[] => {
      if (!/^[0-9]{1,3}$/.test(token) || Number(token) > 127) return [];
      const payloadType = Number(token);
      const rtpmap = m.rtp.find((r) => r.payload === payloadType);
      if (rtpmap !== undefined && rtpmap.rate !== undefined) {
        const encoding = String(rtpmap.codec);
        const clockRate = Number(rtpmap.rate);
        const format: PayloadFormat = rtpmap.encoding === undefined
          ? { payloadType, encoding, clockRate }
          : { payloadType, encoding, clockRate, channels: Number(rtpmap.encoding) };
        return [{ payloadType, format }];
      }
      const known = staticFormat(payloadType);
      return [known === undefined ? { payloadType } : { payloadType, format: known }];
    });
    const connection = m.connection === undefined
      ? sessionConnection
      : parseConnection(m.connection.version, m.connection.ip, lineOf(text, "c="));
    const sourceFilter = readSourceFilter(m.sourceFilter) ?? sessionFilter;
    return {
      type: String(m.type),
      port: m.port,
      protocol: String(m.protocol),
      formats,
      formatTokens,
      direction: m.direction ?? sessionDirection,
      ...(connection === undefined ? {} : { connection }),
      ...(sourceFilter === undefined ? {} : { sourceFilter }),
    };
  });
  return { name: parsed.name ?? "", media };
}

function originOf(entry: CatalogEntry): sdpTransform.SessionDescription["origin"] {
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

function connectionOf(stream: StreamDefinition): { version: number; ip: string } {
  return ipVersionOf(stream.address) === 6
    ? { version: 6, ip: stream.address }
    : { version: 4, ip: `${stream.address}/${stream.ttl}` };
}

function sourceFilterOf(
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

function rtpmapsOf(formats: readonly PayloadFormat[]): sdpTransform.MediaAttributes["rtp"] {
  return formats.map((f) =>
    f.channels === undefined
      ? { payload: f.payloadType, codec: f.encoding, rate: f.clockRate }
      : { payload: f.payloadType, codec: f.encoding, rate: f.clockRate, encoding: f.channels }
  );
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/** Human text of a format list, e.g. `33 MP2T/90000`. */
export function describeFormats(formats: readonly PayloadFormat[]): string[] {
  return formats.map((f) => `${f.payloadType} ${formatEncoding(f)}`);
}

/**
 * The plain SDP description of a stream (RFC 8866), as served at `/streams/{name}.sdp`: what VLC,
 * ffmpeg and GStreamer open to receive it. Starts `v=0` then `o=` (VLC requires it); `a=recvonly`
 * and `a=type:broadcast` as VLC itself writes for a multicast stream.
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
    media: [{
      type: mediaTypeOf(stream.formats[0]!),
      port: stream.port,
      protocol: "RTP/AVP",
      payloads: stream.formats.map((f) => f.payloadType).join(" "),
      rtp: rtpmapsOf(stream.formats),
      fmtp: [],
      direction: "recvonly",
    }],
  });
  const text = sdpTransform.write(session);
  // sdp-transform has no grammar for a=tool / a=type; add them after s= / t= lines.
  return text.replace(/^(t=.*\r\n)/m, "$1a=tool:rtp-multicast-gateway\r\na=type:broadcast\r\n");
}

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

const RTP_PROTOCOL = /^(UDP\/)?(TLS\/)?RTP\/S?AVPF?$/i;

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

/** Where and how to receive a stream, read from an answer or a plain description. */
export interface ReceiveTarget {
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

/**
 * Reads where a stream lives out of an SDP answer or description: the first RTP m-line with a non-zero
 * port, its `c=` (media- or session-level) which must be a multicast group, port 1-65535, TTL 0-255,
 * formats, and an `incl` source filter. Throws SdpError for anything unusable; a description whose
 * m-lines all have port 0 is reported as rejected.
 */
export function readReceiveTarget(text: string): ReceiveTarget {
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
  const sources = media.sourceFilter?.mode === "incl" ? media.sourceFilter.sources : [];
  for (const source of sources) {
    if (ipVersionOf(source) !== connection.ipVersion) {
      throw new SdpError(`Source filter address ${source} is not IPv${connection.ipVersion}`);
    }
  }
  return {
    name: summary.name,
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

/** Options of {@link AnswerCache}. */
export interface AnswerCacheOptions {
  /** Most distinct offers remembered per stream entry; default 256. */
  readonly maxOffers?: number;
  /** Offers longer than this are answered without the cache; default 8192 characters. */
  readonly maxOfferLength?: number;
}

/**
 * Remembers answers (RFC 3264 §6): an answer depends only on the catalog entry and on the offer
 * without the content of its `o=` line, which answerOffer() never reads, so repeated offers (VLC,
 * ffmpeg, and this project's client, whose offers differ only in `o=`) skip SDP parsing and
 * writing. A reloaded catalog has new entries, so their answers start afresh (WeakMap); at most
 * `maxOffers` offers per entry are kept, oldest out. Invalid offers are not cached.
 */
export class AnswerCache {
  readonly #byEntry = new WeakMap<CatalogEntry, Map<string, AnswerResult>>();
  readonly #maxOffers: number;
  readonly #maxOfferLength: number;

  constructor(options: AnswerCacheOptions = {}) {
    this.#maxOffers = options.maxOffers ?? 256;
    this.#maxOfferLength = options.maxOfferLength ?? 8192;
  }

  /** The result answerOffer(offerText, entry) gives; throws SdpError like it. */
  answer(offerText: string, entry: CatalogEntry): AnswerResult {
    if (offerText.length > this.#maxOfferLength) return answerOffer(offerText, entry);
    const key = offerText.replace(/^o=[^\r\n]*/m, "o=");
    let answers = this.#byEntry.get(entry);
    const cached = answers?.get(key);
    if (cached !== undefined) return cached;
    const result = answerOffer(offerText, entry);
    if (answers === undefined) {
      answers = new Map();
      this.#byEntry.set(entry, answers);
    }
    if (answers.size >= this.#maxOffers) answers.delete(answers.keys().next().value!);
    answers.set(key, result);
    return result;
  }
}
