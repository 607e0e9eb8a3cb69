// The server's catalog of multicast streams, and validation of stream definitions from flags,
// environment and config file. Each entry carries the `o=` session id and version (RFC 8866 §5.2).
import { ConfigError } from "../common/errors.ts";
import { checkInteger, checkKeys, checkString, isRecord } from "../common/json_checks.ts";
import { multicastProblem, sourceProblem } from "../net/multicast_address.ts";
import { makeFormat, type PayloadFormat } from "../rtp/payload_format.ts";
import {
  type CatalogEntry,
  checkStreamName,
  checkStreamText,
  MAX_CATEGORY_CHARS,
  MAX_DESCRIPTION_CHARS,
  STREAM_TRANSPORTS,
  type StreamDefinition,
  type StreamTransport,
} from "../sdp/stream.ts";

const STREAM_KEYS = new Set([
  "name",
  "description",
  "category",
  "address",
  "port",
  "ttl",
  "transport",
  "formats",
  "source",
]);
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
  checkStreamText(description, `${field}.description`, MAX_DESCRIPTION_CHARS);
  let category: string | undefined;
  if (raw.category !== undefined) {
    category = checkString(raw.category, `${field}.category`);
    checkStreamText(category, `${field}.category`, MAX_CATEGORY_CHARS);
    if (category.trim() === "") {
      throw new ConfigError(`${field}.category`, `${field}.category: empty (leave it out instead)`);
    }
  }
  const transport = raw.transport === undefined
    ? "rtp"
    : checkTransport(raw.transport, `${field}.transport`);
  const address = checkString(raw.address, `${field}.address`);
  const problem = multicastProblem(address);
  if (problem !== undefined) {
    throw new ConfigError(`${field}.address`, `${field}.address: ${problem}`);
  }
  const port = checkInteger(raw.port, `${field}.port`, 1, 65535);
  const ttl = raw.ttl === undefined ? 1 : checkInteger(raw.ttl, `${field}.ttl`, 0, 255);
  if (transport === "udp" && raw.formats !== undefined) {
    throw new ConfigError(
      `${field}.formats`,
      `${field}.formats: a raw UDP stream (transport "udp") carries MPEG-TS without RTP, so it ` +
        "has no payload formats: leave formats out",
    );
  }
  if (transport === "rtp" && (!Array.isArray(raw.formats) || raw.formats.length === 0)) {
    throw new ConfigError(`${field}.formats`, `${field}.formats: expected a non-empty array`);
  }
  const formats = transport === "udp"
    ? []
    : (raw.formats as unknown[]).map((f, i) => validateFormat(f, `${field}.formats[${i}]`));
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
  return {
    name,
    description,
    address,
    port,
    ttl,
    formats,
    ...(transport === "udp" ? { transport } : {}),
    ...(source === undefined ? {} : { source }),
    ...(category === undefined ? {} : { category }),
  };
}

/** Throws ConfigError naming `field` unless `value` is one of {@link STREAM_TRANSPORTS}. */
export function checkTransport(value: unknown, field: string): StreamTransport {
  if (!(STREAM_TRANSPORTS as readonly unknown[]).includes(value)) {
    throw new ConfigError(
      field,
      `${field}: expected "rtp" (RTP/AVP) or "udp" (MPEG-TS over UDP without RTP), got ${
        JSON.stringify(value)
      }`,
    );
  }
  return value as StreamTransport;
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

/** Where a catalog entry comes from: the configuration, or a SAP announcement (`--sap-listen`). */
export type EntryOrigin = "config" | "sap";

/** A stream heard in a SAP announcement, as the catalog takes it. */
export interface DiscoveredStream {
  readonly stream: StreamDefinition;
  /** Address the announcement came from (its UDP source). */
  readonly announcedBy: string;
}

/** Options of the {@link Catalog} constructor. */
export interface CatalogOptions {
  /** The default stream (answers `POST /offer`); a configured one. Default: the first. */
  readonly defaultName?: string;
  /** Keeps the `o=` version of every stream whose description did not change. */
  readonly previous?: Catalog;
  /** Seconds since the epoch (injected for tests): versions new or changed streams. */
  readonly nowS?: number;
  /**
   * Streams announced by others, after the configured ones. One whose name a configured stream (or
   * an earlier discovered one) has is left out: a discovered stream never replaces another.
   */
  readonly discovered?: readonly DiscoveredStream[];
}

/** Immutable set of streams with one default, answering lookups by name. */
export class Catalog {
  #entries: Map<string, CatalogEntry>;
  #discovered = new Map<string, DiscoveredStream>();
  #defaultName: string;

  /** Builds a catalog of the configured `streams` and, after them, `options.discovered`. */
  constructor(streams: readonly StreamDefinition[], options: CatalogOptions = {}) {
    if (streams.length === 0) throw new ConfigError("streams", "streams: the catalog is empty");
    const nowS = options.nowS ?? Math.floor(Date.now() / 1000);
    this.#entries = new Map();
    const add = (stream: StreamDefinition) => {
      const before = options.previous?.get(stream.name);
      const unchanged = before !== undefined &&
        JSON.stringify(before.stream) === JSON.stringify(stream);
      // An unchanged entry is the same object, so what is cached per entry (answers) stays valid.
      this.#entries.set(
        stream.name,
        unchanged ? before : {
          stream,
          sessionId: stableSessionId(stream.name),
          version: Math.max(nowS, (before?.version ?? 0) + 1),
        },
      );
    };
    for (const stream of streams) add(stream);
    for (const found of options.discovered ?? []) {
      if (this.#entries.has(found.stream.name)) continue;
      add(found.stream);
      this.#discovered.set(found.stream.name, found);
    }
    this.#defaultName = options.defaultName ?? streams[0]!.name;
    if (!this.#entries.has(this.#defaultName) || this.#discovered.has(this.#defaultName)) {
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

  /** All entries: the configured ones in definition order, then the discovered ones. */
  entries(): CatalogEntry[] {
    return [...this.#entries.values()];
  }

  /** The configured entries only (what `--sap` announces). */
  configuredEntries(): CatalogEntry[] {
    return this.entries().filter((e) => !this.#discovered.has(e.stream.name));
  }

  /** Where the entry named `name` comes from (`config` for a name not in the catalog too). */
  originOf(name: string): EntryOrigin {
    return this.#discovered.has(name) ? "sap" : "config";
  }

  /** The announcement a discovered entry came from, or undefined for a configured one. */
  discoveryOf(name: string): DiscoveredStream | undefined {
    return this.#discovered.get(name);
  }
}
