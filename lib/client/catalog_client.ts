// Reading the SDP server's catalog (`GET /streams`, JSON) for `--all`: the streams it offers, each
// with its `o=` version (RFC 8866 §5.2), bounded and checked like any answer from the network.
import { NegotiationError } from "../common/errors.ts";
import { isRecord } from "../common/json_checks.ts";
import { printable } from "../common/printable.ts";
import { readLimited } from "../common/read_limited.ts";
import { STREAM_NAME_PATTERN } from "../sdp/stream.ts";
import type { StreamTransport } from "../sdp/stream.ts";
import { authHeaders, exchange, type FetchOptions } from "./negotiate.ts";

/** Bounds on a catalog answer. */
export const CATALOG_LIMITS = {
  /** Largest body read, bytes. */
  BYTES: 1024 * 1024,
  /** Most streams taken from one catalog; the rest are ignored (and said so). */
  STREAMS: 1000,
} as const;

/** One stream of the catalog. */
export interface CatalogStream {
  readonly name: string;
  /** Its `o=` sess-version: a change means it was re-described. */
  readonly version: string;
  readonly transport: StreamTransport;
}

/** What a catalog fetch found. */
export interface CatalogListing {
  readonly streams: readonly CatalogStream[];
  /** Entries left out (bad names, over the limit), for a log line. */
  readonly skipped: number;
}

/**
 * The URL of `path` (e.g. `/streams`) on a server given as a base URL, an offer URL (`.../offer`,
 * `.../streams/NAME/offer`) or a description URL (`.../streams/NAME.sdp`): the same path prefix,
 * then `path`, without query or fragment.
 */
export function serverUrl(server: string, path: string): string {
  const url = new URL(server);
  const base = url.pathname.replace(/\/+$/, "").replace(/\/streams\/[^/]+(?:\/offer|\.sdp)$/, "")
    .replace(/\/offer$/, "");
  url.pathname = `${base}${path}`;
  url.search = "";
  url.hash = "";
  return url.toString();
}

/** The catalog URL (`.../streams`) of a server given as a base, offer or stream URL. */
export function catalogUrl(server: string): string {
  return serverUrl(server, "/streams");
}

/** Reads a catalog body: `{"streams":[{"name","version",...}]}` (the server's GET /streams). */
export function parseCatalog(text: string, origin: string): CatalogListing {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new NegotiationError(`The catalog from ${origin} is not valid JSON`);
  }
  if (!isRecord(json) || !Array.isArray(json.streams)) {
    throw new NegotiationError(`The catalog from ${origin} has no "streams" array`);
  }
  const streams: CatalogStream[] = [];
  const names = new Set<string>();
  let skipped = 0;
  for (const entry of json.streams) {
    const name = isRecord(entry) ? entry.name : undefined;
    if (
      typeof name !== "string" || !STREAM_NAME_PATTERN.test(name) || names.has(name) ||
      streams.length >= CATALOG_LIMITS.STREAMS
    ) {
      skipped++;
      continue;
    }
    const record = entry as Record<string, unknown>;
    const version = typeof record.version === "number" || typeof record.version === "string"
      ? printable(String(record.version), 64)
      : "";
    names.add(name);
    streams.push({ name, version, transport: record.transport === "udp" ? "udp" : "rtp" });
  }
  return { streams, skipped };
}

/**
 * Fetches and reads the catalog at `url` with the retries, token, client and timeouts of
 * `options`. Throws NegotiationError (one printable line) when it cannot.
 */
export async function fetchCatalog(url: string, options: FetchOptions): Promise<CatalogListing> {
  const text = await exchange(
    url,
    { headers: { accept: "application/json", ...authHeaders(options) } },
    options,
    async (response, signal) => {
      const bytes = await readLimited(response.body, CATALOG_LIMITS.BYTES, { signal });
      if (bytes === undefined) {
        throw new NegotiationError(
          `The catalog from ${url} is larger than ${CATALOG_LIMITS.BYTES} bytes`,
        );
      }
      try {
        return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
      } catch {
        throw new NegotiationError(`The catalog from ${url} is not valid UTF-8`);
      }
    },
  );
  return parseCatalog(text, url);
}
