// The server's catalog of multicast streams, and validation of stream definitions from flags,
// environment and config file. Each entry carries the `o=` session id and version (RFC 8866 §5.2).
import { ConfigError } from "../common/errors.ts";
import { checkInteger, checkKeys, checkString, isRecord } from "../common/json_checks.ts";
import { multicastProblem, sourceProblem } from "../net/multicast_address.ts";
import { makeFormat, type PayloadFormat } from "../rtp/payload_format.ts";
import { type CatalogEntry, checkStreamName, type StreamDefinition } from "../sdp/stream.ts";

const STREAM_KEYS = new Set(["name", "description", "address", "port", "ttl", "formats", "source"]);
const FORMAT_KEYS = new Set(["payloadType", "encoding", "clockRate", "channels"]);

function validateFormat(raw: unknown, field: string): PayloadFormat {
  if (!isRecord(raw)) throw new ConfigError(field, `${field}: expected an object`);
  checkKeys(raw, FORMAT_KEYS, field);
  const payloadType = checkInteger(raw.payloadType, `${field}.payloadType`, 0, 127);
  if (raw.encoding === undefined) {
    if (raw.clockRate !== undefined || raw.channels !== undefined) {
      throw new ConfigError(`${field}.encoding`, `${field}.encoding: required with clockRate`);
    }
    return makeFormat(payloadType, undefined, `${field}.payloadType`);
  }
  const encoding = checkString(raw.encoding, `${field}.encoding`);
  let text = encoding;
  if (!encoding.includes("/")) {
    const clockRate = checkInteger(raw.clockRate, `${field}.clockRate`, 1, 10_000_000);
    text = `${encoding}/${clockRate}`;
    if (raw.channels !== undefined) {
      text += `/${checkInteger(raw.channels, `${field}.channels`, 1, 64)}`;
    }
  } else if (raw.clockRate !== undefined || raw.channels !== undefined) {
    throw new ConfigError(
      `${field}.clockRate`,
      `${field}: give the clock rate either in "encoding" (NAME/RATE) or in "clockRate", not both`,
    );
  }
  return makeFormat(payloadType, text, `${field}.encoding`);
}

/**
 * Validates one stream definition (from a config file or assembled from flags) and returns it
 * normalised. Throws ConfigError whose `field` is the JSON path of the bad value.
 */
export function validateStream(raw: unknown, field: string): StreamDefinition {
  if (!isRecord(raw)) throw new ConfigError(field, `${field}: expected an object`);
  checkKeys(raw, STREAM_KEYS, field);
  const name = checkString(raw.name, `${field}.name`);
  checkStreamName(name, `${field}.name`);
  const description = raw.description === undefined
    ? ""
    : checkString(raw.description, `${field}.description`);
  const address = checkString(raw.address, `${field}.address`);
  const problem = multicastProblem(address);
  if (problem !== undefined) {
    throw new ConfigError(`${field}.address`, `${field}.address: ${problem}`);
  }
  const port = checkInteger(raw.port, `${field}.port`, 1, 65535);
  const ttl = raw.ttl === undefined ? 1 : checkInteger(raw.ttl, `${field}.ttl`, 0, 255);
  if (!Array.isArray(raw.formats) || raw.formats.length === 0) {
    throw new ConfigError(`${field}.formats`, `${field}.formats: expected a non-empty array`);
  }
  const formats = raw.formats.map((f, i) => validateFormat(f, `${field}.formats[${i}]`));
  const seen = new Set<number>();
  for (const [i, format] of formats.entries()) {
    if (seen.has(format.payloadType)) {
      throw new ConfigError(
        `${field}.formats[${i}].payloadType`,
        `${field}.formats[${i}].payloadType: payload type ${format.payloadType} is listed twice`,
      );
    }
    seen.add(format.payloadType);
  }
  let source: string | undefined;
  if (raw.source !== undefined) {
    source = checkString(raw.source, `${field}.source`);
    const problem = sourceProblem(source, address);
    if (problem !== undefined) {
      throw new ConfigError(`${field}.source`, `${field}.source: ${problem}`);
    }
  }
  const stream: StreamDefinition = { name, description, address, port, ttl, formats };
  return source === undefined ? stream : { ...stream, source };
}

/** Validates a list of streams; names must be unique. Throws ConfigError naming the field. */
export function validateStreams(raw: unknown, field = "streams"): StreamDefinition[] {
  if (!Array.isArray(raw)) throw new ConfigError(field, `${field}: expected an array of streams`);
  const streams = raw.map((s, i) => validateStream(s, `${field}[${i}]`));
  const names = new Set<string>();
  for (const [i, stream] of streams.entries()) {
    if (names.has(stream.name)) {
      throw new ConfigError(
        `${field}[${i}].name`,
        `${field}[${i}].name: duplicate stream name "${stream.name}"`,
      );
    }
    names.add(stream.name);
  }
  return streams;
}

/** FNV-1a 32-bit hash of a text, as a decimal string: a stable `o=` session id for a stream name. */
function stableSessionId(name: string): string {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(name)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return String(hash);
}

/** Immutable set of streams with one default, answering lookups by name. */
export class Catalog {
  #entries: Map<string, CatalogEntry>;
  #defaultName: string;

  /**
   * Builds a catalog. `previous` keeps the `o=` version of every stream whose description did not change;
   * `nowS` (seconds since the epoch, injected for tests) versions new or changed ones.
   */
  constructor(
    streams: readonly StreamDefinition[],
    options: { defaultName?: string; previous?: Catalog; nowS?: number } = {},
  ) {
    if (streams.length === 0) throw new ConfigError("streams", "streams: the catalog is empty");
    const nowS = options.nowS ?? Math.floor(Date.now() / 1000);
    this.#entries = new Map();
    for (const stream of streams) {
      const before = options.previous?.get(stream.name);
      const unchanged = before !== undefined &&
        JSON.stringify(before.stream) === JSON.stringify(stream);
      this.#entries.set(stream.name, {
        stream,
        sessionId: stableSessionId(stream.name),
        version: unchanged ? before.version : Math.max(nowS, (before?.version ?? 0) + 1),
      });
    }
    this.#defaultName = options.defaultName ?? streams[0]!.name;
    if (!this.#entries.has(this.#defaultName)) {
      throw new ConfigError(
        "defaultStream",
        `defaultStream: no stream named "${this.#defaultName}" in the catalog`,
      );
    }
  }

  /** The entry named `name`, or `undefined`. */
  get(name: string): CatalogEntry | undefined {
    return this.#entries.get(name);
  }

  /** The default stream's entry (answers `POST /offer`). */
  get defaultEntry(): CatalogEntry {
    return this.#entries.get(this.#defaultName)!;
  }

  /** All entries in definition order. */
  entries(): CatalogEntry[] {
    return [...this.#entries.values()];
  }
}
