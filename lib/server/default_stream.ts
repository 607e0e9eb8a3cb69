// The server's default stream: the config file's stream of that name, or the built-in VLC set-up
// (239.0.0.1:5004, PT 33 MP2T/90000, RFC 3551 §6), with the flags and variables that describe a
// stream applied on top; each bad value is reported at its origin (flag, variable or file field).
import { multicastProblem, sourceProblem } from "../net/multicast_address.ts";
import { makeFormat, type PayloadFormat, staticFormat } from "../rtp/payload_format.ts";
import { checkStreamName, type StreamDefinition, transportOf } from "../sdp/stream.ts";
import { checkTransport } from "./catalog.ts";
import {
  byDefault,
  fromFile,
  integerSetting,
  invalidAt,
  originField,
  type Sourced,
} from "./setting_origin.ts";

/** The built-in default stream: what `vlc FILE --sout '#rtp{dst=239.0.0.1,port=5004,mux=ts}'` sends. */
export const DEFAULT_STREAM = {
  name: "default",
  multicastAddress: "239.0.0.1",
  multicastPort: 5004,
  ttl: 1,
  payloadType: 33,
} as const;

/** The flags (or variables) that describe the default stream, as given, with their origins. */
export interface StreamOverrides {
  readonly name?: Sourced<string>;
  readonly address?: Sourced<string>;
  readonly port?: Sourced<string>;
  readonly ttl?: Sourced<string>;
  readonly payloadType?: Sourced<string>;
  readonly encoding?: Sourced<string>;
  readonly source?: Sourced<string>;
  /** `rtp` or `udp` (raw MPEG-TS over UDP). */
  readonly transport?: Sourced<string>;
}

/** A config file's catalog (see loadCatalogFile in ./config.ts). */
export interface CatalogFile {
  readonly path: string;
  readonly streams: readonly StreamDefinition[];
  readonly defaultName?: string;
}

/**
 * The catalog's streams and the name of its default stream: `overrides` applied to the file's
 * stream named by --name (else the file's defaultStream, else its first stream) or, without a
 * file, to the built-in stream. Throws ConfigError naming the origin of the bad value.
 */
export function resolveCatalog(
  overrides: StreamOverrides,
  file: CatalogFile | undefined,
): { streams: StreamDefinition[]; defaultName: string } {
  const { name } = overrides;
  if (name !== undefined) checkStreamName(name.value, originField(name.origin));
  const streams = file?.streams ?? [];
  const defaultName = name?.value ?? file?.defaultName ?? streams[0]?.name ?? DEFAULT_STREAM.name;
  const index = streams.findIndex((s) => s.name === defaultName);
  if (file !== undefined && index < 0) {
    throw invalidAt(
      (name ?? byDefault(defaultName, "name")).origin,
      `no stream named "${defaultName}" in ${file.path}`,
    );
  }
  const base: StreamDefinition = streams[index] ?? {
    name: defaultName,
    description: "",
    address: DEFAULT_STREAM.multicastAddress,
    port: DEFAULT_STREAM.multicastPort,
    ttl: DEFAULT_STREAM.ttl,
    formats: [makeFormat(DEFAULT_STREAM.payloadType, undefined, "payloadType")],
  };
  /** A value of the base stream, with where it came from. */
  const ofBase = <T>(value: T, key: string): Sourced<T> =>
    file !== undefined && index >= 0
      ? fromFile(value, file.path, `streams[${index}].${key}`)
      : byDefault(value, key);

  const transport = overrides.transport === undefined
    ? transportOf(base)
    : checkTransport(overrides.transport.value, originField(overrides.transport.origin));
  const formats = transport === "udp" ? noFormats(overrides) : overrideFormats(
    base.formats.length > 0
      ? base.formats
      : [makeFormat(DEFAULT_STREAM.payloadType, undefined, "payloadType")],
    overrides.payloadType,
    overrides.encoding,
  );
  const port = integerSetting(overrides.port ?? ofBase(base.port, "port"), 1, 65535);
  const ttl = integerSetting(overrides.ttl ?? ofBase(base.ttl, "ttl"), 0, 255);
  const address = overrides.address ?? ofBase(base.address, "address");
  const problem = multicastProblem(address.value);
  if (problem !== undefined) throw invalidAt(address.origin, problem);
  const source = overrides.source ??
    (base.source === undefined ? undefined : ofBase(base.source, "source"));
  if (source !== undefined) {
    const wrong = sourceProblem(source.value, address.value);
    if (wrong !== undefined) throw invalidAt(source.origin, wrong);
  }
  const stream: StreamDefinition = {
    name: base.name,
    description: base.description,
    address: address.value,
    port,
    ttl,
    formats,
    ...(transport === "udp" ? { transport } : {}),
    ...(source === undefined ? {} : { source: source.value }),
    ...(base.category === undefined ? {} : { category: base.category }),
  };
  return {
    streams: file === undefined ? [stream] : streams.map((s, i) => (i === index ? stream : s)),
    defaultName: stream.name,
  };
}

/** The formats of a raw-UDP stream: none; a --payload-type or --encoding given is refused. */
function noFormats(overrides: StreamOverrides): readonly PayloadFormat[] {
  const given = overrides.payloadType ?? overrides.encoding;
  if (given !== undefined) {
    throw invalidAt(
      given.origin,
      "a raw UDP stream (transport udp) carries MPEG-TS without RTP: it has no payload type",
    );
  }
  return [];
}

/**
 * The stream's formats: `base`, or the one format that --payload-type and --encoding (or their
 * variables) describe. A static payload type (RFC 3551 §6) already names its encoding; an
 * --encoding that contradicts it is refused rather than announced.
 */
function overrideFormats(
  base: readonly PayloadFormat[],
  payloadTypeText: Sourced<string> | undefined,
  encoding: Sourced<string> | undefined,
): readonly PayloadFormat[] {
  if (payloadTypeText === undefined && encoding === undefined) return base;
  const payloadType = payloadTypeText === undefined
    ? base[0]!.payloadType
    : integerSetting(payloadTypeText, 0, 127);
  const origin = (encoding ?? payloadTypeText)!.origin;
  const format = makeFormat(payloadType, encoding?.value, originField(origin));
  const fixed = staticFormat(payloadType);
  if (
    encoding !== undefined && fixed !== undefined &&
    (fixed.encoding.toUpperCase() !== format.encoding.toUpperCase() ||
      fixed.clockRate !== format.clockRate)
  ) {
    throw invalidAt(
      origin,
      `payload type ${payloadType} is static (${fixed.encoding}/${fixed.clockRate}); ` +
        `use a dynamic payload type (96-127) for ${encoding.value}, e.g. --payload-type 96`,
    );
  }
  return [format];
}
