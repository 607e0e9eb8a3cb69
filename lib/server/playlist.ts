// The catalog as an M3U playlist (the extended M3U that IPTV players read: VLC, Kodi, TiviMate), for
// `GET /playlist.m3u`: one `#EXTINF` entry and one `rtp://` (or `udp://`) URL per stream.
import { ipVersionOf } from "../net/multicast_address.ts";
import type { StreamDefinition } from "../sdp/stream.ts";

/** Media type of the playlist (`audio/x-mpegurl`, what VLC and Kodi recognise). */
export const PLAYLIST_CONTENT_TYPE = "audio/x-mpegurl";

/** Response headers of the playlist: its type, and a file name for browsers that save it. */
export const PLAYLIST_HEADERS: Readonly<Record<string, string>> = {
  "content-type": PLAYLIST_CONTENT_TYPE,
  "content-disposition": 'inline; filename="playlist.m3u"',
  "x-content-type-options": "nosniff",
};

/** A stream as the playlist needs it; `transport: "udp"` marks raw UDP (MPEG-TS without RTP). */
export type PlaylistStream =
  & Pick<StreamDefinition, "name" | "description" | "address" | "port" | "source" | "category">
  & { readonly transport?: "rtp" | "udp" };

/** An address as it goes in a URL: IPv6 in brackets (RFC 3986 §3.2.2). */
function urlHost(address: string): string {
  return ipVersionOf(address) === 6 ? `[${address}]` : address;
}

/**
 * The URL players open for a stream, in VLC's form: `rtp://@GROUP:PORT` (`@`: receive, do not send),
 * `rtp://SOURCE@GROUP:PORT` for source-specific multicast, `udp://` for raw UDP, IPv6 bracketed.
 */
export function streamUrl(stream: PlaylistStream): string {
  const scheme = stream.transport === "udp" ? "udp" : "rtp";
  const source = stream.source === undefined ? "" : urlHost(stream.source);
  return `${scheme}://${source}@${urlHost(stream.address)}:${stream.port}`;
}

/** Text safe in an `#EXTINF` attribute value: no quote, no line break. */
function attribute(text: string): string {
  return text.replace(/[\r\n"]+/g, " ").replace(/ {2,}/g, " ").trim();
}

/** Text safe as an `#EXTINF` title: no line break. */
function title(text: string): string {
  return text.replace(/[\r\n]+/g, " ").trim();
}

/**
 * The playlist: `#EXTM3U`, then for each stream
 * `#EXTINF:-1 tvg-id="NAME" tvg-name="NAME" group-title="CATEGORY",DESCRIPTION` (no group-title
 * without a category; the name as title without a description) and its {@link streamUrl}. LF line
 * ends, UTF-8.
 */
export function buildPlaylist(streams: readonly PlaylistStream[]): string {
  const lines = ["#EXTM3U"];
  for (const stream of streams) {
    const name = attribute(stream.name);
    const category = stream.category === undefined ? "" : attribute(stream.category);
    const group = category === "" ? "" : ` group-title="${category}"`;
    const label = title(stream.description) || title(stream.name);
    lines.push(`#EXTINF:-1 tvg-id="${name}" tvg-name="${name}"${group},${label}`);
    lines.push(streamUrl(stream));
  }
  return `${lines.join("\n")}\n`;
}
