// When a socket's multicast membership is renewed by leave and join (a fresh IGMP/MLD report, RFC
// 3376 §5.1 / RFC 3810 §6.1): every --rejoin-every seconds, and every 10 s while one of its streams
// is stalled; and whether a stall looks like a switch that aged the membership out (no querier).

/** Timing of membership renewals (ms). */
export const MEMBERSHIP_TIMING = {
  /** Default `--rejoin-every`, seconds. */
  REFRESH_EVERY_S: 60,
  /** Re-join at most this often while a stream of the socket is stalled. */
  STALLED_REJOIN_EVERY_MS: 10_000,
  /**
   * A stall that starts this long after the join or the last renewal looks like a snooping switch
   * without an IGMP querier ageing the membership out (RFC 4541 §2.1.1; 260 s is the usual group
   * membership interval of RFC 3376 §8.4: 2 × 125 s + 10 s).
   */
  QUERIER_HINT_FROM_MS: 250_000,
  QUERIER_HINT_TO_MS: 270_000,
} as const;

/** Why a renewal is due. */
export type RenewalReason = "refresh" | "stalled";

/** Options of {@link MembershipSchedule}. */
export interface MembershipScheduleOptions {
  /** When the socket joined. */
  readonly joinedMs: number;
  /** `--rejoin-every` in ms; 0 turns the periodic refresh off. */
  readonly refreshEveryMs: number;
  /** Default {@link MEMBERSHIP_TIMING}.STALLED_REJOIN_EVERY_MS. */
  readonly stalledRejoinEveryMs?: number;
}

/**
 * The renewal clock of one socket. Pure: the caller asks {@link MembershipSchedule.due} on its
 * clock, renews, and reports it with {@link MembershipSchedule.renewed}.
 */
export class MembershipSchedule {
  readonly #refreshEveryMs: number;
  readonly #stalledEveryMs: number;
  /** The last join or renewal: the membership's age counts from here. */
  #membershipMs: number;
  /** The last renewal while stalled, or when a stream started receiving (as before). */
  #lastRejoinMs: number;

  constructor(options: MembershipScheduleOptions) {
    this.#refreshEveryMs = options.refreshEveryMs;
    this.#stalledEveryMs = options.stalledRejoinEveryMs ??
      MEMBERSHIP_TIMING.STALLED_REJOIN_EVERY_MS;
    this.#membershipMs = options.joinedMs;
    this.#lastRejoinMs = options.joinedMs;
  }

  /** When the membership was last joined or renewed. */
  get membershipMs(): number {
    return this.#membershipMs;
  }

  /**
   * The renewal due at `nowMs`, if any: `stalled` when a stream of the socket is stalled and the
   * last re-join (or the last start of reception) is 10 s old; `refresh` when the membership is
   * `--rejoin-every` old.
   */
  due(nowMs: number, anyStalled: boolean): RenewalReason | undefined {
    if (anyStalled && nowMs - this.#lastRejoinMs >= this.#stalledEveryMs) return "stalled";
    if (this.#refreshEveryMs > 0 && nowMs - this.#membershipMs >= this.#refreshEveryMs) {
      return "refresh";
    }
    return undefined;
  }

  /** Records a renewal (leave and join) done at `nowMs`. */
  renewed(nowMs: number): void {
    this.#membershipMs = nowMs;
    this.#lastRejoinMs = nowMs;
  }

  /** A stream of the socket started receiving at `nowMs`: the stalled re-join waits from there. */
  receiving(nowMs: number): void {
    this.#lastRejoinMs = nowMs;
  }

  /** True when a stall that started at `stallMs` fits a membership aged out for lack of a querier. */
  looksLikeMissingQuerier(stallMs: number): boolean {
    const age = stallMs - this.#membershipMs;
    return age >= MEMBERSHIP_TIMING.QUERIER_HINT_FROM_MS &&
      age <= MEMBERSHIP_TIMING.QUERIER_HINT_TO_MS;
  }
}
