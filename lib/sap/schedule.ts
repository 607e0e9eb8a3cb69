// When each catalog stream is announced (RFC 2974 §3): one packet per slot, slots spread evenly over
// the interval so every stream is announced once per interval, deletions at once when a stream
// leaves or changes. Pure: the catalog and the time are passed in; the announcer sends.
import type { CatalogEntry } from "../sdp/stream.ts";
import {
  type AnnouncementOptions,
  buildAnnouncement,
  SapAnnounceError,
  type SapAnnouncement,
} from "./announcement.ts";

/** Announcement interval of each stream, seconds (what VLC and ffmpeg use). */
export const DEFAULT_SAP_INTERVAL_S = 5;
/** Closest spacing of two packets: with many streams the interval grows instead. */
export const MIN_SAP_SPACING_MS = 10;

/** One packet to send now. */
export interface SapSend {
  readonly kind: "announce" | "delete";
  readonly announcement: SapAnnouncement;
}

/** Result of {@link AnnouncementSchedule.update}. */
export interface ScheduleUpdate {
  /** Deletion packets to send now: streams removed, or re-described (the old hash). */
  readonly deletions: readonly SapSend[];
  /** Streams that cannot be announced, with why (they are left out). */
  readonly refused: readonly SapAnnounceError[];
  /** Warnings of the announcements built (fallback group, shortened description). */
  readonly warnings: readonly string[];
}

/** Options of {@link AnnouncementSchedule}. */
export interface ScheduleOptions extends Omit<AnnouncementOptions, "avoidHashes"> {
  /** Each stream's announcement interval, ms; default 5 000. */
  readonly intervalMs?: number;
}

/** What the schedule holds for one stream, for logs and tests. */
export interface ScheduledStream {
  readonly name: string;
  readonly hash: number;
  readonly group: string;
  readonly ttl: number;
  readonly announcements: number;
}

/** The announcement plan of a catalog. */
export class AnnouncementSchedule {
  readonly #intervalMs: number;
  readonly #options: ScheduleOptions;
  #announcements = new Map<string, SapAnnouncement>();
  #sent = new Map<string, number>();
  /** Names in announcement order: the head goes next, then to the back. */
  #queue: string[] = [];
  #nextSlotMs: number | undefined;

  constructor(options: ScheduleOptions = {}) {
    const intervalMs = options.intervalMs ?? DEFAULT_SAP_INTERVAL_S * 1000;
    if (!(intervalMs > 0) || !Number.isFinite(intervalMs)) {
      throw new RangeError(`SAP interval ${intervalMs} ms is not a positive number`);
    }
    this.#intervalMs = intervalMs;
    this.#options = options;
  }

  /** Time between two packets: the interval spread over the streams. */
  get spacingMs(): number {
    return Math.max(MIN_SAP_SPACING_MS, this.#intervalMs / Math.max(1, this.#queue.length));
  }

  /**
   * Takes the catalog's current entries. New and re-described streams go to the front of the queue
   * (announced within the next slots); removed and re-described ones get a deletion packet now.
   */
  update(entries: readonly CatalogEntry[], nowMs: number): ScheduleUpdate {
    const deletions: SapSend[] = [];
    const refused: SapAnnounceError[] = [];
    const warnings: string[] = [];
    const names = new Set(entries.map((e) => e.stream.name));
    for (const [name, announcement] of this.#announcements) {
      if (names.has(name)) continue;
      deletions.push({ kind: "delete", announcement });
      this.#announcements.delete(name);
      this.#sent.delete(name);
    }
    const fresh: string[] = [];
    for (const entry of entries) {
      const name = entry.stream.name;
      const before = this.#announcements.get(name);
      const avoid = new Set(
        [...this.#announcements.values()].filter((a) => a.name !== name).map((a) => a.hash),
      );
      if (before !== undefined) avoid.add(before.hash);
      let built: SapAnnouncement;
      try {
        built = buildAnnouncement(entry, { ...this.#options, avoidHashes: avoid });
      } catch (error) {
        if (!(error instanceof SapAnnounceError)) throw error;
        refused.push(error);
        if (before !== undefined) {
          deletions.push({ kind: "delete", announcement: before });
          this.#announcements.delete(name);
        }
        continue;
      }
      if (before !== undefined && before.sdp === built.sdp) continue;
      if (before !== undefined) deletions.push({ kind: "delete", announcement: before });
      warnings.push(...built.warnings);
      this.#announcements.set(name, built);
      fresh.push(name);
    }
    const fresher = new Set(fresh);
    this.#queue = [
      ...fresh,
      ...this.#queue.filter((n) => this.#announcements.has(n) && !fresher.has(n)),
    ];
    if (this.#queue.length === 0) this.#nextSlotMs = undefined;
    else if (this.#nextSlotMs === undefined || fresh.length > 0) {
      this.#nextSlotMs = Math.min(this.#nextSlotMs ?? nowMs, nowMs);
    }
    return { deletions, refused, warnings };
  }

  /** When the next announcement is due, or undefined when there is nothing to announce. */
  nextDueMs(): number | undefined {
    return this.#nextSlotMs;
  }

  /** The announcement due at `nowMs`, if any (one per slot; missed slots are skipped, not burst). */
  due(nowMs: number): SapSend | undefined {
    if (this.#nextSlotMs === undefined || nowMs < this.#nextSlotMs) return undefined;
    const name = this.#queue.shift();
    if (name === undefined) return undefined;
    this.#queue.push(name);
    const announcement = this.#announcements.get(name)!;
    this.#sent.set(name, (this.#sent.get(name) ?? 0) + 1);
    const next = this.#nextSlotMs + this.spacingMs;
    this.#nextSlotMs = next <= nowMs ? nowMs + this.spacingMs : next;
    return { kind: "announce", announcement };
  }

  /** Deletion packets for every stream announced, and an empty schedule (shutdown). */
  clear(): SapSend[] {
    const deletions = [...this.#announcements.values()].map((announcement): SapSend => ({
      kind: "delete",
      announcement,
    }));
    this.#announcements.clear();
    this.#sent.clear();
    this.#queue = [];
    this.#nextSlotMs = undefined;
    return deletions;
  }

  /** The streams scheduled, in queue order; changes nothing. */
  snapshot(): ScheduledStream[] {
    return this.#queue.map((name) => {
      const a = this.#announcements.get(name)!;
      return {
        name,
        hash: a.hash,
        group: a.group,
        ttl: a.ttl,
        announcements: this.#sent.get(name) ?? 0,
      };
    });
  }
}
