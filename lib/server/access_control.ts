// Access control for the SDP server: bearer tokens (RFC 6750) compared in constant time, and CORS
// (Fetch standard) for browser clients, off unless an origin is configured.
import { timingSafeEqual } from "node:crypto";

const encoder = new TextEncoder();

/** True when `header` is `Bearer <token>` with exactly `token`; the comparison time does not depend on where they differ. */
export function bearerMatches(header: string | null, token: string): boolean {
  const match = /^Bearer +(\S+) *$/i.exec(header ?? "");
  const given = encoder.encode(match?.[1] ?? "");
  const expected = encoder.encode(token);
  // Compare equal-length buffers always, so neither length nor content leaks through timing.
  const padded = new Uint8Array(expected.length);
  padded.set(given.subarray(0, expected.length));
  const same = timingSafeEqual(padded, expected);
  return same && given.length === expected.length;
}

/** CORS response headers for a request from `origin`, or none when it is not allowed. */
export function corsHeaders(
  allowed: string | undefined,
  origin: string | null,
): Record<string, string> {
  if (allowed === undefined || origin === null) return {};
  if (allowed !== "*" && allowed !== origin) return {};
  return {
    "access-control-allow-origin": allowed === "*" ? "*" : origin,
    "access-control-expose-headers": "retry-after, www-authenticate",
    ...(allowed === "*" ? {} : { vary: "origin" }),
  };
}

/** Headers answering a CORS preflight (`OPTIONS` with `Access-Control-Request-Method`). */
export function preflightHeaders(
  allowed: string | undefined,
  origin: string | null,
): Record<string, string> {
  const base = corsHeaders(allowed, origin);
  if (Object.keys(base).length === 0) return {};
  return {
    ...base,
    "access-control-allow-methods": "GET, HEAD, POST, OPTIONS",
    "access-control-allow-headers": "content-type, authorization",
    "access-control-max-age": "600",
  };
}
