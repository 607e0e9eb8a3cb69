// Server configuration from flags, environment and a JSON config file, in that order of precedence
// over the defaults (the VLC set-up: 239.0.0.1:5004, payload type 33, MP2T/90000).
import { Catalog, validateStream, validateStreams } from "./catalog.ts";
import { checkInteger } from "../common/json_checks.ts";
import { checkStreamName, type StreamDefinition } from "../sdp/stream.ts";
import { makeFormat } from "../rtp/payload_format.ts";
import { parseFlags, parseIntegerFlag } from "../common/flags.ts";
import { ConfigError, FileReadError } from "../common/errors.ts";
import { LOG_FORMATS, type LogFormat } from "../common/logging.ts";
import { ipVersionOf } from "../net/multicast_address.ts";
import { staticFormat } from "../rtp/payload_format.ts";
import { readFileLimited } from "../common/read_file_limited.ts";
import { defaultMaxConnections } from "./open_file_limit.ts";
import { HANDLER_DEFAULTS } from "./http_app.ts";

/** Defaults: what `vlc FILE --sout '#rtp{dst=239.0.0.1,port=5004,mux=ts}'` sends. */
export const SERVER_DEFAULTS = {
  host: "0.0.0.0",
  port: 8080,
  name: "default",
  multicastAddress: "239.0.0.1",
  multicastPort: 5004,
  ttl: 1,
  payloadType: 33,
} as const;

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
GStreamer open directly; GET /healthz answers {"status":"ok"}.

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
  --config FILE             JSON catalog of streams ($GATEWAY_CONFIG); see README
  --log-format text|json    Request log format on stdout ($LOG_FORMAT; default text)
  --quiet                   No line per request (start, stop, reloads and errors are still logged)

Security and limits:
  --token TOKEN             Require "Authorization: Bearer TOKEN" on offers ($GATEWAY_TOKEN)
  --protect-reads           Require the token on GET /streams and .sdp too (/healthz stays open)
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
(e.g. the port is taken), 2 on a usage or configuration error.
`;

/** Everything the server needs to run. */
export interface ServerConfig {
  readonly host: string;
  readonly port: number;
  readonly logFormat: LogFormat;
  /** Log one line per request. */
  readonly accessLog: boolean;
  readonly streams: readonly StreamDefinition[];
  readonly defaultName: string;
  /** The config file the catalog came from, if any. */
  readonly configPath?: string;
  /** Bearer token required on offers. */
  readonly token?: string;
  readonly protectReads: boolean;
  /** TLS certificate and key files (PEM). */
  readonly tls?: { readonly certFile: string; readonly keyFile: string };
  readonly corsOrigin?: string;
  /** Requests per second per client address. */
  readonly rateLimit?: number;
  readonly maxConcurrent: number;
  readonly bodyTimeoutS: number;
  /** Requests per client address receiving a body at once. */
  readonly maxPerAddress: number;
  /** Open connections at most. */
  readonly maxConnections: number;
  /** Seconds a connection may stay open with no request in flight. */
  readonly idleTimeoutS: number;
  /** The token came from `--token` (visible in `ps`), not from the environment. */
  readonly tokenFromFlag: boolean;
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

/**
 * Parses the server's command line against the environment (`env(name)` is injected so tests need no
 * real environment) and reads the config file. Throws ConfigError on any bad value, naming it.
 */
export async function parseServerArgs(
  args: string[],
  env: (name: string) => string | undefined,
): Promise<ServerCommand> {
  const values = parseFlags(args, {
    host: { type: "string" },
    port: { type: "string" },
    name: { type: "string" },
    "multicast-address": { type: "string" },
    "multicast-port": { type: "string" },
    ttl: { type: "string" },
    "payload-type": { type: "string" },
    encoding: { type: "string" },
    source: { type: "string" },
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
    help: { type: "boolean", short: "h" },
    version: { type: "boolean", short: "V" },
  });
  if (values.help) return { kind: "help" };
  if (values.version) return { kind: "version" };

  /** Flag value, else environment value, with the name of where it came from. */
  const pick = (flag: keyof typeof values, envName: string): [string, string] | undefined => {
    const fromFlag = values[flag];
    if (typeof fromFlag === "string") return [fromFlag, `--${flag}`];
    const fromEnv = env(envName);
    if (fromEnv !== undefined && fromEnv !== "") return [fromEnv, envName];
    return undefined;
  };

  const configPick = pick("config", SERVER_ENV.config);
  const loaded = configPick === undefined ? undefined : await loadCatalogFile(configPick[0]);
  const file = loaded?.file ?? {};

  const hostPick = pick("host", SERVER_ENV.host);
  const host = hostPick?.[0] ?? (typeof file.host === "string" ? file.host : SERVER_DEFAULTS.host);
  if (ipVersionOf(host) === undefined && host !== "localhost") {
    throw new ConfigError(
      hostPick?.[1] ?? "host",
      `${hostPick?.[1] ?? "host"}: "${host}" is not an IP address`,
    );
  }
  const portPick = pick("port", SERVER_ENV.port);
  const port = portPick !== undefined
    ? parseIntegerFlag(portPick[0], portPick[1], 0, 65535)
    : file.port !== undefined
    ? checkInteger(file.port, "port", 0, 65535)
    : SERVER_DEFAULTS.port;
  const logPick = pick("log-format", SERVER_ENV.logFormat);
  const logFormat = logPick?.[0] ?? (file.logFormat ?? "text");
  if (!(LOG_FORMATS as readonly unknown[]).includes(logFormat)) {
    throw new ConfigError(
      logPick?.[1] ?? "logFormat",
      `${logPick?.[1] ?? "logFormat"}: expected text or json, got ${JSON.stringify(logFormat)}`,
    );
  }

  // The default stream: config file's (or built-in defaults), with flag/env overrides on top.
  const namePick = pick("name", SERVER_ENV.name);
  let streams = loaded?.streams ?? [];
  let defaultName = namePick?.[0] ?? loaded?.defaultName ?? streams[0]?.name ??
    SERVER_DEFAULTS.name;
  if (namePick !== undefined) checkStreamName(namePick[0], namePick[1]);
  if (loaded !== undefined && !streams.some((s) => s.name === defaultName)) {
    throw new ConfigError(
      namePick?.[1] ?? "name",
      `${namePick?.[1] ?? "name"}: no stream named "${defaultName}" in ${configPick?.[0]}`,
    );
  }
  const base: StreamDefinition = streams.find((s) => s.name === defaultName) ?? {
    name: defaultName,
    description: "",
    address: SERVER_DEFAULTS.multicastAddress,
    port: SERVER_DEFAULTS.multicastPort,
    ttl: SERVER_DEFAULTS.ttl,
    formats: [makeFormat(SERVER_DEFAULTS.payloadType, undefined, "payloadType")],
  };
  const addressPick = pick("multicast-address", SERVER_ENV.multicastAddress);
  const mportPick = pick("multicast-port", SERVER_ENV.multicastPort);
  const ttlPick = pick("ttl", SERVER_ENV.ttl);
  const ptPick = pick("payload-type", SERVER_ENV.payloadType);
  const encodingPick = pick("encoding", SERVER_ENV.encoding);
  const sourcePick = pick("source", SERVER_ENV.source);

  let formats = base.formats;
  if (ptPick !== undefined || encodingPick !== undefined) {
    const payloadType = ptPick === undefined
      ? base.formats[0]!.payloadType
      : parseIntegerFlag(ptPick[0], ptPick[1], 0, 127);
    const field = encodingPick?.[1] ?? ptPick?.[1] ?? "payloadType";
    const format = makeFormat(payloadType, encodingPick?.[0], field);
    const fixed = staticFormat(payloadType);
    if (encodingPick !== undefined && fixed !== undefined) {
      // A static payload type already names its encoding (RFC 3551 §6); do not let it lie.
      if (
        fixed.encoding.toUpperCase() !== format.encoding.toUpperCase() ||
        fixed.clockRate !== format.clockRate
      ) {
        throw new ConfigError(
          field,
          `${field}: payload type ${payloadType} is static (${fixed.encoding}/${fixed.clockRate}); ` +
            `use a dynamic payload type (96-127) for ${encodingPick[0]}, e.g. --payload-type 96`,
        );
      }
    }
    formats = [format];
  }
  const candidate = {
    name: base.name,
    description: base.description,
    address: addressPick?.[0] ?? base.address,
    port: mportPick === undefined
      ? base.port
      : parseIntegerFlag(mportPick[0], mportPick[1], 1, 65535),
    ttl: ttlPick === undefined ? base.ttl : parseIntegerFlag(ttlPick[0], ttlPick[1], 0, 255),
    formats: formats.map((f) => ({ ...f })),
    ...(sourcePick !== undefined
      ? { source: sourcePick[0] }
      : base.source !== undefined
      ? { source: base.source }
      : {}),
  };
  let defaultStream: StreamDefinition;
  try {
    defaultStream = validateStream(candidate, "stream");
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    // Name the flag or variable that carried the bad value.
    const origin: Record<string, [string, string] | undefined> = {
      "stream.address": addressPick,
      "stream.source": sourcePick,
      "stream.port": mportPick,
      "stream.ttl": ttlPick,
    };
    const from = origin[error.field]?.[1];
    if (from === undefined) throw error;
    throw new ConfigError(from, error.message.replace(/^stream\.\w+/, from), { cause: error });
  }
  streams = streams.some((s) => s.name === defaultName)
    ? streams.map((s) => (s.name === defaultName ? defaultStream : s))
    : [defaultStream, ...streams];
  defaultName = defaultStream.name;
  new Catalog(streams, { defaultName }); // validates the combination
  const security = parseSecurity(values, env);
  return {
    kind: "run",
    config: {
      host,
      port,
      logFormat: logFormat as LogFormat,
      accessLog: !(values.quiet ?? false),
      streams,
      defaultName,
      ...(configPick === undefined ? {} : { configPath: configPick[0] }),
      ...security,
    },
  };
}

type SecurityConfig = Pick<
  ServerConfig,
  | "token"
  | "protectReads"
  | "tls"
  | "corsOrigin"
  | "rateLimit"
  | "maxConcurrent"
  | "bodyTimeoutS"
  | "maxPerAddress"
  | "maxConnections"
  | "idleTimeoutS"
  | "tokenFromFlag"
>;

function parseSecurity(
  values: {
    token?: string;
    "protect-reads"?: boolean;
    cert?: string;
    key?: string;
    "cors-origin"?: string;
    "rate-limit"?: string;
    "max-concurrent"?: string;
    "body-timeout"?: string;
    "max-per-address"?: string;
    "max-connections"?: string;
    "idle-timeout"?: string;
  },
  env: (name: string) => string | undefined,
): SecurityConfig {
  const token = values.token ?? env(SERVER_ENV.token);
  if (token !== undefined && token !== "" && !/^[A-Za-z0-9._~+/=-]{8,512}$/.test(token)) {
    throw new ConfigError(
      values.token === undefined ? SERVER_ENV.token : "--token",
      `${
        values.token === undefined ? SERVER_ENV.token : "--token"
      }: a token is 8-512 characters of ` +
        "letters, digits and -._~+/=",
    );
  }
  if ((values.cert === undefined) !== (values.key === undefined)) {
    throw new ConfigError(
      values.cert === undefined ? "--cert" : "--key",
      "--cert and --key go together",
    );
  }
  const origin = values["cors-origin"];
  if (origin !== undefined && origin !== "*") {
    let parsed: URL | undefined;
    try {
      parsed = new URL(origin);
    } catch {
      parsed = undefined;
    }
    if (parsed === undefined || parsed.origin !== origin) {
      throw new ConfigError(
        "--cors-origin",
        `--cors-origin: "${origin}" is not an origin like https://app.example or *`,
      );
    }
  }
  const rate = values["rate-limit"];
  let rateLimit: number | undefined;
  if (rate !== undefined) {
    const match = /^([0-9]+(?:\.[0-9]+)?)(?:\/s)?$/.exec(rate.trim());
    rateLimit = match === null ? NaN : Number(match[1]);
    if (!(rateLimit > 0) || rateLimit > 1_000_000) {
      throw new ConfigError(
        "--rate-limit",
        `--rate-limit: expected requests per second like 20 or 20/s, got "${rate}"`,
      );
    }
  }
  const bodyTimeout = values["body-timeout"];
  const bodyTimeoutS = bodyTimeout === undefined ? 10 : Number(bodyTimeout);
  if (!(bodyTimeoutS > 0) || bodyTimeoutS > 3600) {
    throw new ConfigError(
      "--body-timeout",
      `--body-timeout: expected seconds (0-3600), got "${bodyTimeout}"`,
    );
  }
  const idleTimeout = values["idle-timeout"];
  const idleTimeoutS = idleTimeout === undefined ? 30 : Number(idleTimeout);
  if (!(idleTimeoutS > 0) || idleTimeoutS > 3600) {
    throw new ConfigError(
      "--idle-timeout",
      `--idle-timeout: expected seconds (0-3600), got "${idleTimeout}"`,
    );
  }
  return {
    ...(token === undefined || token === "" ? {} : { token }),
    tokenFromFlag: values.token !== undefined && values.token !== "",
    protectReads: values["protect-reads"] ?? false,
    ...(values.cert !== undefined && values.key !== undefined
      ? { tls: { certFile: values.cert, keyFile: values.key } }
      : {}),
    ...(origin === undefined ? {} : { corsOrigin: origin }),
    ...(rateLimit === undefined ? {} : { rateLimit }),
    maxConcurrent: values["max-concurrent"] === undefined
      ? HANDLER_DEFAULTS.maxConcurrent
      : parseIntegerFlag(values["max-concurrent"], "--max-concurrent", 1, 100_000),
    bodyTimeoutS,
    maxPerAddress: values["max-per-address"] === undefined
      ? HANDLER_DEFAULTS.maxPerAddress
      : parseIntegerFlag(values["max-per-address"], "--max-per-address", 1, 100_000),
    maxConnections: values["max-connections"] === undefined
      ? defaultMaxConnections()
      : parseIntegerFlag(values["max-connections"], "--max-connections", 1, 1_000_000),
    idleTimeoutS,
  };
}
