// The `--metrics HOST:PORT` endpoint the client starts: a small Deno.serve that answers GET /metrics
// with the Prometheus text exposition (format 0.0.4), 404 on other paths and 405 for other methods.
// Its handler also answers the server's GET /metrics.
import { ConfigError } from "./errors.ts";

/** Where the endpoint listens. */
export interface ListenAddress {
  readonly hostname: string;
  readonly port: number;
}

/** Path Prometheus scrapes. */
export const METRICS_PATH = "/metrics";

/**
 * Parses `HOST:PORT`, `[IPV6]:PORT` or `:PORT` (all interfaces, 0.0.0.0); port 0 picks a free one.
 * Throws ConfigError naming `field` otherwise.
 */
export function parseListenAddress(text: string, field = "--metrics"): ListenAddress {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]*)):(\d{1,5})$/.exec(text);
  const port = Number(match?.[3]);
  if (match === null || port > 65535) {
    throw new ConfigError(
      field,
      `${field}: expected HOST:PORT (e.g. 127.0.0.1:9464, [::1]:9464 or :9464), got "${text}"`,
    );
  }
  const hostname = match[1] ?? (match[2] === "" ? "0.0.0.0" : match[2]!);
  return { hostname, port };
}

/** Options of {@link metricsHandler} and {@link serveMetrics}. */
export interface MetricsHandlerOptions {
  /** Renders the exposition text (Exposition.render). */
  readonly render: () => Promise<string>;
  /** Its content type (Exposition.contentType). */
  readonly contentType: string;
  /** Called when render() fails; the scrape gets a plain 500. */
  readonly onError?: (error: unknown) => void;
}

const TEXT = { "content-type": "text/plain; charset=utf-8" };

/** The request handler of the endpoint, usable in memory. */
export function metricsHandler(
  options: MetricsHandlerOptions,
): (request: Request) => Promise<Response> {
  return async (request) => {
    if (new URL(request.url).pathname !== METRICS_PATH) {
      return new Response(`Not found: scrape ${METRICS_PATH}\n`, { status: 404, headers: TEXT });
    }
    if (request.method !== "GET" && request.method !== "HEAD") {
      return new Response(`Method ${request.method} is not allowed; use GET\n`, {
        status: 405,
        headers: { ...TEXT, allow: "GET, HEAD" },
      });
    }
    let text: string;
    try {
      text = await options.render();
    } catch (error) {
      options.onError?.(error);
      return new Response("Internal Server Error\n", { status: 500, headers: TEXT });
    }
    const headers = { "content-type": options.contentType, "cache-control": "no-store" };
    return new Response(request.method === "HEAD" ? null : text, { headers });
  };
}

/** A running endpoint; `await using` shuts it down. */
export interface MetricsServer extends AsyncDisposable {
  /** The address it listens on (the chosen port when 0 was asked for). */
  readonly addr: Deno.NetAddr;
  /** Resolves when the server has stopped. */
  readonly finished: Promise<void>;
  /** Stops accepting, lets scrapes in flight finish. */
  shutdown(): Promise<void>;
}

/**
 * Starts the endpoint on `address`. Throws ConfigError naming `field` when it cannot listen there
 * (address in use, not local, permission).
 */
export function serveMetrics(
  address: ListenAddress,
  options: MetricsHandlerOptions & { readonly signal?: AbortSignal; readonly field?: string },
): MetricsServer {
  const handler = metricsHandler(options);
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({
      hostname: address.hostname,
      port: address.port,
      onListen: () => {},
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    }, handler);
  } catch (error) {
    const field = options.field ?? "--metrics";
    const host = address.hostname.includes(":") ? `[${address.hostname}]` : address.hostname;
    throw new ConfigError(
      field,
      `${field}: cannot listen on ${host}:${address.port}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  return {
    addr: server.addr,
    finished: server.finished,
    shutdown: () => server.shutdown(),
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}
