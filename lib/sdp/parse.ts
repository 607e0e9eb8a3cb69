// SDP descriptions for multicast RTP (RFC 8866): validation of the text and its reduction to what
// multicast offer/answer needs (media sections, formats, `c=` with TTL, RFC 4570 source filters).
// @ts-types="@types/sdp-transform"
import * as sdpTransform from "sdp-transform";
import { SdpError } from "../common/errors.ts";
import { ipVersionOf } from "../net/multicast_address.ts";
import { type PayloadFormat, staticFormat } from "../rtp/payload_format.ts";

/**
 * Bounds on what one description may cost, checked before the SDP grammar runs: the grammar tries
 * every attribute rule on every `a=` line (~4 µs a line), so an offer's cost is bounded by its
 * lines, attributes and media sections, not only by its bytes (a 64 KiB offer of 21 640 `a=` lines
 * took 200 ms). Real offers from VLC, ffmpeg, GStreamer and browsers stay well inside them.
 */
export const SDP_LIMITS = {
  /** Largest SDP text, in bytes (the server's body limit, and the client's answer limit). */
  bytes: 64 * 1024,
  /** Most lines, blank ones included. */
  lines: 256,
  /** Most `a=` lines in the whole description. */
  attributes: 128,
  /** Most `a=rtpmap` lines (each one is parsed and matched against the formats). */
  rtpmaps: 64,
  /** Most `m=` sections. */
  mediaSections: 8,
  /** Most formats listed on all `m=` lines together. */
  formats: 64,
  /** Longest line the SDP grammar reads (`v= o= s= c= t= m=` and the attributes read), in characters. */
  grammarLineChars: 1024,
} as const;

/** Largest SDP text accepted, in bytes (the server's body limit, and the client's answer limit). */
export const MAX_SDP_BYTES = SDP_LIMITS.bytes;
/** Most `m=` sections accepted in one description. */
export const MAX_MEDIA_SECTIONS = SDP_LIMITS.mediaSections;

/** The attributes parseSdp reads; the grammar never sees the others (RFC 8866 §5.13: ignore unknown). */
const USED_ATTRIBUTE = /^a=(?:rtpmap:|source-filter:|sendrecv|recvonly|sendonly|inactive)/;
/** The other line types parseSdp reads (RFC 8866 §5). */
const GRAMMAR_LINE_TYPES = ["v", "o", "s", "c", "t", "m"];

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

/** Number of lines in `text` (line feeds + 1), counting no further than `stopAt`. */
function countLines(text: string, stopAt: number): number {
  let count = 1;
  for (let at = text.indexOf("\n"); at >= 0 && count <= stopAt; at = text.indexOf("\n", at + 1)) {
    count++;
  }
  return count;
}

/** Throws SdpError naming the limit when `text` is over any of {@link SDP_LIMITS} but attributes. */
function checkSize(text: string): void {
  if (text.length > SDP_LIMITS.bytes) {
    throw new SdpError(
      `SDP description is larger than ${SDP_LIMITS.bytes} bytes (the limit of SDP bytes)`,
    );
  }
  const lines = countLines(text, SDP_LIMITS.lines);
  if (lines > SDP_LIMITS.lines) {
    throw new SdpError(
      `SDP description has more than ${SDP_LIMITS.lines} lines (the limit of SDP lines)`,
    );
  }
}

/**
 * Validates SDP text and reduces it to its media sections. Requires `v=0` first, then `o=` (the order
 * VLC insists on), `s=`, and at least one `m=`; every line `<letter>=<value>` without NUL or a bare
 * CR (RFC 8866 §9 byte-string). The work is bounded first: at most {@link SDP_LIMITS} bytes, lines,
 * `a=` lines, `m=` sections and formats per `m=`, each refused with a message naming the limit.
 * Only the attributes it reads reach the SDP grammar. Accepts CRLF and LF line ends. Throws SdpError
 * naming the problem.
 */
export function parseSdp(text: string): SessionSummary {
  checkSize(text);
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== "");
  if (lines.length === 0) throw new SdpError("SDP description is empty");
  if (lines[0]!.trim() !== "v=0") {
    throw new SdpError(`Not an SDP description: the first line must be "v=0"`, { line: 1 });
  }
  if (!lines[1]?.startsWith("o=")) {
    throw new SdpError(`Not an SDP description: the second line must be "o=..."`, { line: 2 });
  }
  let attributes = 0;
  let rtpmaps = 0;
  let mediaLines = 0;
  let formats = 0;
  const grammarLines: string[] = [];
  const overLimit = (what: string, limit: number, name: string, line: number) =>
    new SdpError(`SDP description has more than ${limit} ${what} (the limit of ${name})`, { line });
  for (const [i, line] of lines.entries()) {
    if (!/^[a-z]=/.test(line)) {
      throw new SdpError(`Malformed SDP line ${i + 1}: expected "<letter>=<value>"`, {
        line: i + 1,
      });
    }
    if (/[\0\r]/.test(line)) {
      throw new SdpError(`Malformed SDP line ${i + 1}: it contains a NUL or CR character`, {
        line: i + 1,
      });
    }
    const kind = line[0];
    if (kind === "a") {
      if (++attributes > SDP_LIMITS.attributes) {
        throw overLimit("a= lines", SDP_LIMITS.attributes, "SDP attributes", i + 1);
      }
      if (!USED_ATTRIBUTE.test(line)) continue;
      if (line.startsWith("a=rtpmap:") && ++rtpmaps > SDP_LIMITS.rtpmaps) {
        throw overLimit("a=rtpmap lines", SDP_LIMITS.rtpmaps, "SDP rtpmaps", i + 1);
      }
    } else if (!GRAMMAR_LINE_TYPES.includes(kind!)) {
      continue; // i= u= e= p= b= z= k= r=: nothing here reads them
    }
    if (line.length > SDP_LIMITS.grammarLineChars) {
      throw new SdpError(
        `Malformed SDP line ${i + 1}: longer than ${SDP_LIMITS.grammarLineChars} characters ` +
          `(the limit of SDP line length)`,
        { line: i + 1 },
      );
    }
    if (kind === "m") {
      if (!/^m=[\w.-]+ [0-9]{1,5}(\/[0-9]{1,5})? [\w/.-]+( [\w.*/-]+)*\s*$/.test(line)) {
        throw new SdpError(
          `Malformed m= line ${i + 1}: expected "m=<media> <port> <proto> <fmt> ..."`,
          { line: i + 1 },
        );
      }
      if (++mediaLines > SDP_LIMITS.mediaSections) {
        throw overLimit("m= lines", SDP_LIMITS.mediaSections, "SDP media sections", i + 1);
      }
      formats += line.trim().split(" ").length - 3;
      if (formats > SDP_LIMITS.formats) {
        throw overLimit("formats on its m= lines", SDP_LIMITS.formats, "SDP formats", i + 1);
      }
    }
    grammarLines.push(line);
  }
  if (mediaLines === 0) throw new SdpError("SDP description has no media (m=) line");
  const parsed = sdpTransform.parse(grammarLines.join("\r\n") + "\r\n");
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

/** RTP profiles a multicast stream can be carried in (RTP/AVP and its secure and feedback forms). */
export const RTP_PROTOCOL = /^(UDP\/)?(TLS\/)?RTP\/S?AVPF?$/i;

/**
 * The protocol of MPEG-TS straight over UDP, without RTP: `m=video 1234 udp mpeg`, what VLC writes
 * for `#udp{...}` and `#std{access=udp,...}` (RFC 8866 §5.14 allows other protocol tokens).
 */
export const RAW_UDP_PROTOCOL = /^udp$/i;
