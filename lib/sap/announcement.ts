// The SAP announcement of one catalog stream (RFC 2974 §3, §6): its SDP (RFC 8866, the stream's
// plain description plus `a=charset` and `a=cat`), message-id hash, SAP group, TTL and the packets.
import { ipVersionOf } from "../net/multicast_address.ts";
import { describeStream } from "../sdp/describe.ts";
import type { CatalogEntry } from "../sdp/stream.ts";
import { encodeSapPacket, MAX_SAP_ANNOUNCEMENT_BYTES, SAP } from "./packet.ts";
import { sapGroupFor, sapGroupV6, type SapScope } from "./scope.ts";

/** Hop limit of IPv6 announcements: the kernel default, as Deno has no option to change it. */
export const IPV6_HOP_LIMIT = 1;

/** A stream that cannot be announced (no SAP group for its scope, too large, no usable TTL). */
export class SapAnnounceError extends Error {
  override name = "SapAnnounceError";
  /** The stream's name. */
  readonly stream: string;
  constructor(stream: string, message: string, options: { cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.stream = stream;
  }
}

/** One stream's announcement, ready to send. */
export interface SapAnnouncement {
  readonly name: string;
  /** The announced SDP text (CRLF lines). */
  readonly sdp: string;
  /** Message identifier hash, 1-65535. */
  readonly hash: number;
  /** SAP group and port the packets go to. */
  readonly group: string;
  readonly port: number;
  readonly scope: SapScope;
  readonly ipVersion: 4 | 6;
  /** Multicast TTL of the packets: the stream's own (IPv6: the hop limit, always 1). */
  readonly ttl: number;
  /** The `o=` version announced. */
  readonly version: number;
  /** Announcement packet (T = 0), under 1 KB. */
  readonly announce: Uint8Array;
  /** Deletion packet (T = 1): the same SDP, as ffmpeg sends it (VLC needs a full SDP to parse). */
  readonly delete: Uint8Array;
  /** Set when the group is a fallback or the description was shortened to fit. */
  readonly warnings: readonly string[];
}

/** Options of {@link buildAnnouncement}. */
export interface AnnouncementOptions {
  /** Originating source address for IPv4 announcements; default 0.0.0.0 (unspecified). */
  readonly originV4?: string;
  /** Originating source address for IPv6 announcements; default `::` (unspecified). */
  readonly originV6?: string;
  /** Hashes not to use (other streams' from the same origin, this stream's previous one). */
  readonly avoidHashes?: ReadonlySet<number>;
}

/** Text safe on one SDP line: CR, LF and NUL become spaces (RFC 8866 §5: no CR/LF in a value). */
function oneLine(text: string): string {
  return text.replace(/[\r\n\0]+/g, " ").trim();
}

/**
 * The SDP a stream is announced with: {@link describeStream}'s description (`s=` name, `i=`
 * description, `a=tool`, `a=type:broadcast`, `a=recvonly`) plus `a=charset:UTF-8` and, when the
 * entry has a category, `a=cat:CATEGORY` (RFC 8866 §6). `description` overrides the stream's.
 */
export function announcementSdp(entry: CatalogEntry, description?: string): string {
  const stream = { ...entry.stream, description: oneLine(description ?? entry.stream.description) };
  const category = entry.stream.category === undefined ? "" : oneLine(entry.stream.category);
  const extra = `a=charset:UTF-8\r\n${category === "" ? "" : `a=cat:${category}\r\n`}`;
  return describeStream({ ...entry, stream }).replace(
    /^(a=type:broadcast\r\n)/m,
    `$1${extra}`,
  );
}

/** FNV-1a 32-bit of the SDP bytes folded to 16 bits, never 0 (RFC 2974 §6: 0 is SAPv1's "no hash"). */
export function messageHash(sdp: string): number {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(sdp)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  const folded = (hash >>> 16) ^ (hash & 0xffff);
  return folded === 0 ? 1 : folded;
}

/** The first hash from `hash` on (skipping 0) that is not in `avoid`. */
function freeHash(hash: number, avoid: ReadonlySet<number> | undefined): number {
  let candidate = hash;
  while (avoid?.has(candidate)) candidate = candidate === 0xffff ? 1 : candidate + 1;
  return candidate;
}

/** Cuts `text` to at most `bytes` UTF-8 bytes at a character boundary, ending with "…". */
function shorten(text: string, bytes: number): string {
  const encoder = new TextEncoder();
  const ellipsis = 3; // "…" in UTF-8
  let out = "";
  let used = 0;
  for (const char of text) {
    const length = encoder.encode(char).length;
    if (used + length + ellipsis > bytes) break;
    out += char;
    used += length;
  }
  return out === "" ? "" : `${out}…`;
}

/**
 * Builds the announcement of a catalog entry: group from {@link sapGroupFor}, TTL from the stream
 * (IPv6: hop limit 1, with a warning when the stream's TTL is larger; TTL 0 only for an
 * interface-local group), hash from the SDP (so it changes with the `o=` version), and packets
 * under 1 KB (a long description is shortened to fit). Throws SapAnnounceError when the stream
 * cannot be announced.
 */
export function buildAnnouncement(
  entry: CatalogEntry,
  options: AnnouncementOptions = {},
): SapAnnouncement {
  const { stream } = entry;
  let choice;
  try {
    choice = sapGroupFor(stream.address);
  } catch (error) {
    throw new SapAnnounceError(
      stream.name,
      `Stream "${stream.name}": ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  const ipVersion = ipVersionOf(stream.address) as 4 | 6;
  const warnings = choice.warning === undefined
    ? []
    : [`Stream "${stream.name}": ${choice.warning}`];
  // Deno cannot set the IPv6 multicast hop limit: IPv6 announcements go out with the kernel's 1.
  if (ipVersion === 6 && stream.ttl === 0 && choice.group !== sapGroupV6(1)) {
    throw new SapAnnounceError(
      stream.name,
      `Stream "${stream.name}": TTL 0 (host only) cannot be kept for an IPv6 announcement ` +
        `on ${choice.group} (the hop limit is always 1); not announced`,
    );
  }
  if (ipVersion === 6 && stream.ttl > 1) {
    warnings.push(
      `Stream "${stream.name}": announced with hop limit 1, not its TTL ${stream.ttl} ` +
        `(Deno cannot set the IPv6 multicast hop limit)`,
    );
  }
  const origin = ipVersion === 6 ? options.originV6 ?? "::" : options.originV4 ?? "0.0.0.0";
  if (ipVersionOf(origin) !== ipVersion) {
    throw new SapAnnounceError(
      stream.name,
      `Stream "${stream.name}": SAP origin "${origin}" is not an IPv${ipVersion} address`,
    );
  }
  const overhead = SAP.FIXED_HEADER_LENGTH + (ipVersion === 6 ? 16 : 4) +
    SAP.SDP_PAYLOAD_TYPE.length + 1;
  const budget = MAX_SAP_ANNOUNCEMENT_BYTES - overhead;
  let sdp = announcementSdp(entry);
  let size = new TextEncoder().encode(sdp).length;
  if (size > budget) {
    const description = oneLine(stream.description);
    const descriptionBytes = new TextEncoder().encode(description).length;
    const keep = descriptionBytes - (size - budget);
    sdp = announcementSdp(entry, keep > 0 ? shorten(description, keep) : "");
    size = new TextEncoder().encode(sdp).length;
    if (size > budget) {
      throw new SapAnnounceError(
        stream.name,
        `Stream "${stream.name}": its announcement is ${size + overhead} bytes, over ` +
          `${MAX_SAP_ANNOUNCEMENT_BYTES} even without a description; not announced`,
      );
    }
    warnings.push(
      `Stream "${stream.name}": description shortened to keep the announcement under 1 KB`,
    );
  }
  const hash = freeHash(messageHash(sdp), options.avoidHashes);
  const payload = new TextEncoder().encode(sdp);
  const fields = { hash, origin, payloadType: SAP.SDP_PAYLOAD_TYPE, payload } as const;
  return {
    name: stream.name,
    sdp,
    hash,
    group: choice.group,
    port: choice.port,
    scope: choice.scope,
    ipVersion,
    ttl: ipVersion === 6 ? IPV6_HOP_LIMIT : stream.ttl,
    version: entry.version,
    announce: encodeSapPacket({ ...fields, messageType: "announce" }),
    delete: encodeSapPacket({ ...fields, messageType: "delete" }),
    warnings,
  };
}
