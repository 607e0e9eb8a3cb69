// The server's catalog as it changes: the configured streams (replaced on SIGHUP) and the sessions
// others announce with SAP (RFC 2974, `--sap-listen`), rebuilt into one immutable Catalog on every
// change; a discovered stream never replaces a configured one, and goes when its session is forgotten.
import { ConfigError } from "../common/errors.ts";
import type { DirectorySession } from "../sap/directory.ts";
import { streamOfSession } from "../sap/session.ts";
import { formatEncoding } from "../rtp/payload_format.ts";
import type { StreamDefinition } from "../sdp/stream.ts";
import { Catalog, type DiscoveredStream, validateStream } from "./catalog.ts";

/** What one {@link LiveCatalog.discover} changed, for the log. */
export interface DiscoveryChange {
  /** Streams that joined the catalog. */
  readonly added: readonly DiscoveredStream[];
  /** Streams whose announcement changed (group, port, formats, description...). */
  readonly changed: readonly DiscoveredStream[];
  /** Names of streams that left it (deleted or forgotten sessions). */
  readonly removed: readonly string[];
  /** Sessions that cannot be catalog streams, first time seen: session key and why. */
  readonly refused: readonly { readonly key: string; readonly problem: string }[];
  /**
   * Sessions left out because a configured (or an earlier discovered) stream has the name; `same`
   * when the session describes that very stream (group and port), e.g. the server's own
   * announcement heard back.
   */
  readonly shadowed: readonly {
    readonly key: string;
    readonly name: string;
    readonly same: boolean;
  }[];
}

/** Options of {@link LiveCatalog}. */
export interface LiveCatalogOptions {
  readonly defaultName?: string;
  /** Seconds since the epoch (injected for tests). */
  readonly nowS?: () => number;
}

/** A stream definition as a config file would give it, for {@link validateStream}. */
function asConfigEntry(stream: StreamDefinition): Record<string, unknown> {
  const { formats, ...rest } = stream;
  return formats.length === 0 ? rest : {
    ...rest,
    formats: formats.map((f) => ({ payloadType: f.payloadType, encoding: formatEncoding(f) })),
  };
}

/** The configured and discovered streams, and the Catalog made of them. */
export class LiveCatalog {
  #configured: readonly StreamDefinition[];
  #defaultName: string | undefined;
  #discovered: readonly DiscoveredStream[] = [];
  #current: Catalog;
  readonly #nowS: () => number;
  /** Session keys already reported as refused or shadowed (so each is logged once). */
  #reported = new Set<string>();

  /** Starts with the configured `streams`; throws ConfigError like the Catalog constructor. */
  constructor(streams: readonly StreamDefinition[], options: LiveCatalogOptions = {}) {
    this.#configured = streams;
    this.#defaultName = options.defaultName;
    this.#nowS = options.nowS ?? (() => Math.floor(Date.now() / 1000));
    this.#current = this.#build();
  }

  /** The catalog now. */
  get current(): Catalog {
    return this.#current;
  }

  #build(): Catalog {
    return new Catalog(this.#configured, {
      ...(this.#defaultName === undefined ? {} : { defaultName: this.#defaultName }),
      ...(this.#current === undefined ? {} : { previous: this.#current }),
      discovered: this.#discovered,
      nowS: this.#nowS(),
    });
  }

  /**
   * Replaces the configured streams (a reload); discovered ones stay unless a configured stream now
   * has their name. Throws ConfigError (and keeps the current catalog) when they do not make one.
   */
  configure(streams: readonly StreamDefinition[], defaultName?: string): Catalog {
    const before = { configured: this.#configured, defaultName: this.#defaultName };
    this.#configured = streams;
    this.#defaultName = defaultName;
    try {
      this.#current = this.#build();
    } catch (error) {
      this.#configured = before.configured;
      this.#defaultName = before.defaultName;
      throw error;
    }
    return this.#current;
  }

  /**
   * Takes the sessions a SAP listener knows now (its snapshot) as the discovered streams: each that
   * {@link streamOfSession} and the config file's validator accept, in snapshot order, the first
   * of a name winning, none with a configured stream's name. Returns what changed.
   */
  discover(sessions: readonly DirectorySession[]): DiscoveryChange {
    const configured = new Map(this.#configured.map((s) => [s.name, s]));
    const next: DiscoveredStream[] = [];
    const refused: { key: string; problem: string }[] = [];
    const shadowed: { key: string; name: string; same: boolean }[] = [];
    const keys = new Set<string>();
    for (const session of sessions) {
      keys.add(session.key);
      const result = streamOfSession(session);
      let stream: StreamDefinition;
      try {
        if ("problem" in result) throw new ConfigError("sap", result.problem);
        stream = validateStream(asConfigEntry(result.stream), `Session "${session.name}"`);
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        if (!this.#reported.has(session.key)) {
          refused.push({ key: session.key, problem: error.message });
        }
        this.#reported.add(session.key);
        continue;
      }
      const holder = configured.get(stream.name) ??
        next.find((d) => d.stream.name === stream.name)?.stream;
      if (holder !== undefined) {
        const same = holder.address === stream.address && holder.port === stream.port;
        if (!this.#reported.has(session.key)) {
          shadowed.push({ key: session.key, name: stream.name, same });
        }
        this.#reported.add(session.key);
        continue;
      }
      next.push({ stream, announcedBy: session.sender });
    }
    for (const key of this.#reported) if (!keys.has(key)) this.#reported.delete(key);
    const before = new Map(this.#discovered.map((d) => [d.stream.name, d]));
    const after = new Set(next.map((d) => d.stream.name));
    const added = next.filter((d) => !before.has(d.stream.name));
    const changed = next.filter((d) => {
      const old = before.get(d.stream.name);
      return old !== undefined && JSON.stringify(old.stream) !== JSON.stringify(d.stream);
    });
    const removed = [...before.keys()].filter((name) => !after.has(name));
    const moved = next.some((d) => before.get(d.stream.name)?.announcedBy !== d.announcedBy);
    if (added.length > 0 || changed.length > 0 || removed.length > 0 || moved) {
      this.#discovered = next;
      this.#current = this.#build();
    }
    return { added, changed, removed, refused, shadowed };
  }
}
