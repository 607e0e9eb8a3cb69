// Many timeouts on one timer: every request body read has a deadline, and a timer per request
// (setTimeout + clearTimeout) cost the server about 8 µs of its ~25 µs per offer under load
// (Deno 2.9's timers), so all deadlines share one timer armed for the earliest of them.

/** A deadline taken with {@link Deadlines.add}. */
export interface Deadline {
  /** When it expires, on the clock of its Deadlines. */
  readonly atMs: number;
  /** Forgets it: its callback is not called. Harmless after expiry or a second time. */
  cancel(): void;
}

/** Options of {@link Deadlines}. */
export interface DeadlinesOptions {
  /** Clock in ms; default performance.now. */
  readonly now?: () => number;
}

/** A pending deadline; cancel() is a method, so taking one allocates a single object. */
class Entry implements Deadline {
  constructor(
    readonly owner: Deadlines,
    readonly atMs: number,
    readonly onExpire: () => void,
  ) {}
  cancel(): void {
    this.owner.forget(this);
  }
}

/**
 * Deadlines on one timer. The timer is armed for the earliest deadline and left armed when that
 * one is cancelled: when it fires it calls the callbacks that are due and arms itself for the
 * earliest remaining one, so a steady stream of equal timeouts (the usual case: every body gets
 * the same) creates one timer per timeout period instead of one per deadline. While no deadline is
 * pending the armed timer is unreferenced (Deno.unrefTimer), so it holds neither the process nor a
 * test open; adding one references it again.
 */
export class Deadlines {
  readonly #pending = new Set<Entry>();
  readonly #now: () => number;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAtMs = Infinity;
  #referenced = false;

  constructor(options: DeadlinesOptions = {}) {
    this.#now = options.now ?? (() => performance.now());
  }

  /** Deadlines pending now. */
  get size(): number {
    return this.#pending.size;
  }

  /** Calls `onExpire` once, `timeoutMs` from now (or a little later), unless cancelled first. */
  add(timeoutMs: number, onExpire: () => void): Deadline {
    const atMs = this.#now() + timeoutMs;
    const entry = new Entry(this, atMs, onExpire);
    this.#pending.add(entry);
    if (atMs < this.#timerAtMs) this.#arm(atMs);
    else this.#reference(true);
    return entry;
  }

  /** Drops `entry` (Deadline.cancel). */
  forget(entry: Deadline): void {
    if (this.#pending.delete(entry as Entry) && this.#pending.size === 0) this.#reference(false);
  }

  #arm(atMs: number): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timerAtMs = atMs;
    this.#timer = setTimeout(() => this.#fire(), Math.max(0, atMs - this.#now()));
    this.#referenced = true;
    if (this.#pending.size === 0) this.#reference(false);
  }

  #reference(on: boolean): void {
    if (this.#timer === undefined || this.#referenced === on) return;
    this.#referenced = on;
    if (on) Deno.refTimer(this.#timer);
    else Deno.unrefTimer(this.#timer);
  }

  #fire(): void {
    this.#timer = undefined;
    this.#timerAtMs = Infinity;
    // Timers may fire a little early on a coarse clock: 1 ms of slack.
    const due = this.#now() + 1;
    let next = Infinity;
    const expired: Entry[] = [];
    for (const entry of this.#pending) {
      if (entry.atMs <= due) expired.push(entry);
      else if (entry.atMs < next) next = entry.atMs;
    }
    for (const entry of expired) this.#pending.delete(entry);
    if (next !== Infinity) this.#arm(next);
    for (const entry of expired) entry.onExpire();
  }
}

/** The deadlines of request body reads (lib/common/read_limited.ts), shared by the whole process. */
export const BODY_DEADLINES: Deadlines = new Deadlines();
