// The stream description both sides share: what a multicast stream is (group, port, TTL, payload
// formats, source) and its `o=` identity (RFC 8866 §5.2), plus the rule for stream names.
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
  /** Payload formats the stream carries, first preferred. */
  readonly formats: readonly PayloadFormat[];
  /** Sender address for source-specific multicast (RFC 4570 `a=source-filter`), if any. */
  readonly source?: string;
  /**
   * Category for catalogs and playlists: SAP `a=cat` (RFC 8866 §6.1, dot-separated, e.g.
   * `news.world`) and M3U `group-title`. Optional; the config file does not accept it yet.
   */
  readonly category?: string;
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
