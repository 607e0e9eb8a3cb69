// The listener's table of announced sessions (RFC 2974 §4-5): de-duplicated by message-id hash and
// originating source, modified and deleted sessions handled, sessions forgotten after ten of their
// announcement intervals, and a counter for each kind of ignored packet. Pure: time is passed in.
import { SdpError } from "../common/errors.ts";
import type { SapMessage } from "./message.ts";
import { SAP_PROBLEMS, type SapProblem } from "./packet.ts";
import { type AnnouncedSession, readAnnouncedSession } from "./session.ts";

/** Sessions forgotten after this many of their announcement intervals without one. */
export const SAP_TIMEOUT_INTERVALS = 10;
/** Announcement interval assumed for a session heard only once. */
export const DEFAULT_ASSUMED_INTERVAL_MS = 30_000;
/** No session is kept longer than this without an announcement (RFC 2974 §4's one hour). */
export const MAX_SAP_TIMEOUT_MS = 3_600_000;
/** Announcements of one session closer together than this are duplicates, not an interval. */
export const MIN_SAP_GAP_MS = 250;
/** Most sessions kept; announcements of more are ignored (and counted). */
export const DEFAULT_MAX_SESSIONS = 1_000;
/** Gaps averaged for the interval estimate. */
const GAPS_KEPT = 8;

/** Why a packet was ignored: a bad packet, or a directory limit. */
export type SapIgnoredKind = SapProblem | "tooManySessions" | "foreignDeletion";

/** Every counter of ignored packets, by kind. */
export type SapIgnoredCounts = Record<SapIgnoredKind, number>;

/** A session in the directory. */
export interface DirectorySession extends AnnouncedSession {
  /** Origin and hash: the key announcements are de-duplicated by. */
  readonly key: string;
  readonly hash: number;
  /** Originating source from the SAP header. */
  readonly origin: string;
  /** Address the last announcement came from (UDP source). */
  readonly sender: string;
  /** SAP group it was heard on. */
  readonly heardOn: string;
  readonly sdp: string;
  readonly firstHeardMs: number;
  readonly lastHeardMs: number;
  /** Announcements received (duplicates included). */
  readonly announcements: number;
  /** Mean interval between its announcements, once heard twice. */
  readonly intervalMs?: number;
  /** When it will be forgotten unless announced again. */
  readonly expiresMs: number;
}

/** A change in the directory. */
export interface DirectoryEvent {
  readonly type: "new" | "changed" | "deleted" | "expired";
  readonly session: DirectorySession;
  /** For `changed`: the session it replaced. */
  readonly previous?: DirectorySession;
}

/** Counters of a directory. */
export interface DirectoryCounters {
  /** Valid announcement packets (repeats included). */
  readonly announcements: number;
  /** Valid deletion packets. */
  readonly deletions: number;
  /** Repeats closer than MIN_SAP_GAP_MS (same packet heard twice). */
  readonly duplicates: number;
  /** Deletions of a session not in the directory. */
  readonly unmatchedDeletions: number;
  readonly expired: number;
  readonly ignored: Readonly<SapIgnoredCounts>;
}

/** Where and when a message arrived. */
export interface Arrival {
  /** UDP source address. */
  readonly sender: string;
  /** SAP group the socket had joined. */
  readonly group: string;
  readonly nowMs: number;
}

/** Options of {@link SapDirectory}. */
export interface DirectoryOptions {
  readonly assumedIntervalMs?: number;
  readonly maxSessions?: number;
}

interface Entry {
  session: DirectorySession;
  gaps: number[];
}

/** The sessions a SAP listener knows. Feed it messages; read it through snapshot(). */
export class SapDirectory {
  #entries = new Map<string, Entry>();
  #assumedIntervalMs: number;
  #maxSessions: number;
  #counters = {
    announcements: 0,
    deletions: 0,
    duplicates: 0,
    unmatchedDeletions: 0,
    expired: 0,
    ignored: Object.fromEntries(
      [...SAP_PROBLEMS, "tooManySessions", "foreignDeletion"].map((k) => [k, 0]),
    ) as SapIgnoredCounts,
  };

  constructor(options: DirectoryOptions = {}) {
    this.#assumedIntervalMs = options.assumedIntervalMs ?? DEFAULT_ASSUMED_INTERVAL_MS;
    this.#maxSessions = options.maxSessions ?? DEFAULT_MAX_SESSIONS;
  }

  /** Counts a packet ignored before it reached the directory (a decoding problem). */
  ignore(kind: SapIgnoredKind): void {
    this.#counters.ignored[kind]++;
  }

  #timeout(gaps: readonly number[]): number {
    const interval = gaps.length === 0
      ? this.#assumedIntervalMs
      : gaps.reduce((a, b) => a + b, 0) / gaps.length;
    return Math.min(MAX_SAP_TIMEOUT_MS, SAP_TIMEOUT_INTERVALS * interval);
  }

  /**
   * Takes one decoded message. Returns the change it made, if any: a new session, a modified one (a
   * new hash with the same `o=` identity from the same origin), a deleted one. Repeats refresh the
   * session. Deletions count only from the address that sent the announcement.
   */
  receive(message: SapMessage, arrival: Arrival): DirectoryEvent | undefined {
    const key = `${message.origin}#${message.hash}`;
    const known = this.#entries.get(key);
    if (message.messageType === "delete") {
      this.#counters.deletions++;
      if (known === undefined) {
        this.#counters.unmatchedDeletions++;
        return undefined;
      }
      if (known.session.sender !== arrival.sender) {
        this.#counters.ignored.foreignDeletion++;
        return undefined;
      }
      this.#entries.delete(key);
      return { type: "deleted", session: known.session };
    }
    if (known !== undefined) {
      this.#counters.announcements++;
      const gap = arrival.nowMs - known.session.lastHeardMs;
      if (gap < MIN_SAP_GAP_MS) this.#counters.duplicates++;
      else known.gaps = [...known.gaps, gap].slice(-GAPS_KEPT);
      const intervalMs = known.gaps.length === 0
        ? undefined
        : known.gaps.reduce((a, b) => a + b, 0) / known.gaps.length;
      known.session = {
        ...known.session,
        sender: arrival.sender,
        lastHeardMs: arrival.nowMs,
        announcements: known.session.announcements + 1,
        ...(intervalMs === undefined ? {} : { intervalMs }),
        expiresMs: arrival.nowMs + this.#timeout(known.gaps),
      };
      return undefined;
    }
    let announced: AnnouncedSession;
    try {
      announced = readAnnouncedSession(message.sdp);
    } catch (error) {
      if (!(error instanceof SdpError)) throw error;
      this.#counters.ignored.invalidSdp++;
      return undefined;
    }
    this.#counters.announcements++;
    // RFC 2974 §5: a modified session has a new hash; recognise it by its o= identity (not by
    // ffmpeg's "- 0 ..." that every ffmpeg session shares).
    const replaced = announced.identity.split(" ")[1] === "0" ? undefined : [
      ...this.#entries.values(),
    ].find((e) => e.session.origin === message.origin && e.session.identity === announced.identity);
    if (replaced === undefined && this.#entries.size >= this.#maxSessions) {
      this.#counters.ignored.tooManySessions++;
      return undefined;
    }
    const gaps = replaced?.gaps ?? [];
    const session: DirectorySession = {
      ...announced,
      key,
      hash: message.hash,
      origin: message.origin,
      sender: arrival.sender,
      heardOn: arrival.group,
      sdp: message.sdp,
      firstHeardMs: replaced?.session.firstHeardMs ?? arrival.nowMs,
      lastHeardMs: arrival.nowMs,
      announcements: (replaced?.session.announcements ?? 0) + 1,
      ...(replaced?.session.intervalMs === undefined
        ? {}
        : { intervalMs: replaced.session.intervalMs }),
      expiresMs: arrival.nowMs + this.#timeout(gaps),
    };
    if (replaced !== undefined) this.#entries.delete(replaced.session.key);
    this.#entries.set(key, { session, gaps });
    return replaced === undefined
      ? { type: "new", session }
      : { type: "changed", session, previous: replaced.session };
  }

  /** Forgets the sessions not announced within their timeout; returns them as `expired` events. */
  expire(nowMs: number): DirectoryEvent[] {
    const events: DirectoryEvent[] = [];
    for (const [key, entry] of this.#entries) {
      if (entry.session.expiresMs > nowMs) continue;
      this.#entries.delete(key);
      this.#counters.expired++;
      events.push({ type: "expired", session: entry.session });
    }
    return events;
  }

  /** The sessions (by name, then origin) and the counters; changes nothing. */
  snapshot(): { sessions: DirectorySession[]; counters: DirectoryCounters } {
    const sessions = [...this.#entries.values()].map((e) => e.session).sort((a, b) =>
      a.name.localeCompare(b.name) || a.key.localeCompare(b.key)
    );
    return {
      sessions,
      counters: { ...this.#counters, ignored: { ...this.#counters.ignored } },
    };
  }
}
