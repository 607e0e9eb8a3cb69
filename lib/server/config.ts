// Server configuration from flags, environment and a JSON config file, in that order of precedence
// over the defaults (the VLC set-up: 239.0.0.1:5004, payload type 33, MP2T/90000).
import { validateStreams } from "./catalog.ts";
import type { StreamDefinition } from "../sdp/stream.ts";
import { parseFlags } from "../common/flags.ts";
import { ConfigError, FileReadError } from "../common/errors.ts";
import { readFileLimited } from "../common/read_file_limited.ts";
import { LOG_FORMATS, type LogFormat } from "../common/logging.ts";
import { ipVersionOf } from "../net/multicast_address.ts";
import { DEFAULT_STREAM, resolveCatalog } from "./default_stream.ts";
import { resolveSecurity, type SecurityConfig } from "./security_config.ts";
import { resolveSap, type SapConfig } from "./sap_config.ts";
import { type ReportConfig, resolveReports } from "./report_config.ts";
import { DEFAULT_SAP_INTERVAL_S } from "../sap/schedule.ts";
import { RECEIVER_STORE_DEFAULTS } from "./receiver_store.ts";
import { REPORT_HANDLER_DEFAULTS } from "./report_handlers.ts";
import {
  byDefault,
  flagOrEnv,
  fromFile,
  integerSetting,
  invalidAt,
  type Sourced,
} from "./setting_origin.ts";

/** Defaults: listen on 0.0.0.0:8080 and announce what `vlc FILE --sout '#rtp{dst=239.0.0.1,port=5004,mux=ts}'` sends. */
export const SERVER_DEFAULTS = { host: "0.0.0.0", port: 8080, ...DEFAULT_STREAM } as const;

/** Environment variables the server reads (flags win over them, they win over the config file). */
export const SERVER_ENV = {
  host: "HTTP_HOST",
  port: "HTTP_PORT",
  multicastAddress: "MULTICAST_ADDRESS",
  multicastPort: "MULTICAST_PORT",
  ttl: "MULTICAST_TTL",
  payloadType: "PAYLOAD_TYPE",
  encoding: "PAYLOAD_ENCODING",
  source: "MULTICAST_SOURCE",
  name: "STREAM_NAME",
  config: "GATEWAY_CONFIG",
  logFormat: "LOG_FORMAT",
  token: "GATEWAY_TOKEN",
} as const;

/** `--help` text of the server. */
export const SERVER_USAGE = `sdp-server: answers SDP offers with where a multicast RTP stream lives.

Usage: sdp-server [options]

A receiver POSTs an SDP offer (application/sdp, or JSON {"type":"offer","sdp":"..."}) to /offer
or /streams/NAME/offer and gets an answer with the group, port, TTL and payload formats.
GET /streams lists the catalog; GET /streams/NAME.sdp is a description VLC, ffmpeg and
GStreamer open directly; GET /playlist.m3u is the catalog as an M3U playlist; GET / is a web
page of the catalog and its receivers; receivers POST reports to /streams/NAME/reports and
GET /streams/NAME/receivers lists them; GET /metrics is for Prometheus; GET /healthz answers
{"status":"ok"}.

Options (flag > environment variable > config file > default):
  --host ADDRESS            Address to listen on ($HTTP_HOST; default 0.0.0.0)
  --port N                  HTTP port, 0 for any free one ($HTTP_PORT; default 8080)
  --name NAME               Default stream's name; with --config, selects the default stream
                            ($STREAM_NAME; default "default")
  --multicast-address IP    Default stream's group, IPv4 or IPv6 ($MULTICAST_ADDRESS; 239.0.0.1)
  --multicast-port N        Default stream's UDP port ($MULTICAST_PORT; default 5004)
  --ttl N                   Multicast TTL announced in c= ($MULTICAST_TTL; default 1)
  --payload-type N          RTP payload type ($PAYLOAD_TYPE; default 33, MPEG-TS)
  --encoding NAME/RATE[/CH] Encoding of the payload type, e.g. MP2T/90000, H264/90000
                            ($PAYLOAD_ENCODING; required for dynamic types 96-127)
  --source IP               Sender address for source-specific multicast ($MULTICAST_SOURCE)
  --transport rtp|udp       Default stream's transport: rtp, or udp for MPEG-TS straight over
                            UDP without RTP (VLC #udp{...}; default rtp)
  --config FILE             JSON catalog of streams ($GATEWAY_CONFIG); see README
  --log-format text|json    Request log format on stdout ($LOG_FORMAT; default text)
  --quiet                   No line per request (start, stop, reloads and errors are still logged)

Discovery (SAP, RFC 2974):
  --sap                     Announce every configured stream with SAP on its scope's SAP group,
                            port 9875, with the stream's TTL; deletions when a stream leaves the
                            catalog and at shutdown
  --sap-interval SECONDS    Each stream's announcement interval, spread over the streams
                            (default ${DEFAULT_SAP_INTERVAL_S})
  --sap-origin ADDRESS      Originating source in the announcements (default: --host when it is
                            one address, else unspecified)
  --sap-listen              Add the sessions others announce (VLC sap, ffmpeg -f sap) to the
                            catalog ("origin":"sap"); never in place of a configured stream

Receiver reports:
  --max-receivers-per-stream N  Receivers kept per stream (default ${RECEIVER_STORE_DEFAULTS.MAX_RECEIVERS_PER_STREAM})
  --max-receivers N         Receivers kept in all (default ${RECEIVER_STORE_DEFAULTS.MAX_RECEIVERS})
  --receiver-max-age SECONDS  Forget a receiver silent this long (default ${RECEIVER_STORE_DEFAULTS.MAX_AGE_S})
  --report-rate-limit N[/s] Reports per second per client address, bursts of ${
  REPORT_HANDLER_DEFAULTS.RATE_BURST / REPORT_HANDLER_DEFAULTS.RATE_PER_S
} s (default ${REPORT_HANDLER_DEFAULTS.RATE_PER_S})

Security and limits:
  --token TOKEN             Require "Authorization: Bearer TOKEN" on offers, reports and the
                            receivers list ($GATEWAY_TOKEN)
  --protect-reads           Require the token on GET /streams, .sdp, /playlist.m3u and /metrics
                            too (/healthz stays open; / asks for the token)
  --cert FILE --key FILE    Serve HTTPS with this PEM certificate chain and private key
  --cors-origin ORIGIN      Allow browser requests from ORIGIN (or *); CORS is off by default
  --rate-limit N[/s]        Requests per second per client address, bursts of N (429 beyond)
  --max-concurrent N        Requests handled at once; more get 503 (default 256)
  --max-per-address N       Requests from one client address receiving a body at once; more
                            get 429 (default 8)
  --body-timeout SECONDS    Time to receive a request body; then 408 and the connection closes
                            (default 10)
  --max-connections N       Open connections; beyond it the longest-idle one is closed, else the
                            new one gets 503 (default: half the open-file limit, at most 4096)
  --idle-timeout SECONDS    Close a connection with no request in flight after this long
                            (keep-alive and slow headers; default 30)
  -h, --help                Show this help and exit
  -V, --version             Show the version and exit

Exit codes: 0 after SIGINT/SIGTERM (in-flight requests finish), 1 on a runtime failure
(e.g. the port is taken, no SAP group can be joined), 2 on a usage or configuration error.
`;

/** Everything the server needs to run. */
export interface ServerConfig extends SecurityConfig {
  readonly host: string;
  readonly port: number;
  readonly logFormat: LogFormat;
  /** Log one line per request. */
  readonly accessLog: boolean;
  readonly streams: readonly StreamDefinition[];
  readonly defaultName: string;
  /** The config file the catalog came from, if any. */
  readonly configPath?: string;
  /** SAP announcements and listening (RFC 2974). */
  readonly sap: SapConfig;
  /** Receiver reports: the store's bounds and the per-address rate. */
  readonly reports: ReportConfig;
}

/** Largest config file read, in bytes: a catalog of thousands of streams fits. */
export const MAX_CONFIG_BYTES = 1024 * 1024;

/** Result of parsing the command line: run, or show help or version. */
export type ServerCommand =
  | { readonly kind: "help" }
  | { readonly kind: "version" }
  | { readonly kind: "run"; readonly config: ServerConfig };

const FILE_KEYS = new Set(["host", "port", "logFormat", "defaultStream", "streams"]);

async function readConfigFile(path: string): Promise<Record<string, unknown>> {
  // Bounded, regular files only (a FIFO would hang a reload, a 100 MB file exhaust the heap), and
  // no error quotes the file's contents (a config symlinked to /etc/passwd must not log it).
  let text: string;
  try {
    const bytes = await readFileLimited(path, { limit: MAX_CONFIG_BYTES });
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch (error) {
    const reason = error instanceof FileReadError ? error.reason : "not valid UTF-8";
    throw new ConfigError("config", `Cannot read config file ${path}: ${reason}`, {
      cause: error,
    });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    const at = /at position (\d+)/.exec((error as Error).message)?.[1];
    throw new ConfigError(
      "config",
      `Config file ${path} is not valid JSON${at === undefined ? "" : ` (at byte ${at})`}`,
      { cause: error },
    );
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new ConfigError("config", `Config file ${path}: expected a JSON object`);
  }
  const record = raw as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!FILE_KEYS.has(key)) {
      throw new ConfigError(
        key,
        `Config file ${path}: ${JSON.stringify(key.slice(0, 40))}: unknown field (allowed: ${
          [...FILE_KEYS].join(", ")
        })`,
      );
    }
  }
  return record;
}

/** The catalog part of a config file: its streams and default stream name. */
export async function loadCatalogFile(
  path: string,
): Promise<{ streams: StreamDefinition[]; defaultName?: string; file: Record<string, unknown> }> {
  const file = await readConfigFile(path);
  try {
    const streams = validateStreams(file.streams ?? [], "streams");
    if (streams.length === 0) {
      throw new ConfigError("streams", "streams: at least one stream is required");
    }
    let defaultName: string | undefined;
    if (file.defaultStream !== undefined) {
      if (typeof file.defaultStream !== "string") {
        throw new ConfigError("defaultStream", "defaultStream: expected a stream name");
      }
      defaultName = file.defaultStream;
      if (!streams.some((s) => s.name === defaultName)) {
        throw new ConfigError("defaultStream", `defaultStream: no stream named "${defaultName}"`);
      }
    }
    return defaultName === undefined ? { streams, file } : { streams, defaultName, file };
  } catch (error) {
    if (error instanceof ConfigError) {
      throw new ConfigError(error.field, `Config file ${path}: ${error.message}`, { cause: error });
    }
    throw error;
  }
}

/** The server's flags (node:util parseArgs options). */
const SERVER_FLAGS = {
  host: { type: "string" },
  port: { type: "string" },
  name: { type: "string" },
  "multicast-address": { type: "string" },
  "multicast-port": { type: "string" },
  ttl: { type: "string" },
  "payload-type": { type: "string" },
  encoding: { type: "string" },
  source: { type: "string" },
  transport: { type: "string" },
  config: { type: "string" },
  "log-format": { type: "string" },
  quiet: { type: "boolean" },
  token: { type: "string" },
  "protect-reads": { type: "boolean" },
  cert: { type: "string" },
  key: { type: "string" },
  "cors-origin": { type: "string" },
  "rate-limit": { type: "string" },
  "max-concurrent": { type: "string" },
  "body-timeout": { type: "string" },
  "max-per-address": { type: "string" },
  "max-connections": { type: "string" },
  "idle-timeout": { type: "string" },
  sap: { type: "boolean" },
  "sap-interval": { type: "string" },
  "sap-origin": { type: "string" },
  "sap-listen": { type: "boolean" },
  "max-receivers-per-stream": { type: "string" },
  "max-receivers": { type: "string" },
  "receiver-max-age": { type: "string" },
  "report-rate-limit": { type: "string" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean", short: "V" },
} as const;

/** Looks a setting up where it can come from: flag, then environment variable. */
type Lookup = (flag: keyof typeof SERVER_FLAGS, variable?: string) => Sourced<string> | undefined;

/**
 * Parses the server's command line against the environment (`env(name)` is injected so tests need no
 * real environment) and reads the config file. Each value is taken with its origin (flag >
 * environment variable > config file > default), so a ConfigError names the flag, variable or config
 * file field that carried the bad value.
 */
export async function parseServerArgs(
  args: string[],
  env: (name: string) => string | undefined,
): Promise<ServerCommand> {
  const values = parseFlags(args, SERVER_FLAGS);
  if (values.help) return { kind: "help" };
  if (values.version) return { kind: "version" };
  const given: Lookup = (flag, variable) => flagOrEnv(values, env, flag, variable);

  const configPath = given("config", SERVER_ENV.config)?.value;
  const catalogFile = configPath === undefined
    ? undefined
    : { path: configPath, ...await loadCatalogFile(configPath) };
  const file = catalogFile?.file ?? {};
  /** The config file's top-level field `name`, when the file has it. */
  const inFile = <T>(name: string, value: T | undefined): Sourced<T> | undefined =>
    value === undefined || configPath === undefined ? undefined : fromFile(value, configPath, name);

  // A host that is not a string in the file is ignored, as it always was.
  const host = given("host", SERVER_ENV.host) ??
    inFile("host", typeof file.host === "string" ? file.host : undefined) ??
    byDefault(SERVER_DEFAULTS.host, "host");
  if (ipVersionOf(host.value) === undefined && host.value !== "localhost") {
    throw invalidAt(host.origin, `"${host.value}" is not an IP address`);
  }
  const port = integerSetting(
    given("port", SERVER_ENV.port) ?? inFile("port", file.port) ??
      byDefault(SERVER_DEFAULTS.port, "port"),
    0,
    65535,
  );
  const logFormat = given("log-format", SERVER_ENV.logFormat) ??
    inFile("logFormat", file.logFormat) ?? byDefault("text", "logFormat");
  if (!(LOG_FORMATS as readonly unknown[]).includes(logFormat.value)) {
    throw invalidAt(
      logFormat.origin,
      `expected text or json, got ${JSON.stringify(logFormat.value)}`,
    );
  }

  const { streams, defaultName } = resolveCatalog(
    {
      name: given("name", SERVER_ENV.name),
      address: given("multicast-address", SERVER_ENV.multicastAddress),
      port: given("multicast-port", SERVER_ENV.multicastPort),
      ttl: given("ttl", SERVER_ENV.ttl),
      payloadType: given("payload-type", SERVER_ENV.payloadType),
      encoding: given("encoding", SERVER_ENV.encoding),
      source: given("source", SERVER_ENV.source),
      transport: given("transport"),
    },
    catalogFile,
  );
  const security = resolveSecurity({
    token: given("token", SERVER_ENV.token),
    cert: given("cert"),
    key: given("key"),
    corsOrigin: given("cors-origin"),
    rateLimit: given("rate-limit"),
    maxConcurrent: given("max-concurrent"),
    bodyTimeout: given("body-timeout"),
    maxPerAddress: given("max-per-address"),
    maxConnections: given("max-connections"),
    idleTimeout: given("idle-timeout"),
    protectReads: values["protect-reads"] ?? false,
  });
  const sap = resolveSap({
    announce: values.sap ?? false,
    interval: given("sap-interval"),
    origin: given("sap-origin"),
    listen: values["sap-listen"] ?? false,
    host: host.value,
  });
  const reports = resolveReports({
    maxReceiversPerStream: given("max-receivers-per-stream"),
    maxReceivers: given("max-receivers"),
    maxAge: given("receiver-max-age"),
    rateLimit: given("report-rate-limit"),
  });
  return {
    kind: "run",
    config: {
      host: host.value,
      port,
      logFormat: logFormat.value as LogFormat,
      accessLog: !(values.quiet ?? false),
      streams,
      defaultName,
      ...(configPath === undefined ? {} : { configPath }),
      ...security,
      sap,
      reports,
    },
  };
}
