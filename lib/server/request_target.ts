// The path of a request's target (RFC 9112 §3.2), for routing, and the check of its Host header
// (RFC 9110 §7.2, RFC 3986 §3.2.2): routing must not depend on what a client writes in Host.
import { isIPv6 } from "node:net";

/** reg-name / IPv4address (RFC 3986 §3.2.2): unreserved, pct-encoded and sub-delims. */
const REG_NAME = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})*$/;

/** The last Host found valid: clients send the same one request after request. */
let lastValidHost = "";

/** True when `host` is `uri-host [ ":" port ]` (RFC 9110 §7.2) with a port of at most 65535. */
export function isValidHost(host: string): boolean {
  if (host === lastValidHost) return true;
  if (!checkHost(host)) return false;
  lastValidHost = host;
  return true;
}

function checkHost(host: string): boolean {
  let name = host;
  let port = "";
  if (host.startsWith("[")) {
    const close = host.indexOf("]");
    if (close < 0 || !isIPv6(host.slice(1, close))) return false;
    name = "";
    port = host.slice(close + 1);
    if (port !== "" && !port.startsWith(":")) return false;
    port = port.slice(1);
  } else {
    const colon = host.lastIndexOf(":");
    if (colon >= 0) {
      name = host.slice(0, colon);
      port = host.slice(colon + 1);
    }
  }
  if (!REG_NAME.test(name)) return false;
  return /^[0-9]{0,5}$/.test(port) && (port === "" || Number(port) <= 65535);
}

/**
 * The path of the request target, without the query: what a client asked for, whatever its Host
 * header says. Deno builds `request.url` from the scheme, the Host header (or an absolute-form
 * target's authority) and the target, so a Host such as `x\streams#` would move the path into the
 * URL's host or fragment (`new URL()` turned `GET /healthz` into `/streams`). Returns undefined when
 * the Host header, or the authority in the URL, is not a valid `host[:port]`: answer 400 then.
 */
export function requestPath(url: string, host: string | null): string | undefined {
  if (host !== null && !isValidHost(host)) return undefined;
  const scheme = url.indexOf("://");
  if (scheme < 0) return undefined;
  const start = scheme + 3;
  const slash = url.indexOf("/", start);
  const end = slash < 0 ? url.length : slash;
  const authority = url.slice(start, end);
  if (authority !== host && !isValidHost(authority)) return undefined;
  if (slash < 0) return "/";
  const query = url.indexOf("?", slash);
  return url.slice(slash, query < 0 ? url.length : query);
}
