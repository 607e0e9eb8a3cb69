// The SAP announcer (RFC 2974 §3, §5): announces catalog streams on their SAP groups at an interval
// spread over the streams, sends a deletion when a stream leaves the catalog or changes, and at close.
import { getLogger } from "@logtape/logtape";
import type { CatalogEntry } from "../sdp/stream.ts";
import {
  AnnouncementSchedule,
  type SapSend,
  type ScheduledStream,
  type ScheduleOptions,
  type ScheduleUpdate,
} from "./schedule.ts";
import { SapSocketSender, type SapTransport } from "./sender.ts";

/** Time source and timers of the announcer (tests may drive their own). */
export interface AnnouncerClock {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(id: unknown): void;
}

const systemClock: AnnouncerClock = {
  now: () => performance.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (id) => clearTimeout(id as ReturnType<typeof setTimeout>),
};

/** Options of {@link SapAnnouncer.start}. */
export interface AnnouncerOptions extends ScheduleOptions {
  /** Where packets go; default a {@link SapSocketSender} (closed with the announcer). */
  readonly transport?: SapTransport;
  readonly clock?: AnnouncerClock;
}

/** Counters of an announcer. */
export interface AnnouncerCounters {
  readonly announcements: number;
  readonly deletions: number;
  /** Packets that could not be sent. */
  readonly sendErrors: number;
  readonly lastError?: string;
}

/** Announces a catalog until closed; `update()` follows catalog changes. */
export class SapAnnouncer implements AsyncDisposable {
  readonly #schedule: AnnouncementSchedule;
  readonly #transport: SapTransport;
  readonly #clock: AnnouncerClock;
  readonly #logger = getLogger(["gateway", "sap"]);
  #counters: { announcements: number; deletions: number; sendErrors: number; lastError?: string } =
    {
      announcements: 0,
      deletions: 0,
      sendErrors: 0,
    };
  #closed = false;
  #closing: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #loop: Promise<void>;
  /** Sends run one at a time (the IPv4 TTL is a socket setting). */
  #chain: Promise<void> = Promise.resolve();
  #failing = false;

  private constructor(options: AnnouncerOptions) {
    this.#schedule = new AnnouncementSchedule(options);
    this.#transport = options.transport ?? new SapSocketSender();
    this.#clock = options.clock ?? systemClock;
    this.#loop = Promise.resolve();
  }

  /**
   * Starts announcing `entries` (the first within one slot). Warnings and streams that cannot be
   * announced are logged under "gateway.sap" and returned in `initial`.
   */
  static start(
    entries: readonly CatalogEntry[],
    options: AnnouncerOptions = {},
  ): { announcer: SapAnnouncer; initial: ScheduleUpdate } {
    const announcer = new SapAnnouncer(options);
    const initial = announcer.#apply(entries);
    announcer.#loop = announcer.#run();
    return { announcer, initial };
  }

  #apply(entries: readonly CatalogEntry[]): ScheduleUpdate {
    const result = this.#schedule.update(entries, this.#clock.now());
    for (const warning of result.warnings) this.#logger.warn(warning);
    for (const error of result.refused) this.#logger.warn(error.message);
    for (const send of result.deletions) void this.#send(send);
    return result;
  }

  /** Follows a new catalog: deletions sent now, new and changed streams announced next. */
  async update(entries: readonly CatalogEntry[]): Promise<ScheduleUpdate> {
    if (this.#closed) return { deletions: [], refused: [], warnings: [] };
    const result = this.#apply(entries);
    this.#wake?.();
    await this.#chain;
    return result;
  }

  #send(send: SapSend): Promise<void> {
    const { announcement } = send;
    const packet = send.kind === "announce" ? announcement.announce : announcement.delete;
    this.#chain = this.#chain.then(async () => {
      try {
        await this.#transport.send(packet, announcement);
        if (send.kind === "announce") this.#counters.announcements++;
        else this.#counters.deletions++;
        if (this.#failing) {
          this.#failing = false;
          this.#logger.info("SAP announcements are being sent again");
        }
      } catch (error) {
        this.#counters.sendErrors++;
        this.#counters.lastError = (error as Error).message;
        if (!this.#failing) {
          this.#failing = true;
          this.#logger.error("Cannot send SAP announcements: {error}", {
            error: (error as Error).message,
          });
        }
      }
    });
    return this.#chain;
  }

  async #run(): Promise<void> {
    while (!this.#closed) {
      const now = this.#clock.now();
      const send = this.#schedule.due(now);
      if (send !== undefined) {
        await this.#send(send);
        continue;
      }
      const next = this.#schedule.nextDueMs();
      await new Promise<void>((resolve) => {
        const timer = next === undefined
          ? undefined
          : this.#clock.setTimeout(() => resolve(), Math.max(0, next - now));
        this.#wake = () => {
          if (timer !== undefined) this.#clock.clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = undefined;
    }
  }

  /** The streams announced and the counters; changes nothing. */
  snapshot(): { streams: ScheduledStream[]; counters: AnnouncerCounters } {
    return { streams: this.#schedule.snapshot(), counters: { ...this.#counters } };
  }

  /** Stops announcing, sends a deletion for every stream, closes the sockets. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed = true;
      this.#wake?.();
      await this.#loop;
      await Promise.all(this.#schedule.clear().map((send) => this.#send(send)));
      await this.#chain;
      await this.#transport.close();
    })();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
