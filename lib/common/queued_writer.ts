// A bounded byte queue in front of a slow asynchronous writer (a pipe, a file): the producer copies
// into a preallocated ring and never waits, one write is in flight at a time, and what does not fit
// is dropped and counted, so a stalled reader costs a fixed amount of memory and never blocks the
// caller. The first write error (EPIPE of a closed pipe, ENOSPC) ends it.

/** Where a {@link QueuedWriter} writes: `Deno.stdout`, a `Deno.FsFile`. */
export interface WriteTarget {
  /** Writes some of `bytes`; resolves with how many (as Deno.Writer does). */
  write(bytes: Uint8Array): Promise<number>;
}

/** Defaults of {@link QueuedWriter}. */
export const QUEUED_WRITER_DEFAULTS = {
  /** Bytes queued at most: 4 MiB, 1.6 s of a 20 Mbit/s stream. */
  CAPACITY_BYTES: 4 * 1024 * 1024,
  /** How long close() waits for the queue to drain, ms. */
  CLOSE_WAIT_MS: 2_000,
} as const;

/** Options of {@link QueuedWriter}. */
export interface QueuedWriterOptions {
  /** Ring size in bytes (default 4 MiB). */
  readonly capacityBytes?: number;
  /** Called once, with the error that ended writing. */
  readonly onError?: (error: Error) => void;
  /** Called once, when the first bytes are dropped for lack of room. */
  readonly onOverflow?: () => void;
}

/** What a {@link QueuedWriter} did so far. */
export interface QueuedWriterCounts {
  /** Bytes the target accepted. */
  readonly writtenBytes: number;
  /** Bytes waiting in the queue. */
  readonly queuedBytes: number;
  /** Bytes dropped: no room in the queue, or after writing ended. */
  readonly droppedBytes: number;
  /** Calls of write() whose bytes were dropped. */
  readonly droppedWrites: number;
}

/**
 * Queues bytes for `target`. `write()` copies and returns at once; a drain loop hands contiguous
 * parts of the ring to `target.write()`, one at a time (the part being written is never
 * overwritten: new bytes go only into free space).
 */
export class QueuedWriter {
  readonly #target: WriteTarget;
  readonly #ring: Uint8Array;
  readonly #onError: (error: Error) => void;
  readonly #onOverflow: () => void;
  #head = 0;
  #size = 0;
  #written = 0;
  #dropped = 0;
  #droppedWrites = 0;
  #draining: Promise<void> | undefined;
  #error: Error | undefined;
  #closed = false;

  constructor(target: WriteTarget, options: QueuedWriterOptions = {}) {
    this.#target = target;
    this.#ring = new Uint8Array(
      Math.max(1, options.capacityBytes ?? QUEUED_WRITER_DEFAULTS.CAPACITY_BYTES),
    );
    this.#onError = options.onError ?? (() => {});
    this.#onOverflow = options.onOverflow ?? (() => {});
  }

  /** The error that ended writing, if one did. */
  get error(): Error | undefined {
    return this.#error;
  }

  /**
   * Queues a copy of `bytes`; false (and counted as dropped) when it does not fit whole, or once
   * writing has ended (an error, or close()).
   */
  write(bytes: Uint8Array): boolean {
    const ring = this.#ring;
    if (this.#error !== undefined || this.#closed || bytes.length > ring.length - this.#size) {
      if (this.#dropped === 0 && this.#error === undefined && !this.#closed) this.#onOverflow();
      this.#dropped += bytes.length;
      this.#droppedWrites++;
      return false;
    }
    const tail = (this.#head + this.#size) % ring.length;
    const first = Math.min(bytes.length, ring.length - tail);
    ring.set(bytes.subarray(0, first), tail);
    if (first < bytes.length) ring.set(bytes.subarray(first), 0);
    this.#size += bytes.length;
    this.#draining ??= this.#drain();
    return true;
  }

  /** The counts so far. Pure. */
  counts(): QueuedWriterCounts {
    return {
      writtenBytes: this.#written,
      queuedBytes: this.#size,
      droppedBytes: this.#dropped,
      droppedWrites: this.#droppedWrites,
    };
  }

  /**
   * Stops taking bytes and waits (at most `waitMs`, default 2 s) for the queue to drain; what is
   * left then is counted as dropped. Never rejects.
   */
  async close(waitMs: number = QUEUED_WRITER_DEFAULTS.CLOSE_WAIT_MS): Promise<void> {
    this.#closed = true;
    const draining = this.#draining;
    if (draining !== undefined) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        draining,
        new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs))),
      ]);
      clearTimeout(timer);
    }
    if (this.#size > 0) {
      this.#dropped += this.#size;
      this.#size = 0;
    }
  }

  async #drain(): Promise<void> {
    const ring = this.#ring;
    try {
      while (this.#size > 0) {
        const length = Math.min(this.#size, ring.length - this.#head);
        const n = await this.#target.write(ring.subarray(this.#head, this.#head + length));
        if (this.#size === 0) break; // close() gave the rest up meanwhile
        this.#written += n;
        this.#head = (this.#head + n) % ring.length;
        this.#size -= n;
      }
    } catch (error) {
      this.#error = error instanceof Error ? error : new Error(String(error));
      this.#dropped += this.#size;
      this.#size = 0;
      this.#onError(this.#error);
    } finally {
      this.#draining = undefined;
    }
  }
}
