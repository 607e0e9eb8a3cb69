// The server's SAP side (RFC 2974): `--sap` announces the configured streams (updated on reload,
// deletions at shutdown), `--sap-listen` feeds the sessions others announce into the LiveCatalog;
// everything they do is logged under "gateway.sap".
import { getLogger } from "@logtape/logtape";
import { printable } from "../common/printable.ts";
import { SapAnnouncer } from "../sap/announcer.ts";
import { SapListener } from "../sap/listener.ts";
import type { SapTransport } from "../sap/sender.ts";
import type { LiveCatalog } from "./live_catalog.ts";
import type { SapConfig } from "./sap_config.ts";

/** Options of {@link SapDiscovery.start} beyond the configuration (tests give their own). */
export interface SapDiscoveryOptions {
  /** Where announcements go; default a socket sender. */
  readonly transport?: SapTransport;
  /** Groups and port the listener joins; default the SAP groups on 9875. */
  readonly listenGroups?: readonly string[];
  readonly listenPort?: number;
}

/** The announcer and listener the configuration asks for. */
export class SapDiscovery implements AsyncDisposable {
  readonly #catalog: LiveCatalog;
  readonly #announcer: SapAnnouncer | undefined;
  readonly #listener: SapListener | undefined;
  readonly #logger = getLogger(["gateway", "sap"]);
  #pending = false;
  #closing: Promise<void> | undefined;

  private constructor(
    catalog: LiveCatalog,
    announcer: SapAnnouncer | undefined,
    listener: SapListener | undefined,
  ) {
    this.#catalog = catalog;
    this.#announcer = announcer;
    this.#listener = listener;
  }

  /**
   * Starts what `config` asks for: the listener first (its groups joined; throws MulticastError
   * when none can be), then the announcer of `catalog`'s configured streams.
   */
  static async start(
    config: SapConfig,
    catalog: LiveCatalog,
    options: SapDiscoveryOptions = {},
  ): Promise<SapDiscovery> {
    // The listener reports before the SapDiscovery exists: its events reach it through this.
    const ref: { discovery?: SapDiscovery } = {};
    let listener: SapListener | undefined;
    if (config.listen) {
      listener = await SapListener.open({
        onEvent: () => {
          if (ref.discovery !== undefined) ref.discovery.#changed();
        },
        ...(options.listenGroups === undefined ? {} : { groups: options.listenGroups }),
        ...(options.listenPort === undefined ? {} : { port: options.listenPort }),
      });
      const { groups, failedGroups } = listener.snapshot();
      const logger = getLogger(["gateway", "sap"]);
      logger.info("Listening for SAP announcements on {groups}", { groups: groups.join(", ") });
      if (failedGroups.length > 0) {
        // On a host without IPv6 multicast every IPv6 group fails: one line says so.
        logger.warn("Cannot listen for SAP on {groups}: {error}", {
          groups: failedGroups.map((f) => f.group).join(", "),
          error: failedGroups[0]!.error,
        });
      }
    }
    let announcer: SapAnnouncer | undefined;
    if (config.announce) {
      try {
        announcer = SapAnnouncer.start(catalog.current.configuredEntries(), {
          intervalMs: config.intervalS * 1000,
          ...(config.originV4 === undefined ? {} : { originV4: config.originV4 }),
          ...(config.originV6 === undefined ? {} : { originV6: config.originV6 }),
          ...(options.transport === undefined ? {} : { transport: options.transport }),
        }).announcer;
      } catch (error) {
        await listener?.close();
        throw error;
      }
      const streams = announcer.snapshot().streams;
      getLogger(["gateway", "sap"]).info(
        "Announcing {count} streams with SAP every {intervalS} s: {streams}",
        {
          count: streams.length,
          intervalS: config.intervalS,
          streams: streams.map((s) => `${s.name} on ${s.group}`).join(", "),
        },
      );
    }
    const discovery = new SapDiscovery(catalog, announcer, listener);
    ref.discovery = discovery;
    discovery.#changed();
    return discovery;
  }

  /** A listener event: takes its sessions into the catalog once the current task is done. */
  #changed(): void {
    if (this.#pending || this.#listener === undefined || this.#closing !== undefined) return;
    this.#pending = true;
    queueMicrotask(() => {
      this.#pending = false;
      if (this.#closing !== undefined) return;
      this.#apply();
    });
  }

  #apply(): void {
    const change = this.#catalog.discover(this.#listener!.snapshot().sessions);
    for (const found of change.added) {
      this.#logger.info("Discovered stream {name} at {address} port {port}, announced by {from}", {
        name: found.stream.name,
        address: found.stream.address,
        port: found.stream.port,
        from: found.announcedBy,
      });
    }
    for (const found of change.changed) {
      this.#logger.info("Discovered stream {name} re-announced: now {address} port {port}", {
        name: found.stream.name,
        address: found.stream.address,
        port: found.stream.port,
      });
    }
    for (const name of change.removed) {
      this.#logger.info("Discovered stream {name} is no longer announced", { name });
    }
    for (const refused of change.refused) {
      this.#logger.warn("Announced session left out of the catalog: {problem}", {
        problem: printable(refused.problem),
      });
    }
    for (const shadowed of change.shadowed) {
      const message =
        "Announced session {name} left out: the catalog already has a stream of that name";
      // The same stream announced again (our own announcement heard back): nothing to say.
      if (shadowed.same) this.#logger.debug(message, { name: shadowed.name });
      else this.#logger.info(message, { name: shadowed.name });
    }
  }

  /** Follows a reloaded catalog: announces new and changed streams, deletes removed ones. */
  async reload(): Promise<void> {
    if (this.#listener !== undefined) this.#apply();
    await this.#announcer?.update(this.#catalog.current.configuredEntries());
  }

  /** Counters of the announcer and listener, for logs and tests; changes nothing. */
  snapshot(): {
    announcer?: ReturnType<SapAnnouncer["snapshot"]>;
    listener?: ReturnType<SapListener["snapshot"]>;
  } {
    return {
      ...(this.#announcer === undefined ? {} : { announcer: this.#announcer.snapshot() }),
      ...(this.#listener === undefined ? {} : { listener: this.#listener.snapshot() }),
    };
  }

  /** Sends the deletions of every announced stream, leaves the groups; idempotent. */
  close(): Promise<void> {
    this.#closing ??= Promise.all([this.#announcer?.close(), this.#listener?.close()]).then(
      () => {},
    );
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
