// The server's one connection policy: its own accept loop over Deno.listen (TCP, or TLS), a cap on
// open connections below the open-file limit, idle connections closed after a timeout (and first when
// the cap is reached), accept failures such as EMFILE survived with backoff, and connections closed
// after a response that says `Connection: close`. Each accepted connection is served by Deno's own
// HTTP layer (HTTP/1.1 and HTTP/2), so parsing stays in Rust.
import { getLogger } from "@logtape/logtape";
import type { ServerLoad } from "./server_load.ts";

/** A request handler as Deno's HTTP layer calls it. */
export type ConnectionHandler = (
  request: Request,
  info: Deno.ServeHandlerInfo<Deno.NetAddr>,
) => Response | Promise<Response>;

/** Options of {@link serveConnections}. */
export interface ConnectionServerOptions {
  readonly hostname: string;
  readonly port: number;
  /** PEM certificate chain and key: serve HTTPS (HTTP/2 by ALPN). */
  readonly tls?: { readonly cert: string; readonly key: string };
  /** Most connections open at once; beyond it the longest-idle one is closed, else the new one. */
  readonly maxConnections: number;
  /** A connection with no request in flight for this long is closed, in ms (keep-alive, slow headers). */
  readonly idleTimeoutMs: number;
  /** Where refusals are recorded for /healthz. */
  readonly load?: ServerLoad;
  /** Called once listening, with the bound address. */
  readonly onListen?: (addr: Deno.NetAddr) => void;
  /** Clock in ms; default performance.now. */
  readonly now?: () => number;
}

/** A running server. */
export interface ConnectionServer extends AsyncDisposable {
  readonly addr: Deno.NetAddr;
  /** Resolves when the server has stopped and every connection is closed; never rejects. */
  readonly finished: Promise<void>;
  /** Connections open now. */
  readonly connections: number;
  /** True when connections are handed to Deno's HTTP layer one by one (the limits hold). */
  readonly enforcesLimits: boolean;
  /** Stops accepting, closes idle connections, lets requests in flight finish, then resolves. */
  shutdown(): Promise<void>;
}

/** Backoff after a failed accept (EMFILE and friends): 5 ms doubling up to 1 s, as Go's net/http. */
const ACCEPT_BACKOFF_MS = { first: 5, max: 1000 } as const;
/** A connection asked to close after its response is forced closed after this long anyway. */
const CLOSE_AFTER_RESPONSE_MS = 2000;
/**
 * Time between the end of such a response and the close. A close with unread request bytes in the
 * socket (a client still uploading) sends a TCP reset, which makes the client's kernel drop the
 * response if it has not read it yet: this gives it the time to (nginx's lingering close).
 */
const LINGER_MS = 250;
/** Longest wait for a closed connection to free its descriptor before accepting the next one. */
const CLOSE_WAIT_MS = 1000;
/** Requests in flight get this long to finish at shutdown before their connections are cut. */
const SHUTDOWN_GRACE_MS = 5000;

const REFUSED_RESPONSE = new TextEncoder().encode(
  "HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\n" +
    "retry-after: 1\r\nconnection: close\r\ncontent-length: 37\r\n\r\n" +
    "Too many open connections; try again\n",
);

/** What Deno's HTTP layer returns for one connection. */
interface ServedConnection {
  readonly finished: Promise<void>;
  shutdown(): Promise<void>;
}

type ServeOnConnection = (
  conn: Deno.Conn,
  signal: AbortSignal,
  handler: ConnectionHandler,
  onError: (error: unknown) => Response,
  onListen: (scheme: string) => void,
) => ServedConnection;

/**
 * Deno's per-connection entry into its HTTP layer (the one `node:http` uses), which Deno.serve does
 * not expose: Deno.serve accepts by itself, has no connection cap or idle timeout, and ends its
 * whole server when accept fails with EMFILE. Undefined when this Deno does not have it.
 */
function findServeOnConnection(): ServeOnConnection | undefined {
  const internal = (Deno as unknown as Record<symbol, unknown>)[
    (Deno as unknown as { internal: symbol }).internal
  ] as { serveHttpOnConnection?: unknown } | undefined;
  const serve = internal?.serveHttpOnConnection;
  return typeof serve === "function" ? serve as ServeOnConnection : undefined;
}

/**
 * True while a connection's signal is being aborted. Deno's HTTP layer closes the connection from an
 * abort listener, which throws BadResource when the peer closed it a moment before; an exception in
 * an event listener is reported as uncaught and would end the process, so that one is absorbed.
 */
let aborting = false;
let absorberInstalled = false;
function installAbortAbsorber(): void {
  if (absorberInstalled) return;
  absorberInstalled = true;
  globalThis.addEventListener("error", (event) => {
    if (aborting && (event as ErrorEvent).error instanceof Deno.errors.BadResource) {
      event.preventDefault();
    }
  });
}

/** Connections closed by the server whose descriptors Deno has not released yet. */
interface ClosingCount {
  closing: number;
}

/** One accepted connection. */
class Connection {
  readonly controller = new AbortController();
  inFlight = 0;
  idleSinceMs: number;
  /** Closed by the server or gone: nothing left to abort. */
  closed = false;
  /** Counted in `counts.closing` until finished. */
  closing = false;
  served: ServedConnection | undefined;
  /** Settles when Deno is done with the connection and its descriptor is free. */
  finished: Promise<void> | undefined;
  constructor(nowMs: number, readonly counts: ClosingCount) {
    this.idleSinceMs = nowMs;
  }
  /** Closes the connection at once; harmless when the peer or Deno closed it already. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.closing = true;
    this.counts.closing++;
    aborting = true;
    try {
      this.controller.abort();
    } catch {
      // the connection is gone already
    } finally {
      aborting = false;
    }
  }
}

/** A burst ends after this long without a failure. */
const BURST_QUIET_MS = 1000;

/**
 * Logs the first failure of a burst and, at the first success after a quiet second, how many there
 * were: one pair of lines per burst however many failures it has.
 */
class Burst {
  #failures = 0;
  #startMs = 0;
  #lastMs = 0;
  constructor(
    readonly onStart: (message: string) => void,
    readonly onEnd: (failures: number, ms: number) => void,
  ) {}
  fail(message: string, nowMs: number): void {
    if (this.#failures++ === 0) {
      this.#startMs = nowMs;
      this.onStart(message);
    }
    this.#lastMs = nowMs;
  }
  succeed(nowMs: number): void {
    if (this.#failures === 0 || nowMs - this.#lastMs < BURST_QUIET_MS) return;
    this.onEnd(this.#failures, Math.round(this.#lastMs - this.#startMs));
    this.#failures = 0;
  }
}

/** After accept fails for want of descriptors, the cap learnt from it holds this long. */
const LEARNT_CAP_MS = 60_000;

function listen(options: ConnectionServerOptions): Deno.Listener<Deno.Conn, Deno.NetAddr> {
  return options.tls === undefined
    ? Deno.listen({ hostname: options.hostname, port: options.port })
    : Deno.listenTls({
      hostname: options.hostname,
      port: options.port,
      cert: options.tls.cert,
      key: options.tls.key,
      alpnProtocols: ["h2", "http/1.1"],
    });
}

/**
 * Serves `handler` with the connection policy of {@link ConnectionServerOptions}. Throws only when
 * it cannot listen (e.g. the port is taken); after that nothing a peer does ends it: accept
 * failures are logged once per burst and retried with backoff (closing the longest-idle connection
 * to free a descriptor), and every connection's errors stay with that connection. Falls back to
 * Deno.serve, without the limits, when this Deno cannot hand connections over (logged at start).
 */
export function serveConnections(
  options: ConnectionServerOptions,
  handler: ConnectionHandler,
): ConnectionServer {
  const serveOn = findServeOnConnection();
  if (serveOn === undefined) return serveWithoutLimits(options, handler);
  installAbortAbsorber();
  const logger = getLogger(["gateway", "connections"]);
  const now = options.now ?? (() => performance.now());
  const listener = listen(options);
  const open = new Set<Connection>();
  let stopping = false;

  /** The cap in force: --max-connections, or fewer after accept ran out of descriptors. */
  let cap = options.maxConnections;
  let capLearntMs = 0;
  const acceptFailures = new Burst(
    (message) =>
      logger.error(
        "Cannot accept connections: {message}; backing off and keeping at most {cap} " +
          "connections ({open} open, --max-connections {max})",
        { message, cap, open: open.size, max: options.maxConnections },
      ),
    (failures, ms) =>
      logger.warn(
        "Accepting connections again after {failures} failed accepts over {ms} ms",
        { failures, ms },
      ),
  );
  const refusals = new Burst(
    () =>
      logger.warn(
        "Refusing connections: {cap} open with a request in flight each (--max-connections {max})",
        { cap, max: options.maxConnections },
      ),
    (failures, ms) =>
      logger.info("Accepting connections again after refusing {failures} in {ms} ms", {
        failures,
        ms,
      }),
  );

  // A connection stays in `open` until Deno has finished with it: its descriptor is free only
  // then (a close is asynchronous: 180 evictions in a burst held that many descriptors).
  const counts: ClosingCount = { closing: 0 };
  const live = () => open.size - counts.closing;
  /** Closed connections allowed to wait for their descriptors before accepting pauses. */
  const closingSlack = () => Math.max(4, Math.floor(cap / 8));
  const forget = (connection: Connection) => open.delete(connection);
  // Idle connections are found by a scan, not kept in order per request: a request costs two
  // counter updates and a clock read, and the scans (the sweep, and a new connection at the cap)
  // walk at most --max-connections entries.
  const closeLongestIdle = (): Connection | undefined => {
    let longest: Connection | undefined;
    for (const connection of open) {
      if (connection.inFlight > 0 || connection.closed) continue;
      if (longest === undefined || connection.idleSinceMs < longest.idleSinceMs) {
        longest = connection;
      }
    }
    longest?.close();
    return longest;
  };
  const sweep = setInterval(() => {
    const oldest = now() - options.idleTimeoutMs;
    for (const connection of open) {
      if (connection.inFlight === 0 && connection.idleSinceMs <= oldest) connection.close();
    }
  }, Math.max(10, Math.min(1000, options.idleTimeoutMs / 4)));
  Deno.unrefTimer(sweep);

  const onError = (error: unknown) => {
    logger.error("Unhandled error in a request handler: {error}", { error });
    return new Response("Internal Server Error\n", { status: 500 });
  };

  const start = (conn: Deno.Conn) => {
    const connection = new Connection(now(), counts);
    open.add(connection);
    // The request's path through here is kept short: no await, a counter each way, a clock read
    // and one header lookup.
    const done = (response: Response | undefined, info: Deno.ServeHandlerInfo<Deno.NetAddr>) => {
      if (--connection.inFlight === 0) connection.idleSinceMs = now();
      if (response === undefined || response.headers.get("connection") === "close") {
        // Deno's HTTP layer keeps the connection despite the header; close it once sent.
        closeAfterResponse(connection, info);
      }
    };
    const wrapped: ConnectionHandler = (request, info) => {
      connection.inFlight++;
      let result: Response | Promise<Response>;
      try {
        result = handler(request, info);
      } catch (error) {
        done(undefined, info);
        throw error;
      }
      if (result instanceof Response) {
        done(result, info);
        return result;
      }
      return result.then((response) => {
        done(response, info);
        return response;
      }, (error) => {
        done(undefined, info);
        throw error;
      });
    };
    let served: ServedConnection;
    try {
      served = serveOn(conn, connection.controller.signal, wrapped, onError, () => {});
    } catch (error) {
      forget(connection);
      try {
        conn.close();
      } catch {
        // already closed
      }
      logger.error("Cannot serve a connection: {message}", {
        message: (error as Error).message,
      });
      return;
    }
    connection.served = served;
    // A reset, a TLS failure or a protocol error ends this connection only.
    connection.finished = served.finished.catch(() => {}).finally(() => {
      connection.closed = true; // nothing left to abort
      if (connection.closing) {
        connection.closing = false;
        counts.closing--;
      }
      forget(connection);
    });
  };

  const closeAfterResponse = (
    connection: Connection,
    info: Deno.ServeHandlerInfo<Deno.NetAddr>,
  ) => {
    const close = () => {
      clearTimeout(timer);
      connection.close();
    };
    const timer = setTimeout(close, CLOSE_AFTER_RESPONSE_MS);
    Deno.unrefTimer(timer);
    const linger = () => {
      clearTimeout(timer);
      Deno.unrefTimer(setTimeout(close, LINGER_MS));
    };
    info.completed.then(linger, linger);
  };

  const refuse = (conn: Deno.Conn) => {
    options.load?.refused("connections");
    refusals.fail("", now());
    const done = () => {
      try {
        conn.close();
      } catch {
        // already closed
      }
    };
    // A plain-text 503 where the protocol allows one; TLS connections are just closed.
    if (options.tls === undefined) conn.write(REFUSED_RESPONSE).then(done, done);
    else done();
  };

  /** Waits (at most a second) until `connection` has released its descriptor. */
  const untilFinished = async (connection: Connection | undefined) => {
    if (connection?.finished === undefined) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const bound = new Promise((resolve) => (timer = setTimeout(resolve, CLOSE_WAIT_MS)));
    await Promise.race([connection.finished, bound]);
    clearTimeout(timer);
  };

  const acceptLoop = async () => {
    let backoffMs = 0;
    while (!stopping) {
      if (cap < options.maxConnections && now() - capLearntMs > LEARNT_CAP_MS) {
        cap = options.maxConnections;
      }
      // Closed connections free their descriptors asynchronously: do not run ahead of them.
      if (counts.closing > closingSlack()) {
        let oldest: Connection | undefined;
        for (const connection of open) {
          if (connection.closing) {
            oldest = connection;
            break;
          }
        }
        await untilFinished(oldest);
      }
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch (error) {
        if (stopping || error instanceof Deno.errors.BadResource) break;
        // EMFILE, ENFILE, ENOBUFS, ECONNABORTED...: the listener is fine, the moment is not.
        // Hold one connection fewer than now from here on, so the next ones do not fail too.
        options.load?.refused("descriptors");
        cap = Math.max(1, Math.min(cap, open.size - 1 - closingSlack()));
        capLearntMs = now();
        acceptFailures.fail((error as Error).message, now());
        await untilFinished(closeLongestIdle());
        backoffMs = backoffMs === 0
          ? ACCEPT_BACKOFF_MS.first
          : Math.min(ACCEPT_BACKOFF_MS.max, 2 * backoffMs);
        await new Promise((resolve) => setTimeout(resolve, backoffMs));
        continue;
      }
      backoffMs = 0;
      acceptFailures.succeed(now());
      if (stopping) {
        try {
          conn.close();
        } catch {
          // already closed
        }
        break;
      }
      // At the cap the longest-idle connection makes room; with none idle the new one is refused.
      if (live() >= cap && closeLongestIdle() === undefined) {
        refuse(conn);
        continue;
      }
      refusals.succeed(now());
      start(conn);
    }
  };

  const loop = acceptLoop().catch((error) => {
    logger.error("Accept loop ended: {message}", { message: (error as Error).message });
  });
  options.onListen?.(listener.addr);

  let shuttingDown: Promise<void> | undefined;
  const shutdown = () => {
    shuttingDown ??= (async () => {
      stopping = true;
      try {
        listener.close();
      } catch {
        // already closed
      }
      await loop;
      clearInterval(sweep);
      const all = [...open];
      for (const connection of all) {
        if (connection.inFlight === 0) connection.close();
        else connection.served?.shutdown().catch(() => {});
      }
      const finished = Promise.all(all.map((c) => c.served?.finished.catch(() => {})));
      let timer: ReturnType<typeof setTimeout> | undefined;
      const grace = new Promise((resolve) => (timer = setTimeout(resolve, SHUTDOWN_GRACE_MS)));
      await Promise.race([finished, grace]);
      clearTimeout(timer);
      for (const connection of open) connection.close();
      // A handler that never returns keeps its connection unfinished: wait a bounded time.
      const cut = new Promise((resolve) => (timer = setTimeout(resolve, CLOSE_WAIT_MS)));
      await Promise.race([finished, cut]);
      clearTimeout(timer);
    })();
    return shuttingDown;
  };
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  loop.then(() => (shuttingDown ?? shutdown())).then(finish, finish);

  return {
    addr: listener.addr,
    finished,
    get connections() {
      return live();
    },
    enforcesLimits: true,
    shutdown,
    [Symbol.asyncDispose]: shutdown,
  };
}

/** Deno.serve with the same interface, for a Deno that cannot hand connections over. */
function serveWithoutLimits(
  options: ConnectionServerOptions,
  handler: ConnectionHandler,
): ConnectionServer {
  getLogger(["gateway", "connections"]).warn(
    "This Deno cannot serve connections one by one: --max-connections and --idle-timeout are " +
      "not enforced",
  );
  const server = Deno.serve({
    hostname: options.hostname,
    port: options.port,
    ...(options.onListen === undefined ? {} : { onListen: options.onListen }),
    ...(options.tls ?? {}),
  }, handler);
  return {
    addr: server.addr,
    finished: server.finished.catch(() => {}),
    connections: 0,
    enforcesLimits: false,
    shutdown: () => server.shutdown(),
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}
