// Client configuration from flags and environment: which server or SDP to ask, which formats to
// offer, where to receive, and when to stop. Exit codes live here so --help and main() agree.
import { checkStreamName } from "../sdp/stream.ts";
import { makeFormat } from "../rtp/payload_format.ts";
import { ConfigError } from "../common/errors.ts";
import { ipVersionOf } from "../net/multicast_address.ts";
import { SOCKET_RECEIVE_BUFFER_BYTES } from "../net/socket_buffer.ts";
import type { PayloadFormat } from "../rtp/payload_format.ts";
import { parseFlags, parseIntegerFlag, parseSecondsFlag } from "../common/flags.ts";
import type { MediaChoice } from "../sdp/receive_target.ts";
import { MAX_MEDIA_SECTIONS } from "../sdp/parse.ts";

/** Default of `--negotiation-timeout`: seconds for one whole attempt (connect, headers, body). */
export const NEGOTIATION_TIMEOUT_S = 10;

/** Client exit codes (documented in --help and README). */
export const CLIENT_EXIT = {
  /** Packets were received (or the run was interrupted by SIGINT/SIGTERM after starting to receive). */
  OK: 0,
  /** Usage or configuration error. */
  USAGE: 2,
  /** Negotiation failed: server unreachable, rejected offer, unusable answer or SDP. */
  NEGOTIATION: 3,
  /** Nothing received before --timeout (or before the run ended). */
  NO_PACKETS: 4,
  /** Interrupted by SIGINT before reception started. */
  INTERRUPTED: 130,
} as const;

/** Formats every offer carries: MPEG-TS (what VLC sends) and H.264. */
export const DEFAULT_OFFER_FORMATS: readonly PayloadFormat[] = [
  { payloadType: 33, encoding: "MP2T", clockRate: 90000 },
  { payloadType: 96, encoding: "H264", clockRate: 90000 },
];

/** Environment variables the client reads. */
export const CLIENT_ENV = {
  server: "GATEWAY_HTTP_URL",
  token: "GATEWAY_TOKEN",
} as const;

/** Default server URL (the original tool's). */
export const DEFAULT_SERVER_URL = "http://127.0.0.1:8080/offer";

/** `--help` text of the client. */
export const CLIENT_USAGE =
  `rtp-multicast-client: receives a multicast RTP stream and shows RFC 3550 statistics.

Usage: rtp-multicast-client [options]

It POSTs an SDP offer to the server, reads the answer (group, port, TTL, formats, source
filter), joins the group and shows loss, jitter, reordering, duplicates and bitrate per SSRC:
a live table on a terminal, JSON lines otherwise (or with --json).

Where to find the stream:
  --server URL          Server offer URL ($GATEWAY_HTTP_URL; default ${DEFAULT_SERVER_URL});
                        a base URL like http://host:8080 gets /offer appended
  --stream NAME         Ask for a named stream: POST to /streams/NAME/offer
  --sdp FILE|URL        Skip negotiation: read any SDP description (e.g. one VLC wrote, or
                        http://host:8080/streams/NAME.sdp)
  --payload-type N      Also offer this payload type (with --encoding for dynamic types)
  --encoding NAME/RATE  Encoding of --payload-type, e.g. H264/90000
  --retries N           Retries when the server is unreachable, answers 5xx or its answer
                        breaks off (default 5)
  --negotiation-timeout SECONDS
                        Time for one attempt: connect, headers and the whole answer (default 10)
  --allow-control-groups  Join an answer's group even in 224.0.0.0/24 or a link-scope control
                        group such as ff02::1 (refused by default: exit 3)
  --token TOKEN         Bearer token for a protected server; visible in ps, so prefer
                        $GATEWAY_TOKEN
  --ca FILE             Extra CA certificate (PEM) to trust for an https server
  --media video|audio|N Which m-line of the description to receive: the first of that media
                        type, or the N-th (1-based). Default: the first RTP m-line with a port
                        and a multicast c=; the client logs which one it took

Reception:
  --interface ADDRESS   Local interface to join on: IPv4 address, or for IPv6 an interface
                        name or index (default: any, the kernel's choice)
  --source ADDRESS      Accept packets only from this sender (adds to an answer's source filter)
  --timeout SECONDS     Give up when nothing arrives for this long at the start (default 10)
  --stall-after SECONDS Report "stalled" when packets stop for this long (default 2)
  --duration SECONDS    Stop after this long
  --packets N           Stop after N packets
  --json                JSON lines on stdout even on a terminal
  --interval SECONDS    Statistics interval (default 1)
  --receive-buffer BYTES  Kernel socket receive buffer to ask for (default ${SOCKET_RECEIVE_BUFFER_BYTES}, capped by
                        net.core.rmem_max; 0 keeps the kernel default). Needs --allow-ffi, which
                        the client's permission set grants: Deno has no API for SO_RCVBUF
  -h, --help            Show this help and exit
  -V, --version         Show the version and exit

Output (terminal): a table redrawn in place, fitted to the terminal's width, one row per recent
source with its state (ok, LOSS, STALLED, ended); loss and stalls in red unless NO_COLOR is set.
Log lines stay above it. At exit the last table shows how the run ended.

Output (JSON lines): one {"type":"stats",...} object per source per interval with the figures of
that interval, and at exit one {"type":"summary",...} per source with the run's totals (rates
averaged over the time the source was sending; "discarded": packets RFC 3550 A.1 did not count).

Exit codes: 0 packets received (or SIGINT/SIGTERM during reception), 2 usage or configuration
error, 3 negotiation failed, 4 nothing received before the timeout, 130 interrupted before
reception started.
`;

/** Where the client gets the stream description from. */
export type StreamLocator =
  | { readonly kind: "offer"; readonly url: string }
  | { readonly kind: "sdp"; readonly location: string };

/** Everything the client needs to run. */
export interface ClientConfig {
  readonly locator: StreamLocator;
  readonly offerFormats: readonly PayloadFormat[];
  readonly retries: number;
  /** Seconds for one negotiation attempt. */
  readonly negotiationTimeoutS: number;
  readonly allowControlGroups: boolean;
  readonly token?: string;
  /** The token came from `--token` (visible in `ps`), not from GATEWAY_TOKEN. */
  readonly tokenFromFlag: boolean;
  readonly caFile?: string;
  /** The m-line to receive (`--media`); undefined: the first one that can be received. */
  readonly media?: MediaChoice;
  readonly interface?: string;
  readonly sources: readonly string[];
  readonly timeoutS: number;
  readonly stallAfterS: number;
  readonly intervalS: number;
  readonly durationS?: number;
  readonly packets?: number;
  readonly json: boolean;
  /** SO_RCVBUF to ask for; 0 keeps the kernel default. */
  readonly receiveBufferBytes: number;
}

/** Result of parsing the command line. */
export type ClientCommand =
  | { readonly kind: "help" }
  | { readonly kind: "version" }
  | { readonly kind: "run"; readonly config: ClientConfig };

/** The offer URL for a server URL and optional stream name. */
export function offerUrl(server: string, stream: string | undefined, field: string): string {
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw new ConfigError(field, `${field}: "${server}" is not a URL (e.g. http://127.0.0.1:8080)`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ConfigError(field, `${field}: "${server}" must be an http:// or https:// URL`);
  }
  let base = url.pathname.replace(/\/+$/, "");
  if (base.endsWith("/offer")) base = base.slice(0, -"/offer".length);
  base = base.replace(/\/streams\/[^/]+$/, "");
  url.pathname = stream === undefined
    ? `${base}/offer`
    : `${base}/streams/${encodeURIComponent(stream)}/offer`;
  return url.toString();
}

/** Parses `--media`: a media type (`video`, `audio`, ...) or a 1-based m-line number. */
export function parseMediaChoice(text: string): MediaChoice {
  const trimmed = text.trim();
  if (/^[0-9]+$/.test(trimmed)) {
    return { kind: "index", index: parseIntegerFlag(trimmed, "--media", 1, MAX_MEDIA_SECTIONS) };
  }
  // RFC 8866 §5.14: <media> is a token; the registered ones are lower-case words.
  if (/^[a-z][a-z0-9-]*$/i.test(trimmed)) return { kind: "type", type: trimmed.toLowerCase() };
  throw new ConfigError(
    "--media",
    `--media: expected a media type such as video or audio, or an m-line number, got "${text}"`,
  );
}

/** Parses the client's command line against the (injected) environment. Throws ConfigError. */
export function parseClientArgs(
  args: string[],
  env: (name: string) => string | undefined,
): ClientCommand {
  const values = parseFlags(args, {
    server: { type: "string" },
    stream: { type: "string" },
    sdp: { type: "string" },
    "payload-type": { type: "string" },
    encoding: { type: "string" },
    retries: { type: "string" },
    "negotiation-timeout": { type: "string" },
    "allow-control-groups": { type: "boolean" },
    token: { type: "string" },
    ca: { type: "string" },
    media: { type: "string" },
    interface: { type: "string" },
    source: { type: "string" },
    timeout: { type: "string" },
    "stall-after": { type: "string" },
    duration: { type: "string" },
    packets: { type: "string" },
    json: { type: "boolean" },
    interval: { type: "string" },
    "receive-buffer": { type: "string" },
    help: { type: "boolean", short: "h" },
    version: { type: "boolean", short: "V" },
  });
  if (values.help) return { kind: "help" };
  if (values.version) return { kind: "version" };

  if (values.stream !== undefined) checkStreamName(values.stream, "--stream");
  let locator: StreamLocator;
  if (values.sdp !== undefined) {
    if (values.stream !== undefined || values.server !== undefined) {
      throw new ConfigError(
        "--sdp",
        "--sdp reads a description directly; drop --server and --stream",
      );
    }
    if (values.sdp.trim() === "") throw new ConfigError("--sdp", "--sdp: expected a file or URL");
    locator = { kind: "sdp", location: values.sdp };
  } else {
    const fromEnv = env(CLIENT_ENV.server);
    const server = values.server ?? (fromEnv === "" ? undefined : fromEnv) ?? DEFAULT_SERVER_URL;
    const field = values.server !== undefined
      ? "--server"
      : fromEnv
      ? CLIENT_ENV.server
      : "--server";
    locator = { kind: "offer", url: offerUrl(server, values.stream, field) };
  }

  const offerFormats = [...DEFAULT_OFFER_FORMATS];
  if (values["payload-type"] !== undefined || values.encoding !== undefined) {
    if (values["payload-type"] === undefined) {
      throw new ConfigError("--encoding", "--encoding needs --payload-type");
    }
    const payloadType = parseIntegerFlag(values["payload-type"], "--payload-type", 0, 127);
    const format = makeFormat(
      payloadType,
      values.encoding,
      values.encoding === undefined ? "--payload-type" : "--encoding",
    );
    const index = offerFormats.findIndex((f) => f.payloadType === payloadType);
    if (index >= 0) offerFormats.splice(index, 1);
    offerFormats.unshift(format);
  }

  const sources: string[] = [];
  if (values.source !== undefined) {
    if (ipVersionOf(values.source) === undefined) {
      throw new ConfigError("--source", `--source: "${values.source}" is not an IP address`);
    }
    sources.push(values.source);
  }
  if (values.interface !== undefined && values.interface.trim() === "") {
    throw new ConfigError("--interface", "--interface: expected an address, name or index");
  }
  const token = values.token ?? env(CLIENT_ENV.token);
  const config: ClientConfig = {
    locator,
    offerFormats,
    retries: values.retries === undefined
      ? 5
      : parseIntegerFlag(values.retries, "--retries", 0, 100),
    negotiationTimeoutS: values["negotiation-timeout"] === undefined
      ? NEGOTIATION_TIMEOUT_S
      : parseSecondsFlag(values["negotiation-timeout"], "--negotiation-timeout"),
    allowControlGroups: values["allow-control-groups"] ?? false,
    ...(token === undefined || token === "" ? {} : { token }),
    tokenFromFlag: values.token !== undefined && values.token !== "",
    ...(values.ca === undefined ? {} : { caFile: values.ca }),
    ...(values.media === undefined ? {} : { media: parseMediaChoice(values.media) }),
    ...(values.interface === undefined ? {} : { interface: values.interface }),
    sources,
    timeoutS: values.timeout === undefined ? 10 : parseSecondsFlag(values.timeout, "--timeout"),
    stallAfterS: values["stall-after"] === undefined
      ? 2
      : parseSecondsFlag(values["stall-after"], "--stall-after"),
    intervalS: values.interval === undefined ? 1 : parseSecondsFlag(values.interval, "--interval"),
    ...(values.duration === undefined
      ? {}
      : { durationS: parseSecondsFlag(values.duration, "--duration") }),
    ...(values.packets === undefined
      ? {}
      : { packets: parseIntegerFlag(values.packets, "--packets", 1, Number.MAX_SAFE_INTEGER) }),
    json: values.json ?? false,
    receiveBufferBytes: values["receive-buffer"] === undefined
      ? SOCKET_RECEIVE_BUFFER_BYTES
      : parseIntegerFlag(values["receive-buffer"], "--receive-buffer", 0, 1024 * 1024 * 1024),
  };
  return { kind: "run", config };
}
