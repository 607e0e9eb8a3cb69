// The server's web page (`GET /`): one HTML document with the catalog, links to each `.sdp`, the
// playlist and a client command, and receiver health refreshed from the JSON endpoints; its inline
// style and script are allowed by hash in a strict Content-Security-Policy (CSP Level 3).
import { createHash } from "node:crypto";
import { formatEncoding } from "../rtp/payload_format.ts";
import { type CatalogEntry, transportOf } from "../sdp/stream.ts";
import { PAGE_SCRIPT, PAGE_STYLE, RAW_UDP_LABEL } from "./web_page_assets.ts";

/** `'sha256-…'` source expression of an inline element's exact text (CSP Level 3 §2.3). */
function hashSource(text: string): string {
  return `'sha256-${createHash("sha256").update(text, "utf8").digest("base64")}'`;
}

/**
 * The page's Content-Security-Policy: nothing by default; only this script and style (by hash);
 * fetches to this origin only; no framing, no `<base>`, no form posts.
 */
export const WEB_PAGE_CSP = [
  "default-src 'none'",
  `script-src ${hashSource(PAGE_SCRIPT)}`,
  `style-src ${hashSource(PAGE_STYLE)}`,
  "connect-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

/** Response headers of the page. */
export const WEB_PAGE_HEADERS: Readonly<Record<string, string>> = {
  "content-type": "text/html; charset=utf-8",
  "content-security-policy": WEB_PAGE_CSP,
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store",
};

/** Options of {@link renderWebPage}. */
export interface WebPageOptions {
  /**
   * The catalog, shown at once (and without JavaScript). Leave it out when reads need the token
   * (`--protect-reads`): the page then asks for the token and loads the catalog with it.
   */
  readonly entries?: readonly CatalogEntry[];
  /** This server's origin (`http://host:port`) for the client command; the script fills it in too. */
  readonly origin?: string;
  /** Page title; default "rtp-multicast-gateway". */
  readonly title?: string;
}

/** Text escaped for HTML content and double-quoted attributes. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function shellWord(word: string): string {
  return /^[A-Za-z0-9._/:@%+=-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

function streamRow(entry: CatalogEntry, origin: string): string {
  const { stream } = entry;
  const e = escapeHtml;
  const sdp = `/streams/${encodeURIComponent(stream.name)}.sdp`;
  const category = stream.category === undefined || stream.category === ""
    ? ""
    : ` <span class="category">${e(stream.category)}</span>`;
  const formats = transportOf(stream) === "udp"
    ? RAW_UDP_LABEL
    : stream.formats.map((f) => `${f.payloadType} ${formatEncoding(f)}`).join(", ");
  const command = `deno task client -- --server ${shellWord(origin)} --stream ${
    shellWord(stream.name)
  }`;
  return `<tr class="stream" data-stream="${e(stream.name)}"><td><a class="name" href="${e(sdp)}">${
    e(stream.name)
  }</a></td><td>${e(stream.description)}${category}</td><td class="address">${
    e(stream.address)
  }</td><td class="num">${stream.port}</td><td class="formats">${e(formats)}</td>` +
    `<td class="muted address">${e(stream.source ?? "")}</td>` +
    `<td colspan="5" class="muted">loading…</td></tr>\n` +
    `<tr class="command-row" data-command-for="${e(stream.name)}"><td colspan="11">` +
    `<span class="muted">Client: </span><input class="command" readonly value="${e(command)}" ` +
    `aria-label="Client command for ${e(stream.name)}"></td></tr>`;
}

/**
 * The page: a header with links to the playlist and the JSON catalog, the stream table (name with
 * its `.sdp` link, description and category, group, port, formats, source, receivers receiving /
 * reporting, receivers seeing loss, worst loss, worst jitter, TS errors; under each, a copyable
 * client command), and a table of every reporting receiver. Every catalog string is HTML-escaped here and set as
 * text by the script. Serve it with {@link WEB_PAGE_HEADERS}.
 */
export function renderWebPage(options: WebPageOptions = {}): string {
  const title = escapeHtml(options.title ?? "rtp-multicast-gateway");
  const origin = options.origin ?? "http://SERVER:8080";
  const rows = (options.entries ?? []).map((entry) => streamRow(entry, origin)).join("\n");
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${title}</title>
<style>${PAGE_STYLE}</style>
</head>
<body>
<header>
<h1>${title}</h1>
<nav><a href="/playlist.m3u">Playlist (M3U)</a><a href="/streams">Catalog (JSON)</a></nav>
<span id="status">${options.entries === undefined ? "" : `${options.entries.length} streams`}</span>
</header>
<main>
<form id="auth" hidden>
<label id="auth-label" for="token">This server needs its bearer token to show the catalog:</label>
<input id="token" type="password" autocomplete="off" size="32">
<button type="submit">Show</button>
<span class="muted">(kept for this tab only)</span>
</form>
<p id="error" role="alert"></p>
<h2>Streams</h2>
<table>
<thead><tr><th>Name</th><th>Description</th><th>Group</th><th class="num">Port</th><th>Formats</th>` +
    `<th>Source</th><th class="num">Receiving</th><th class="num">With loss</th>` +
    `<th class="num">Worst loss</th><th class="num">Jitter</th><th class="num">TS errors</th>` +
    `</tr></thead>
<tbody id="streams">
${rows}
</tbody>
</table>
<h2>Receivers</h2>
<table>
<thead><tr><th>Stream</th><th>Receiver</th><th>Address</th><th>State</th><th class="num">Packets</th>` +
    `<th class="num">Lost</th><th class="num">Loss</th><th class="num">Jitter</th>` +
    `<th class="num">Bitrate</th><th class="num">TS errors</th><th class="num">Last report</th>` +
    `</tr></thead>
<tbody id="receivers"></tbody>
</table>
<p id="no-receivers" class="muted">Waiting for receiver reports…</p>
</main>
<script>${PAGE_SCRIPT}</script>
</body>
</html>
`;
}
