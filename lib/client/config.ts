// Client configuration from flags and environment: which server, streams, SDP or SAP sessions to
// ask, which formats to offer, where and how to receive, the TR 101 290 limits, monitoring, the
// transport stream output, and when to stop; or `--discover` (SAP, RFC 2974). The --help text and
// exit codes are in usage.ts.
import { makeFormat } from "../rtp/payload_format.ts";
import { ConfigError } from "../common/errors.ts";
import { ipVersionOf } from "../net/multicast_address.ts";
import { SOCKET_RECEIVE_BUFFER_BYTES } from "../net/socket_buffer.ts";
import type { PayloadFormat } from "../rtp/payload_format.ts";
import { parseFlags, parseIntegerFlag, parseSecondsFlag } from "../common/flags.ts";
import type { MediaChoice } from "../sdp/receive_target.ts";
import { MAX_MEDIA_SECTIONS } from "../sdp/parse.ts";
import { RECEIVER_PREFERENCES, type ReceiverPreference } from "../net/datagram_receiver.ts";
import { type ListenAddress, parseListenAddress } from "../common/metrics_endpoint.ts";
import { RECEIVER_ID_PATTERN } from "../common/receiver_report.ts";
import type { Tr101290Limits } from "../ts/tr101290.ts";
import { CATALOG_REFRESH_S } from "./catalog_follower.ts";
import { MEMBERSHIP_TIMING } from "./membership_schedule.ts";
import { REPORTER_DEFAULTS } from "./reporter.ts";
import { CLIENT_ENV, offerUrl, parseLocators, type StreamLocator } from "./stream_locator.ts";

/** Default of `--negotiation-timeout`: seconds for one whole attempt (connect, headers, body). */
export const NEGOTIATION_TIMEOUT_S = 10;

/** Formats every offer carries: MPEG-TS (what VLC sends) and H.264. */
export const DEFAULT_OFFER_FORMATS: readonly PayloadFormat[] = [
  { payloadType: 33, encoding: "MP2T", clockRate: 90000 },
  { payloadType: 96, encoding: "H264", clockRate: 90000 },
];

/** The flags of the TR 101 290 limits the analyser takes, by its option name. */
export const TS_LIMIT_FLAGS = {
  pcrIntervalMs: "--pcr-interval-ms",
  patIntervalMs: "--pat-interval-ms",
  pmtIntervalMs: "--pmt-interval-ms",
} as const satisfies Partial<Record<keyof Tr101290Limits, string>>;

/** Everything the client needs to run. */
export interface ClientConfig {
  /** The first (or only) stream to receive: `locators[0]`. */
  readonly locator: StreamLocator;
  /** Every stream named (--stream, --sdp; or the server's default stream); empty with --all. */
  readonly locators: readonly StreamLocator[];
  /** The server URL as given (--server, $GATEWAY_HTTP_URL or the default); undefined with --sdp. */
  readonly server?: string;
  /** `--all`: follow the server's catalog. */
  readonly all: boolean;
  /** `--refresh` seconds (with --all). */
  readonly refreshS: number;
  /** `--receiver`. */
  readonly receiver: ReceiverPreference;
  /** `--rejoin-every` seconds; 0: off. */
  readonly rejoinEveryS: number;
  /** TR 101 290 limits given by flag. */
  readonly tsLimits: Partial<Tr101290Limits>;
  /** `--metrics HOST:PORT`. */
  readonly metrics?: ListenAddress;
  /** `--report`. */
  readonly report: boolean;
  /** `--report-every` seconds. */
  readonly reportEveryS: number;
  /** `--receiver-id`; undefined: a random UUID. */
  readonly receiverId?: string;
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
  /** `--output FILE` (or `-`: stdout): where the transport stream is written. */
  readonly output?: string;
  /** `--pids`: show the PID table under the terminal table from the start. */
  readonly pids: boolean;
  /** MPEG-TS analysis (TR 101 290); false with `--no-ts`. */
  readonly analyseTs: boolean;
}

/** `--discover`: listen to SAP announcements and list the sessions. */
export interface DiscoverConfig {
  readonly json: boolean;
  readonly intervalS: number;
  readonly durationS?: number;
  /** `--interface`: IPv4 groups are joined on an IPv4 address, IPv6 ones on a name, index or address. */
  readonly interface?: string;
}

/** Result of parsing the command line. */
export type ClientCommand =
  | { readonly kind: "help" }
  | { readonly kind: "version" }
  | { readonly kind: "run"; readonly config: ClientConfig }
  | { readonly kind: "discover"; readonly config: DiscoverConfig };

/** Flags `--discover` cannot be combined with (they are about receiving streams). */
const NOT_WITH_DISCOVER = [
  "server",
  "stream",
  "all",
  "sdp",
  "sap",
  "output",
  "packets",
  "report",
  "metrics",
  "pids",
  "source",
  "media",
] as const;

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
    stream: { type: "string", multiple: true },
    all: { type: "boolean" },
    refresh: { type: "string" },
    sdp: { type: "string", multiple: true },
    sap: { type: "string", multiple: true },
    discover: { type: "boolean" },
    output: { type: "string" },
    pids: { type: "boolean" },
    "no-ts": { type: "boolean" },
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
    receiver: { type: "string" },
    "rejoin-every": { type: "string" },
    "pcr-interval-ms": { type: "string" },
    "pat-interval-ms": { type: "string" },
    "pmt-interval-ms": { type: "string" },
    metrics: { type: "string" },
    report: { type: "boolean" },
    "report-every": { type: "string" },
    "receiver-id": { type: "string" },
    help: { type: "boolean", short: "h" },
    version: { type: "boolean", short: "V" },
  });
  if (values.help) return { kind: "help" };
  if (values.version) return { kind: "version" };
  if (values.discover) return { kind: "discover", config: parseDiscover(values) };

  const all = values.all ?? false;
  const sdps = values.sdp ?? [];
  const { locators, server } = parseLocators(values, env);
  if (values.refresh !== undefined && !all) {
    throw new ConfigError("--refresh", "--refresh follows the catalog: it needs --all");
  }
  if (values.output !== undefined) {
    if (values.output.trim() === "") {
      throw new ConfigError("--output", "--output: expected a file name, or - for stdout");
    }
    if (all || locators.length !== 1) {
      throw new ConfigError(
        "--output",
        "--output writes the transport stream of one stream: name exactly one (--stream, --sdp " +
          "or --sap, or the server's default stream), not --all",
      );
    }
  }
  const report = values.report ?? false;
  if (
    report && server === undefined &&
    (sdps.length === 0 || !sdps.every((s) => /^https?:\/\//i.test(s)))
  ) {
    throw new ConfigError(
      "--report",
      "--report sends to the server the stream came from: give --server/--stream/--all or an " +
        "--sdp http(s) URL",
    );
  }
  if (values["report-every"] !== undefined && !report) {
    throw new ConfigError("--report-every", "--report-every needs --report");
  }
  const receiverId = values["receiver-id"];
  if (receiverId !== undefined && !RECEIVER_ID_PATTERN.test(receiverId)) {
    throw new ConfigError(
      "--receiver-id",
      `--receiver-id: expected 1-64 of letters, digits and . _ ~ : -, got "${receiverId}"`,
    );
  }
  const receiver = values.receiver ?? "auto";
  if (!(RECEIVER_PREFERENCES as readonly string[]).includes(receiver)) {
    throw new ConfigError(
      "--receiver",
      `--receiver: expected ${RECEIVER_PREFERENCES.join(", ")}, got "${receiver}"`,
    );
  }
  const tsLimits: Partial<Record<keyof typeof TS_LIMIT_FLAGS, number>> = {};
  for (
    const [key, flag] of Object.entries(TS_LIMIT_FLAGS) as [keyof typeof TS_LIMIT_FLAGS, string][]
  ) {
    const text = (values as Record<string, unknown>)[flag.slice(2)];
    if (typeof text === "string") tsLimits[key] = parseIntegerFlag(text, flag, 1, 3_600_000);
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
    locator: locators[0] ?? { kind: "offer", url: offerUrl(server!, undefined, "--server") },
    locators,
    ...(server === undefined ? {} : { server }),
    all,
    refreshS: values.refresh === undefined
      ? CATALOG_REFRESH_S
      : parseSecondsFlag(values.refresh, "--refresh"),
    receiver: receiver as ReceiverPreference,
    rejoinEveryS: values["rejoin-every"] === undefined
      ? MEMBERSHIP_TIMING.REFRESH_EVERY_S
      : parseRejoinEvery(values["rejoin-every"]),
    tsLimits,
    ...(values.metrics === undefined ? {} : { metrics: parseListenAddress(values.metrics) }),
    report,
    reportEveryS: values["report-every"] === undefined
      ? REPORTER_DEFAULTS.EVERY_S
      : parseSecondsFlag(values["report-every"], "--report-every"),
    ...(receiverId === undefined ? {} : { receiverId }),
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
    ...(values.output === undefined ? {} : { output: values.output }),
    pids: values.pids ?? false,
    analyseTs: !(values["no-ts"] ?? false),
  };
  return { kind: "run", config };
}

/** The configuration of `--discover`; throws ConfigError for a flag it cannot take. */
function parseDiscover(values: Record<string, unknown>): DiscoverConfig {
  for (const name of NOT_WITH_DISCOVER) {
    if (values[name] !== undefined && values[name] !== false) {
      throw new ConfigError(
        `--${name}`,
        `--discover lists the SAP sessions it hears; drop --${name} (join one with --sap NAME)`,
      );
    }
  }
  const iface = values.interface as string | undefined;
  if (iface !== undefined && iface.trim() === "") {
    throw new ConfigError("--interface", "--interface: expected an address, name or index");
  }
  const interval = values.interval as string | undefined;
  const duration = values.duration as string | undefined;
  return {
    json: values.json === true,
    intervalS: interval === undefined ? 1 : parseSecondsFlag(interval, "--interval"),
    ...(duration === undefined ? {} : { durationS: parseSecondsFlag(duration, "--duration") }),
    ...(iface === undefined ? {} : { interface: iface }),
  };
}

/** `--rejoin-every`: seconds > 0, or 0 to turn the refresh off. */
function parseRejoinEvery(text: string): number {
  if (/^\s*0+(\.0*)?\s*$/.test(text)) return 0;
  return parseSecondsFlag(text, "--rejoin-every");
}
