// HTTP handlers of receiver reports: `POST /streams/{name}/reports` (validated, size-, time- and
// rate-limited, behind the token) and `GET /streams/{name}/receivers` (the receivers' last reports
// and totals as JSON). Errors are problem+json (RFC 9457); http_app.ts routes requests here.
import { ProblemError } from "../common/errors.ts";
import { readBodyLimited } from "../common/read_limited.ts";
import { REPORT_CONTENT_TYPE, REPORT_LIMITS } from "../common/receiver_report.ts";
import { bodyReadProblem, bodyTooLarge, CLOSE, problem, problemResponse } from "./problem.ts";
import { type AddressLimit, addressOf } from "./address_limit.ts";
import type { RateLimiter } from "./rate_limit.ts";
import type { ReceiverStore } from "./receiver_store.ts";
import { parseReport, ReportError } from "./report_validation.ts";
import { type ServerMetrics, UNKNOWN_STREAM } from "./metrics.ts";

/** Paths these handlers answer; group 1 is the URL-encoded stream name. */
export const REPORT_ROUTES = {
  reports: /^\/streams\/([^/]+)\/reports$/,
  receivers: /^\/streams\/([^/]+)\/receivers$/,
} as const;

/** Defaults of the handlers. */
export const REPORT_HANDLER_DEFAULTS = {
  /** Time allowed to receive a report body, in ms (then 408). */
  BODY_TIMEOUT_MS: 10_000,
  /** Suggested per-address limit for a {@link RateLimiter} of reports: a probe watching 50
   * streams reports 10 times a second on average, all its streams at once. */
  RATE_PER_S: 20,
  RATE_BURST: 100,
} as const;

/** What the handlers need from the server. */
export interface ReportDeps {
  readonly store: ReceiverStore;
  /** True when `name` is a stream of the current catalog. */
  readonly hasStream: (name: string) => boolean;
  /** The token check: true when the request may go on. It may also throw a ProblemError (401).
   * `report` for posting reports, `read` for the receivers list. Absent: no check. */
  readonly authorize?: (request: Request, access: "report" | "read") => boolean;
  /** Per-address rate limit (429 with Retry-After). */
  readonly rateLimiter?: RateLimiter;
  /** Counts reports by stream and status. */
  readonly metrics?: ServerMetrics;
  /** Per-address slots for bodies being received (the offers' `--max-per-address`): 429 beyond. */
  readonly bodySlots?: AddressLimit;
  /** Largest body in bytes; default REPORT_LIMITS.MAX_BODY_BYTES. */
  readonly maxBodyBytes?: number;
  /** Time to receive a body in ms; default 10 000. */
  readonly bodyTimeoutMs?: number;
}

/** The catalog stream named by `path` (matched by `pattern`), or undefined when there is none. */
function streamOf(path: string, pattern: RegExp, deps: ReportDeps): string | undefined {
  const raw = pattern.exec(path)?.[1];
  if (raw === undefined) return undefined;
  let name: string;
  try {
    name = decodeURIComponent(raw);
  } catch {
    return undefined;
  }
  return deps.hasStream(name) ? name : undefined;
}

/** Throws 404 for a path that names no stream of the catalog. */
function requireStream(name: string | undefined, path: string): string {
  if (name === undefined) problem(404, `No stream for ${path}`);
  return name;
}

/** Throws 429 with Retry-After when the sender's address is over its rate. */
function limitRate(info: Deno.ServeHandlerInfo | undefined, deps: ReportDeps): void {
  const wait = deps.rateLimiter?.take(addressOf(info)) ?? 0;
  if (wait > 0) {
    problem(429, "Too many requests from this address; slow down", {
      headers: { "retry-after": String(Math.max(1, Math.ceil(wait))) },
    });
  }
}

/** Throws 401 with a bearer challenge unless `deps.authorize` lets the request through. */
function authorize(request: Request, deps: ReportDeps, access: "report" | "read"): void {
  if (deps.authorize === undefined || deps.authorize(request, access)) return;
  const header = request.headers.get("authorization");
  problem(
    401,
    header === null ? "This server requires a bearer token" : "The bearer token is not valid",
    {
      headers: {
        "www-authenticate": header === null
          ? 'Bearer realm="rtp-multicast-gateway"'
          : 'Bearer realm="rtp-multicast-gateway", error="invalid_token"',
      },
    },
  );
}

/** Reads a report's body through the one bounded reader within the body timeout. */
async function readReportBody(
  request: Request,
  limit: number,
  timeoutMs: number,
): Promise<Uint8Array> {
  const declared = request.headers.get("content-length");
  const declaredLength = declared === null ? undefined : Number(declared);
  let body: Uint8Array | undefined;
  try {
    body = await readBodyLimited(request, limit, { timeoutMs, declaredLength });
  } catch (error) {
    bodyReadProblem(error, timeoutMs, "Report");
  }
  if (body === undefined) bodyTooLarge(declaredLength, limit, "Report");
  return body;
}

async function acceptReport(
  request: Request,
  info: Deno.ServeHandlerInfo | undefined,
  deps: ReportDeps,
  stream: string,
): Promise<Response> {
  authorize(request, deps, "report");
  const type = (request.headers.get("content-type") ?? "").split(";", 1)[0]!.trim().toLowerCase();
  if (type !== REPORT_CONTENT_TYPE) {
    problem(415, `Content-Type ${type || "(none)"} is not supported: send ${REPORT_CONTENT_TYPE}`, {
      headers: { "accept-post": REPORT_CONTENT_TYPE },
    });
  }
  const address = addressOf(info);
  if (deps.bodySlots !== undefined && !deps.bodySlots.tryAcquire(address)) {
    problem(
      429,
      `Too many requests from this address are sending a body at once (at most ${deps.bodySlots.max}); ` +
        "try again shortly",
      { headers: { "retry-after": "1", ...CLOSE } },
    );
  }
  let bytes: Uint8Array;
  try {
    bytes = await readReportBody(
      request,
      deps.maxBodyBytes ?? REPORT_LIMITS.MAX_BODY_BYTES,
      deps.bodyTimeoutMs ?? REPORT_HANDLER_DEFAULTS.BODY_TIMEOUT_MS,
    );
  } finally {
    deps.bodySlots?.release(address);
  }
  let report;
  try {
    report = parseReport(bytes, stream);
  } catch (error) {
    if (error instanceof ReportError) problem(400, `Invalid report: ${error.message}`);
    throw error;
  }
  deps.store.put(stream, address, report);
  return new Response(null, { status: 204 });
}

/** A problem+json response for a ProblemError thrown while handling the request to `path`. */
async function guarded(
  request: Request,
  path: string,
  handle: (path: string) => Promise<Response> | Response,
): Promise<Response> {
  try {
    return await handle(path);
  } catch (error) {
    if (!(error instanceof ProblemError)) throw error;
    if (!request.bodyUsed) await request.body?.cancel().catch(() => {});
    return problemResponse(error, path);
  }
}

/**
 * `POST /streams/{name}/reports`: validates the report and keeps it as the last one of its receiver
 * (204). 429 rate limit (checked first), 404 unknown stream, 405 other methods, 401 token, 415 not JSON, 413 over
 * the size limit, 408 body too slow, 400 invalid report. Other errors propagate (the caller's 500).
 */
export function handleReport(
  request: Request,
  path: string,
  info: Deno.ServeHandlerInfo | undefined,
  deps: ReportDeps,
): Promise<Response> {
  let stream = UNKNOWN_STREAM;
  return guarded(request, path, async (path) => {
    const known = streamOf(path, REPORT_ROUTES.reports, deps);
    stream = known ?? UNKNOWN_STREAM;
    limitRate(info, deps);
    const name = requireStream(known, path);
    if (request.method !== "POST") {
      problem(405, `Method ${request.method} is not allowed here; use POST`, {
        headers: { allow: "POST" },
      });
    }
    return await acceptReport(request, info, deps, name);
  }).then((response) => {
    deps.metrics?.countReport(stream, response.status);
    return response;
  });
}

/**
 * `GET /streams/{name}/receivers` (and HEAD): `{"stream","receivers":[...]}` with each receiver's
 * last report and running totals, stalled first, then worst loss first. 429 rate limit, 404
 * unknown stream, 405 other methods, 401 token.
 */
export function handleReceivers(
  request: Request,
  path: string,
  info: Deno.ServeHandlerInfo | undefined,
  deps: ReportDeps,
): Promise<Response> {
  return guarded(request, path, (path) => {
    const known = streamOf(path, REPORT_ROUTES.receivers, deps);
    limitRate(info, deps);
    const stream = requireStream(known, path);
    if (request.method !== "GET" && request.method !== "HEAD") {
      problem(405, `Method ${request.method} is not allowed here; use GET`, {
        headers: { allow: "GET, HEAD" },
      });
    }
    authorize(request, deps, "read");
    const body = JSON.stringify({ stream, receivers: deps.store.list(stream) });
    return new Response(request.method === "HEAD" ? null : body, {
      headers: { "content-type": "application/json", "cache-control": "no-store" },
    });
  });
}
