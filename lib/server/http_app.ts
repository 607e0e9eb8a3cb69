// The SDP server's HTTP handler: routes, body limits, content negotiation and one error boundary that
// turns known errors into problem+json responses (RFC 9457) and anything else into a plain 500.
import { decodeUtf8 } from "../common/utf8.ts";
import { getLogger } from "@logtape/logtape";
import { bearerMatches, corsHeaders, preflightHeaders } from "./access_control.ts";
import type { Catalog } from "./catalog.ts";
import type { CatalogEntry } from "../sdp/stream.ts";
import { ProblemError, SdpError } from "../common/errors.ts";
import { bodyReadProblem, bodyTooLarge, CLOSE, problem, problemResponse } from "./problem.ts";
import type { RateLimiter } from "./rate_limit.ts";
import { readBodyLimited } from "../common/read_limited.ts";
import { AnswerCache } from "./answer_cache.ts";
import { describeStream } from "../sdp/describe.ts";
import { MAX_SDP_BYTES } from "../sdp/parse.ts";
import { printable } from "../common/printable.ts";
import { AddressLimit, addressOf } from "./address_limit.ts";
import type { ServerLoad } from "./server_load.ts";
import { requestPath } from "./request_target.ts";
import { buildPlaylist, PLAYLIST_HEADERS } from "./playlist.ts";
import { renderWebPage, WEB_PAGE_HEADERS } from "./web_page.ts";
import type { ReceiverStore } from "./receiver_store.ts";
import {
  handleReceivers,
  handleReport,
  REPORT_ROUTES,
  type ReportDeps,
} from "./report_handlers.ts";
import { type ServerMetrics, UNKNOWN_STREAM } from "./metrics.ts";
import { METRICS_PATH } from "../common/metrics_endpoint.ts";
import { transportOf } from "../sdp/stream.ts";
import { type AccessLog, logTapeAccessLog } from "./access_log.ts";
import type { RequestDrain } from "./request_drain.ts";

/** Options of {@link createHandler}. */
export interface HandlerOptions {
  /** The current catalog; a function so that a reload can swap it atomically. */
  readonly catalog: () => Catalog;
  /** Largest request body accepted, in bytes; default 64 KiB. */
  readonly maxBodyBytes?: number;
  /** Time allowed to receive a request body, in ms; default 10 000 (then 408). */
  readonly bodyTimeoutMs?: number;
  /** Bearer token required on offers (and on reads with `protectReads`). */
  readonly token?: string;
  /** Require the token on `GET /streams` and `.sdp` too (`/healthz` stays open). */
  readonly protectReads?: boolean;
  /** Origin allowed by CORS (`*` for any); CORS is off when undefined. */
  readonly corsOrigin?: string;
  /** Per-client rate limit (429 with Retry-After). */
  readonly rateLimiter?: RateLimiter;
  /** Most requests handled at once; more get 503. Default 256. */
  readonly maxConcurrent?: number;
  /** Most requests per client address receiving a body at once; more get 429. Default 8. */
  readonly maxPerAddress?: number;
  /** Refusals for /healthz; the handler records its own 503s here. */
  readonly load?: ServerLoad;
  /**
   * One line per request: an {@link AccessLog} (the server gives a FixedAccessLog writing into its
   * log buffer), `true` (default) for LogTape's "gateway.http" logger, `false` for none. Errors are
   * logged either way.
   */
  readonly accessLog?: boolean | AccessLog;
  /**
   * Receiver reports (`POST /streams/{name}/reports`, `GET /streams/{name}/receivers`): where they
   * are kept and their own per-address rate limit. Without it those paths answer 404.
   */
  readonly reports?: { readonly store: ReceiverStore; readonly rateLimiter?: RateLimiter };
  /** Counts requests in flight for a graceful stop, and refuses new ones with 503 once it drains. */
  readonly drain?: RequestDrain;
  /** Counts offers (`sdp_offers_total`) and reports. */
  readonly metrics?: ServerMetrics;
  /** Answers `GET /metrics` (lib/common/metrics_endpoint.ts); without it the path answers 404. */
  readonly scrape?: (request: Request) => Promise<Response>;
}

/** Defaults of {@link HandlerOptions}. */
export const HANDLER_DEFAULTS = {
  maxBodyBytes: MAX_SDP_BYTES,
  bodyTimeoutMs: 10_000,
  maxConcurrent: 256,
  maxPerAddress: 8,
} as const;

/** Longest piece of a request (a name, a path, a value) echoed in an error message, in characters. */
const ECHO_CHARS = 80;

/** Everything a request needs besides itself. */
interface Context {
  readonly options: HandlerOptions;
  readonly maxBodyBytes: number;
  readonly bodyTimeoutMs: number;
  readonly answers: AnswerCache;
  readonly bodySlots: AddressLimit;
  /** What the report handlers need, when reports are on. */
  readonly reportDeps?: ReportDeps;
}

/** Offer paths (besides `/offer`, the default stream's). */
const OFFER_ROUTE = /^\/streams\/([^/]+)\/offer$/;

/** A request handler as Deno.serve takes it. */
export type Handler = (request: Request, info?: Deno.ServeHandlerInfo) => Promise<Response>;

function mediaTypeOf(request: Request): string {
  const header = request.headers.get("content-type");
  if (header === "application/sdp" || header === "application/json") return header;
  return (header ?? "").split(";", 1)[0]!.trim().toLowerCase();
}

/** Throws 415 for an offer of media type `type` (neither SDP nor JSON), its body unread. */
async function refuseOfferType(request: Request, type: string): Promise<never> {
  await request.body?.cancel().catch(() => {});
  problem(
    415,
    type === ""
      ? "Missing Content-Type: send application/sdp or application/json"
      : `Content-Type ${
        printable(type, ECHO_CHARS)
      } is not supported: send application/sdp or application/json`,
    { headers: { "accept-post": "application/sdp, application/json" } },
  );
}

/** The offer SDP in a body of media type `type` (application/sdp, or JSON `{"type":"offer","sdp"}`). */
function offerSdp(bytes: Uint8Array, type: string): string {
  let text: string;
  try {
    text = decodeUtf8(bytes);
  } catch {
    problem(400, "Request body is not valid UTF-8");
  }
  if (text.trim() === "") problem(400, "Request body is empty: expected an SDP offer");
  if (type === "application/sdp") return text;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    problem(400, `Request body is not valid JSON: ${printable((error as Error).message, 120)}`);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    problem(400, 'Expected a JSON object {"type":"offer","sdp":"..."}');
  }
  const description = json as Record<string, unknown>;
  if (description.type !== undefined && description.type !== "offer") {
    problem(
      400,
      `Expected "type": "offer", got ${printable(String(JSON.stringify(description.type)), 40)}`,
    );
  }
  if (typeof description.sdp !== "string") {
    problem(400, 'Expected a string "sdp" member holding the SDP offer');
  }
  return description.sdp;
}

/**
 * Answers an offer for `entry`. The body is read up to the limit through the one bounded reader
 * (readBodyLimited: one buffer of at most the limit, however the body is chunked; a declared length
 * over it is refused unread) within the body timeout, holding one of the address's body slots
 * meanwhile. One async function with one await: each further layer cost a promise per request.
 */
async function handleOffer(
  request: Request,
  info: Deno.ServeHandlerInfo | undefined,
  entry: CatalogEntry,
  context: Context,
): Promise<Response> {
  const type = mediaTypeOf(request);
  if (type !== "application/sdp" && type !== "application/json") {
    return await refuseOfferType(request, type);
  }
  // A slow body holds its slot for up to the body timeout: one address gets only a few.
  const address = addressOf(info);
  const slots = context.bodySlots;
  if (!slots.tryAcquire(address)) {
    await request.body?.cancel().catch(() => {});
    problem(
      429,
      `Too many requests from this address are sending a body at once (at most ${slots.max}); ` +
        "try again shortly",
      { headers: { "retry-after": "1", ...CLOSE } },
    );
  }
  const limit = context.maxBodyBytes;
  const timeoutMs = context.bodyTimeoutMs;
  const declared = request.headers.get("content-length");
  const declaredLength = declared === null ? undefined : Number(declared);
  let bytes: Uint8Array | undefined;
  try {
    bytes = await readBodyLimited(request, limit, { timeoutMs, declaredLength });
  } catch (error) {
    bodyReadProblem(error, timeoutMs, "Request body");
  } finally {
    slots.release(address);
  }
  if (bytes === undefined) bodyTooLarge(declaredLength, limit, "Request body");
  const sdp = offerSdp(bytes, type);
  let result;
  try {
    result = context.answers.answer(sdp, entry);
  } catch (error) {
    if (error instanceof SdpError) problem(400, `Invalid SDP offer: ${printable(error.message)}`);
    throw error;
  }
  if (result.accepted === 0) {
    const { stream } = entry;
    problem(
      406,
      result.transport === "udp"
        ? `No offered media can be served: stream "${stream.name}" is MPEG-TS straight over UDP ` +
          `(no RTP) to ${stream.address} port ${stream.port}; offer "m=video ${stream.port} ` +
          `udp mpeg", or open /streams/${stream.name}.sdp`
        : `No offered media can be served: stream "${stream.name}" carries ` +
          `${result.carried.join(", ")} over RTP/AVP to ${stream.address} port ${stream.port}`,
      {
        extensions: {
          stream: stream.name,
          transport: result.transport,
          offered: result.offered,
          carried: result.carried,
        },
      },
    );
  }
  return type === "application/sdp"
    ? new Response(result.sdp, SDP_ANSWER_INIT)
    : Response.json({ type: "answer", sdp: result.sdp });
}

/** Response options of an SDP answer (one object for all: Deno copies what it needs). */
const SDP_ANSWER_INIT: ResponseInit = { headers: { "content-type": "application/sdp" } };

function catalogJson(catalog: Catalog): unknown {
  return {
    defaultStream: catalog.defaultEntry.stream.name,
    streams: catalog.entries().map(({ stream, version }) => ({
      name: stream.name,
      description: stream.description,
      ...(stream.category === undefined ? {} : { category: stream.category }),
      address: stream.address,
      port: stream.port,
      ttl: stream.ttl,
      ...(stream.source === undefined ? {} : { source: stream.source }),
      transport: transportOf(stream),
      formats: stream.formats,
      origin: catalog.originOf(stream.name),
      ...(catalog.discoveryOf(stream.name) === undefined
        ? {}
        : { announcedBy: catalog.discoveryOf(stream.name)!.announcedBy }),
      version,
      sdp: `/streams/${encodeURIComponent(stream.name)}.sdp`,
      offer: `/streams/${encodeURIComponent(stream.name)}/offer`,
    })),
  };
}

function allowOnly(method: string, allowed: readonly string[]): void {
  if (!allowed.includes(method)) {
    problem(
      405,
      `Method ${printable(method, ECHO_CHARS)} is not allowed here; use ${allowed.join(", ")}`,
      { headers: { allow: allowed.join(", ") } },
    );
  }
}

function lookup(catalog: Catalog, rawName: string): CatalogEntry {
  let name: string;
  try {
    name = decodeURIComponent(rawName);
  } catch {
    problem(404, `No stream named "${printable(rawName, ECHO_CHARS)}"`);
  }
  const entry = catalog.get(name);
  if (entry === undefined) {
    problem(404, `No stream named "${printable(name, ECHO_CHARS)}"`, {
      extensions: { streams: catalog.entries().map((e) => e.stream.name) },
    });
  }
  return entry;
}

/** Throws 401 unless the request carries the configured bearer token (when one applies). */
function authorize(request: Request, options: HandlerOptions, kind: "offer" | "read"): void {
  if (options.token === undefined || (kind === "read" && !options.protectReads)) return;
  const header = request.headers.get("authorization");
  if (bearerMatches(header, options.token)) return;
  const challenge = header === null
    ? 'Bearer realm="rtp-multicast-gateway"'
    : 'Bearer realm="rtp-multicast-gateway", error="invalid_token"';
  problem(
    401,
    header === null ? "This server requires a bearer token" : "The bearer token is not valid",
    {
      headers: { "www-authenticate": challenge },
    },
  );
}

/** The Allow header value for a path, or undefined when no route matches. */
function allowedMethods(path: string): string | undefined {
  if (
    path === "/offer" || OFFER_ROUTE.test(path) || REPORT_ROUTES.reports.test(path)
  ) {
    return "POST, OPTIONS";
  }
  if (
    path === "/" || path === "/healthz" || path === "/streams" || path === "/streams/" ||
    path === PLAYLIST_PATH || path === METRICS_PATH || /^\/streams\/[^/]+\.sdp$/.test(path) ||
    REPORT_ROUTES.receivers.test(path)
  ) {
    return "GET, HEAD, OPTIONS";
  }
  return undefined;
}

/** Path of the M3U playlist. */
export const PLAYLIST_PATH = "/playlist.m3u";

/** True when reads need the token (`--protect-reads` with a token set). */
function readsProtected(options: HandlerOptions): boolean {
  return options.token !== undefined && options.protectReads === true;
}

/** Admission before routing: preflight, rate limit and concurrency cap. Returns a response to send instead, if any. */
function admit(
  request: Request,
  method: string,
  path: string,
  info: Deno.ServeHandlerInfo | undefined,
  options: HandlerOptions,
  active: number,
): Response | undefined {
  if (method === "OPTIONS") {
    const allow = allowedMethods(path);
    if (allow === undefined) return undefined; // 404 from the router
    return new Response(null, {
      status: 204,
      headers: { allow, ...preflightHeaders(options.corsOrigin, request.headers.get("origin")) },
    });
  }
  if (path === "/healthz") return undefined;
  if (options.rateLimiter !== undefined) {
    const wait = options.rateLimiter.take(addressOf(info));
    if (wait > 0) {
      problem(429, "Too many requests from this address; slow down", {
        headers: { "retry-after": String(Math.max(1, Math.ceil(wait))) },
      });
    }
  }
  if (active > (options.maxConcurrent ?? HANDLER_DEFAULTS.maxConcurrent)) {
    options.load?.refused("requests");
    problem(503, "The server is handling too many requests at once; try again shortly", {
      headers: { "retry-after": "1" },
    });
  }
  return undefined;
}

const READ = ["GET", "HEAD"] as const;
const POST = ["POST"] as const;

/** The response of the route `path` names; a promise for the routes that wait (offers, reports). */
function route(
  request: Request,
  method: string,
  path: string,
  info: Deno.ServeHandlerInfo | undefined,
  context: Context,
): Response | Promise<Response> {
  const { options } = context;
  const catalog = options.catalog();
  if (path === "/offer") {
    allowOnly(method, POST);
    authorize(request, options, "offer");
    return handleOffer(request, info, catalog.defaultEntry, context);
  }
  if (path === "/healthz") {
    allowOnly(method, READ);
    const health = options.load?.health();
    if (health === undefined || health.status === "ok") return Response.json({ status: "ok" });
    // Refusing work: a load balancer or health check must see it.
    return Response.json(health, { status: 503, headers: { "retry-after": "1" } });
  }
  if (path === "/streams" || path === "/streams/") {
    allowOnly(method, READ);
    authorize(request, options, "read");
    return Response.json(catalogJson(catalog));
  }
  const offerMatch = OFFER_ROUTE.exec(path);
  if (offerMatch !== null) {
    allowOnly(method, POST);
    authorize(request, options, "offer");
    return handleOffer(request, info, lookup(catalog, offerMatch[1]!), context);
  }
  if (path === "/") {
    allowOnly(method, READ);
    // Served even when reads are protected: the page then holds no catalog and asks for the token.
    const page = renderWebPage({
      ...(readsProtected(options) ? {} : { entries: catalog.entries() }),
      origin: new URL(request.url).origin,
    });
    return new Response(page, { headers: WEB_PAGE_HEADERS });
  }
  if (path === PLAYLIST_PATH) {
    allowOnly(method, READ);
    authorize(request, options, "read");
    return new Response(buildPlaylist(catalog.entries().map((e) => e.stream)), {
      headers: PLAYLIST_HEADERS,
    });
  }
  if (path === METRICS_PATH && options.scrape !== undefined) {
    allowOnly(method, READ);
    authorize(request, options, "read");
    return options.scrape(request);
  }
  if (context.reportDeps !== undefined) {
    if (REPORT_ROUTES.reports.test(path)) {
      return handleReport(request, path, info, context.reportDeps);
    }
    if (REPORT_ROUTES.receivers.test(path)) {
      return handleReceivers(request, path, info, context.reportDeps);
    }
  }
  const sdpMatch = /^\/streams\/([^/]+)\.sdp$/.exec(path);
  if (sdpMatch !== null) {
    allowOnly(method, READ);
    authorize(request, options, "read");
    const entry = lookup(catalog, sdpMatch[1]!);
    return new Response(describeStream(entry), {
      headers: {
        "content-type": "application/sdp",
        "content-disposition": `inline; filename="${entry.stream.name}.sdp"`,
      },
    });
  }
  problem(404, `No route for ${printable(path, ECHO_CHARS)}`);
}

/**
 * The `stream` label of a request to a path `pattern` matches: the catalog stream named,
 * {@link UNKNOWN_STREAM} for a name not in the catalog; undefined when the path does not match.
 */
function streamLabel(path: string, pattern: RegExp, catalog: Catalog): string | undefined {
  const raw = pattern.exec(path)?.[1];
  if (raw === undefined) return undefined;
  let name: string;
  try {
    name = decodeURIComponent(raw);
  } catch {
    return UNKNOWN_STREAM;
  }
  return catalog.get(name) === undefined ? UNKNOWN_STREAM : name;
}

/** The `stream` label of an offer: the default stream for `/offer`; undefined for other paths. */
function offerStream(path: string, catalog: Catalog): string | undefined {
  if (path === "/offer") return catalog.defaultEntry.stream.name;
  return streamLabel(path, OFFER_ROUTE, catalog);
}

/**
 * Builds the server's request handler. Every request is logged once (method, path, status, duration)
 * through `accessLog`. Known errors answer problem+json; unknown ones are logged under
 * "gateway.http" and answered with a plain 500 that reveals nothing.
 */
export function createHandler(options: HandlerOptions): Handler {
  const logger = getLogger(["gateway", "http"]);
  const accessLog = options.accessLog === false
    ? undefined
    : options.accessLog === true || options.accessLog === undefined
    ? logTapeAccessLog()
    : options.accessLog;
  const bodySlots = new AddressLimit(options.maxPerAddress ?? HANDLER_DEFAULTS.maxPerAddress);
  const reports = options.reports;
  const context: Context = {
    options,
    maxBodyBytes: options.maxBodyBytes ?? HANDLER_DEFAULTS.maxBodyBytes,
    bodyTimeoutMs: options.bodyTimeoutMs ?? HANDLER_DEFAULTS.bodyTimeoutMs,
    answers: new AnswerCache(),
    bodySlots,
    ...(reports === undefined ? {} : {
      reportDeps: {
        store: reports.store,
        hasStream: (name) => options.catalog().get(name) !== undefined,
        // Reports and the receivers list (it shows client addresses) need the token whenever one
        // is set, like offers: authorize() throws the 401.
        authorize: (request) => {
          authorize(request, options, "offer");
          return true;
        },
        bodySlots,
        ...(reports.rateLimiter === undefined ? {} : { rateLimiter: reports.rateLimiter }),
        ...(options.metrics === undefined ? {} : { metrics: options.metrics }),
        ...(options.bodyTimeoutMs === undefined ? {} : { bodyTimeoutMs: options.bodyTimeoutMs }),
      },
    }),
  };
  let active = 0;
  const drain = options.drain;
  const corsOrigin = options.corsOrigin;
  return async (request, info) => {
    if (drain !== undefined && !drain.begin()) return await drain.refuse(request);
    try {
      // The clock is read only for the access line's duration.
      const started = accessLog === undefined ? 0 : performance.now();
      const method = request.method;
      let path = "-";
      let response: Response;
      // False while the request may still be refused before its route (400 Host, 429, 503).
      let admitted = false;
      active++;
      try {
        // Routing reads the request target only, never the Host header (which may say anything).
        const target = requestPath(request.url, request.headers.get("host"));
        if (target === undefined) problem(400, "Malformed Host header: expected host[:port]");
        path = target;
        const early = admit(request, method, path, info, options, active);
        admitted = true;
        const routed = early ?? route(request, method, path, info, context);
        response = routed instanceof Response ? routed : await routed;
      } catch (error) {
        if (error instanceof ProblemError) {
          response = problemResponse(error, path);
        } else {
          logger.error("Unhandled error on {method} {path}: {error}", { method, path, error });
          response = new Response("Internal Server Error\n", {
            status: 500,
            headers: { "content-type": "text/plain; charset=utf-8" },
          });
        }
      }
      active--;
      if (options.metrics !== undefined && method === "POST") {
        const catalog = options.catalog();
        const stream = offerStream(path, catalog);
        if (stream !== undefined) options.metrics.countOffer(stream, response.status);
        // The report handler counts what it answers; the refusals before it are counted here.
        const reportStream = admitted
          ? undefined
          : streamLabel(path, REPORT_ROUTES.reports, catalog);
        if (reportStream !== undefined) options.metrics.countReport(reportStream, response.status);
      }
      if (request.bodyUsed === false && request.body !== null) {
        await request.body.cancel().catch(() => {});
      }
      if (corsOrigin !== undefined) {
        const cors = corsHeaders(corsOrigin, request.headers.get("origin"));
        for (const name in cors) response.headers.set(name, cors[name]!);
      }
      if (method === "HEAD") {
        response = new Response(null, { status: response.status, headers: response.headers });
      }
      if (accessLog !== undefined) {
        const durationMs = Math.round((performance.now() - started) * 100) / 100;
        accessLog.record(method, path, response.status, durationMs);
      }
      return response;
    } finally {
      drain?.end();
    }
  };
}
