// SDP descriptions for multicast RTP (RFC 8866): validation of the text and its reduction to what
// multicast offer/answer needs (media sections, formats, `c=` with TTL, RFC 4570 source filters).
// @ts-types="@types/sdp-transform"
import * as sdpTransform from "sdp-transform";
import { SdpError } from "../common/errors.ts";
import { ipVersionOf } from "../net/multicast_address.ts";
import { type PayloadFormat, staticFormat } from "../rtp/payload_format.ts";

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

/** RTP profiles a multicast stream can be carried in (RTP/AVP and its secure and feedback forms). */
export const RTP_PROTOCOL = /^(UDP\/)?(TLS\/)?RTP\/S?AVPF?$/i;
