// The stream description both sides share: what a multicast stream is (group, port, TTL, transport,
// payload formats, source, category) and its `o=` identity (RFC 8866 §5.2), plus the rules for
// stream names and for the free text that reaches SDP lines (RFC 8866 §5: no CR, LF or NUL).
import { ConfigError } from "../common/errors.ts";
import type { PayloadFormat } from "../rtp/payload_format.ts";

/** One multicast stream as the server describes it. */
export interface StreamDefinition {
  /** URL-safe name, used in `/streams/{name}.sdp` and `s=`. */
  readonly name: string;
  /** Free text shown in the catalog and as `i=`. */
  readonly description: string;
  /** Multicast group address, IPv4 or IPv6. */
  readonly address: string;
  /** UDP port of the RTP stream. */
  readonly port: number;
  /** Multicast TTL announced in `c=` for IPv4 (RFC 8866 §5.7). */
  readonly ttl: number;
  /** RTP payload formats the stream carries, first preferred; empty for raw UDP. */
  readonly formats: readonly PayloadFormat[];
  /**
   * `rtp` (the default when absent): RTP/AVP (RFC 3550). `udp`: MPEG-TS straight over UDP, no RTP
   * header (`m=video PORT udp mpeg`, what VLC writes for `#udp{...}`); such a stream has no formats.
   */
  readonly transport?: StreamTransport;
  /** Sender address for source-specific multicast (RFC 4570 `a=source-filter`), if any. */
  readonly source?: string;
  /**
   * Category for catalogs and playlists: SAP `a=cat` (RFC 8866 §6.1, dot-separated, e.g.
   * `news.world`) and M3U `group-title`. Optional.
   */
  readonly category?: string;
}

/** How a stream's packets travel (see {@link StreamDefinition.transport}). */
export const STREAM_TRANSPORTS = ["rtp", "udp"] as const;
/** One of {@link STREAM_TRANSPORTS}. */
export type StreamTransport = typeof STREAM_TRANSPORTS[number];

/** The transport of a stream: `rtp` unless it says `udp`. */
export function transportOf(stream: Pick<StreamDefinition, "transport">): StreamTransport {
  return stream.transport ?? "rtp";
}

/** A catalog entry: the stream and its `o=` identity. */
export interface CatalogEntry {
  readonly stream: StreamDefinition;
  /** `o=` sess-id: stable for a stream name. */
  readonly sessionId: string;
  /** `o=` sess-version: seconds since the epoch when this description last changed. */
  readonly version: number;
}

/** Stream names: URL-safe, 1-64 characters. */
export const STREAM_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Throws ConfigError unless `name` is a URL-safe stream name. */
export function checkStreamName(name: string, field: string): void {
  if (!STREAM_NAME_PATTERN.test(name)) {
    throw new ConfigError(
      field,
      `${field}: invalid stream name "${name}" (1-64 characters: letters, digits, '.', '_', '-')`,
    );
  }
}

/** Longest stream description, in characters: `i=` and it stay within one SDP line read (1024). */
export const MAX_DESCRIPTION_CHARS = 512;
/** Longest stream category, in characters. */
export const MAX_CATEGORY_CHARS = 64;

/**
 * C0 controls (CR, LF, NUL and TAB among them), DEL, C1 controls, and the Unicode line and paragraph
 * separators and bidirectional overrides: none may reach an SDP line (RFC 8866 §5), an M3U entry or
 * a log line.
 */
const FORBIDDEN_IN_TEXT = new RegExp(
  String.raw`[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]`,
);

/**
 * Throws ConfigError naming `field` unless `text` is well-formed Unicode of at most `maxChars`
 * characters without control characters: a description or category goes into SDP text (`i=`,
 * `a=cat`), where a CR or LF would start a line of its own.
 */
export function checkStreamText(text: string, field: string, maxChars: number): void {
  const at = text.search(FORBIDDEN_IN_TEXT);
  if (at >= 0) {
    const code = text.charCodeAt(at).toString(16).toUpperCase().padStart(4, "0");
    throw new ConfigError(
      field,
      `${field}: control character U+${code} at position ${at} (line breaks, tabs and other ` +
        "control characters would break the SDP description)",
    );
  }
  if (!text.isWellFormed()) {
    throw new ConfigError(field, `${field}: not well-formed Unicode (a lone surrogate)`);
  }
  if (text.length > maxChars) {
    throw new ConfigError(field, `${field}: longer than ${maxChars} characters (${text.length})`);
  }
}
