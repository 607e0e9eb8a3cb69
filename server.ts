// SDP offer/answer server: tells receivers where multicast RTP streams live (RFC 3264, RFC 8866).
// Run: deno task server [-- --help]
import { exitCodeFor } from "./lib/common/flags.ts";
import { getLogger } from "@logtape/logtape";
import { createHandler } from "./lib/server/http_app.ts";
import { setupLogging } from "./lib/common/logging.ts";
import { FixedAccessLog } from "./lib/server/access_log.ts";
import { RequestDrain } from "./lib/server/request_drain.ts";
import { RateLimiter } from "./lib/server/rate_limit.ts";
import { parseServerArgs, SERVER_USAGE } from "./lib/server/config.ts";
import { versionLine } from "./lib/common/version.ts";
import { type ConnectionServer, serveConnections } from "./lib/server/connection_server.ts";
import { ServerLoad } from "./lib/server/server_load.ts";
import { readFileLimited } from "./lib/common/read_file_limited.ts";
import { LiveCatalog } from "./lib/server/live_catalog.ts";
import { SapDiscovery } from "./lib/server/sap_discovery.ts";
import { ReceiverStore } from "./lib/server/receiver_store.ts";
import { SERVER_FAMILIES, ServerMetrics } from "./lib/server/metrics.ts";
import { createExposition, type Exposition } from "./lib/common/prometheus.ts";
import { metricsHandler } from "./lib/common/metrics_endpoint.ts";

/** Largest certificate or key file read, in bytes. */
const MAX_PEM_BYTES = 1024 * 1024;

/** How long SIGINT/SIGTERM wait for requests in flight before the server closes anyway. */
const DRAIN_TIMEOUT_MS = 10_000;

/** Runs the server until SIGINT/SIGTERM; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const env = (name: string) => Deno.env.get(name);
  let command;
  try {
    command = await parseServerArgs(args, env);
  } catch (error) {
    return exitCodeFor("sdp-server", error);
  }
  if (command.kind === "help") {
    console.log(SERVER_USAGE);
    return 0;
  }
  if (command.kind === "version") {
    console.log(versionLine("sdp-server"));
    return 0;
  }
  const { config } = command;
  const logging = setupLogging({ format: config.logFormat, output: "stdout" });
  const logger = getLogger(["gateway", "server"]);
  const catalog = new LiveCatalog(config.streams, { defaultName: config.defaultName });
  const store = new ReceiverStore(config.reports);
  let sap: SapDiscovery | undefined;
  const metrics = new ServerMetrics({ store, sap: () => sap?.snapshot() });
  // prom-client loads on the first scrape, so a server nobody scrapes does not pay for it.
  let exposition: Promise<Exposition> | undefined;
  const scrape = async (request: Request) => {
    exposition ??= createExposition(SERVER_FAMILIES, () => metrics.samples());
    const { render, contentType } = await exposition;
    return await metricsHandler({
      render,
      contentType,
      onError: (error) => logger.error("Cannot render /metrics: {error}", { error }),
    })(request);
  };

  if (config.tokenFromFlag) {
    logger.warn("--token is visible to other users in ps and /proc: set GATEWAY_TOKEN instead");
  }
  let server: ConnectionServer | undefined;
  let stopping = false;
  const drain = new RequestDrain();
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    if (drain.active > 0) {
      logger.info("Stopping: waiting for {count} requests in flight", { count: drain.active });
    }
    const [drained] = await Promise.all([drain.drain(DRAIN_TIMEOUT_MS), sap?.close()]);
    if (!drained) {
      logger.warn("Stopping with {count} requests still in flight", { count: drain.active });
    }
    await server?.shutdown();
  };
  const reload = async () => {
    if (config.configPath === undefined) {
      logger.warn("SIGHUP ignored: no --config file to reload");
      return;
    }
    try {
      const next = await parseServerArgs(args, env);
      if (next.kind !== "run") return;
      catalog.configure(next.config.streams, next.config.defaultName);
      await sap?.reload();
      logger.info("Reloaded {path}: {count} streams", {
        path: config.configPath,
        count: next.config.streams.length,
      });
    } catch (error) {
      logger.error("Reload of {path} rejected, keeping the current catalog: {message}", {
        path: config.configPath,
        message: (error as Error).message,
      });
    }
  };
  const signals: [Deno.Signal, () => void][] = [
    ["SIGINT", () => void stop()],
    ["SIGTERM", () => void stop()],
    ["SIGHUP", () => void reload()],
  ];
  let tls: { cert: string; key: string } | undefined;
  if (config.tls !== undefined) {
    try {
      const pem = async (path: string) =>
        new TextDecoder().decode(await readFileLimited(path, { limit: MAX_PEM_BYTES }));
      tls = { cert: await pem(config.tls.certFile), key: await pem(config.tls.keyFile) };
    } catch (error) {
      console.error(`sdp-server: cannot read TLS files: ${(error as Error).message}`);
      return 2;
    }
  }
  const load = new ServerLoad();
  const handler = createHandler({
    catalog: () => catalog.current,
    bodyTimeoutMs: config.bodyTimeoutS * 1000,
    accessLog: config.accessLog &&
      new FixedAccessLog({ format: logging.format, writer: logging.writer }),
    protectReads: config.protectReads,
    maxConcurrent: config.maxConcurrent,
    maxPerAddress: config.maxPerAddress,
    load,
    ...(config.token === undefined ? {} : { token: config.token }),
    ...(config.corsOrigin === undefined ? {} : { corsOrigin: config.corsOrigin }),
    ...(config.rateLimit === undefined
      ? {}
      : { rateLimiter: new RateLimiter({ ratePerS: config.rateLimit }) }),
    reports: {
      store,
      rateLimiter: new RateLimiter(config.reports),
    },
    metrics,
    scrape,
    drain,
  });
  for (const [signal, listener] of signals) Deno.addSignalListener(signal, listener);
  try {
    if (config.sap.announce || config.sap.listen) {
      try {
        sap = await SapDiscovery.start(config.sap, catalog);
      } catch (error) {
        logger.error("Cannot start SAP: {message}", { message: (error as Error).message });
        return 1;
      }
    }
    try {
      server = serveConnections({
        hostname: config.host,
        port: config.port,
        maxConnections: config.maxConnections,
        idleTimeoutMs: config.idleTimeoutS * 1000,
        load,
        onListen: ({ hostname, port }) => {
          const entry = catalog.current.defaultEntry.stream;
          logger.info(
            "Listening on {scheme}://{hostname}:{port}/ with {count} streams; default {name} at {address} port {mport}",
            {
              scheme: tls === undefined ? "http" : "https",
              hostname: hostname.includes(":") ? `[${hostname}]` : hostname,
              port,
              count: catalog.current.entries().length,
              name: entry.name,
              address: entry.address,
              mport: entry.port,
              maxConnections: config.maxConnections,
              idleTimeoutS: config.idleTimeoutS,
            },
          );
        },
        ...(tls === undefined ? {} : { tls }),
      }, handler);
    } catch (error) {
      logger.error("Cannot listen on {host}:{port}: {message}", {
        host: config.host,
        port: config.port,
        message: (error as Error).message,
      });
      return 1;
    }
    if (stopping) await server.shutdown(); // a signal arrived before the server existed
    await server.finished;
    await sap?.close();
    logger.info("Stopped");
    return 0;
  } finally {
    for (const [signal, listener] of signals) Deno.removeSignalListener(signal, listener);
    await sap?.close();
    logging.writer.flush(); // the last lines, before main() returns and the process exits
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
