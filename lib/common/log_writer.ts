// The log's output buffer: lines from LogTape's sink and from fixed-layout writers (the server's
// access log, which writes its bytes straight into the buffer) gathered in memory, in order, and
// written with one system call every few milliseconds, at 64 KiB, and before the process exits.

/** Where a {@link LogWriter} writes: Deno.stdout, Deno.stderr or a file. */
export interface SyncTarget {
  writeSync(bytes: Uint8Array): number;
}

/** Options of {@link LogWriter}. */
export interface LogWriterOptions {
  /** Where the bytes go (e.g. Deno.stdout); ignored when `write` is given. */
  readonly target?: SyncTarget;
  /** Hands the text to this function instead of writing bytes (the client's live view). */
  readonly write?: (text: string) => void;
  /** Longest a line waits in the buffer, in ms; default {@link LOG_FLUSH_DEFAULTS}. */
  readonly flushAfterMs?: number;
  /**
   * Buffered size that is written at once: bytes with a `target`, characters with `write`;
   * default {@link LOG_FLUSH_DEFAULTS}.
   */
  readonly flushAt?: number;
}

/** Defaults of {@link LogWriterOptions}. */
export const LOG_FLUSH_DEFAULTS = {
  /** Short enough for someone watching the log, long enough for one write per few hundred lines. */
  flushAfterMs: 20,
  flushAt: 64 * 1024,
} as const;

/** Room beyond `flushAt` in the byte buffer: a line that fits is never written on its own. */
const SLACK_BYTES = 16 * 1024;

/** Events before which the buffer is written out: normal exit, Deno.exit, an uncaught error. */
const EXIT_EVENTS = ["unload", "error", "unhandledrejection"] as const;

/**
 * Gathers log lines and writes them in batches. With a `target`, lines go as bytes into one buffer
 * allocated once: {@link write} encodes a string into it, and a fixed-layout writer fills it itself
 * through {@link reserve} and {@link commit}, so a line costs no string and no garbage. The first
 * line after a write starts one timer, which writes everything gathered `flushAfterMs` later (or
 * sooner, at `flushAt`). Before the process ends (`unload`, which Deno.exit and the end of the
 * program dispatch, and an uncaught error or rejection) and on dispose, the rest is written
 * synchronously, so a program that exits through main(), a signal handler or a crash loses no line.
 * Only a kill that runs no JavaScript (SIGKILL, an unhandled SIGTERM) loses what the last
 * `flushAfterMs` gathered. A failing target (a closed pipe) drops the bytes rather than taking the
 * program down.
 */
export class LogWriter implements Disposable {
  #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #target: SyncTarget | undefined;
  readonly #write: ((text: string) => void) | undefined;
  readonly #afterMs: number;
  readonly #at: number;
  readonly #encoder = new TextEncoder();
  /** Text waiting for `write` (no target). */
  #pending = "";
  /** Bytes waiting for the target: `#bytes[0, #length)`. */
  readonly #bytes: Uint8Array;
  #length = 0;
  readonly #flush = () => this.flush();

  constructor(options: LogWriterOptions) {
    this.#write = options.write;
    this.#target = options.write === undefined ? options.target : undefined;
    this.#afterMs = options.flushAfterMs ?? LOG_FLUSH_DEFAULTS.flushAfterMs;
    this.#at = options.flushAt ?? LOG_FLUSH_DEFAULTS.flushAt;
    this.#bytes = new Uint8Array(this.#target === undefined ? 0 : this.#at + SLACK_BYTES);
    for (const event of EXIT_EVENTS) globalThis.addEventListener(event, this.#flush);
  }

  /** What waits to be written: bytes with a target, characters with a write function. */
  get pending(): number {
    return this.#target === undefined ? this.#pending.length : this.#length;
  }

  /** The buffer {@link reserve} makes room in (empty when the text goes to a write function). */
  get buffer(): Uint8Array {
    return this.#bytes;
  }

  /** Appends `text` (whole lines, each ending in a newline). */
  write(text: string): void {
    if (this.#target === undefined) {
      this.#pending += text;
      if (this.#pending.length >= this.#at) this.flush();
      else this.#arm();
      return;
    }
    // At most 3 bytes per UTF-16 unit.
    const start = this.reserve(3 * text.length);
    if (start < 0) {
      this.flush();
      this.#writeAll(this.#encoder.encode(text));
      return;
    }
    const bytes = this.#bytes;
    const { written } = this.#encoder.encodeInto(
      text,
      start === 0 ? bytes : bytes.subarray(start),
    );
    this.commit(start + written);
  }

  /**
   * Makes room for a line of at most `maxBytes` bytes in {@link buffer} (writing out what is there
   * when it would not fit) and returns the offset it goes to; -1 when no line that long fits in the
   * buffer, or there is no buffer (use {@link write} then). Write the line's bytes from there and
   * end with {@link commit}, before anything else writes to this LogWriter.
   */
  reserve(maxBytes: number): number {
    if (maxBytes > this.#bytes.length) return -1;
    if (this.#length + maxBytes > this.#bytes.length) this.flush();
    this.#arm();
    return this.#length;
  }

  /** Ends a line written after {@link reserve}: the buffer now holds bytes up to `end`. */
  commit(end: number): void {
    this.#length = end;
    if (end >= this.#at) this.flush();
  }

  /** Writes everything gathered now. */
  flush(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.#target === undefined) {
      if (this.#pending === "") return;
      const text = this.#pending;
      this.#pending = "";
      this.#write?.(text);
      return;
    }
    if (this.#length === 0) return;
    const length = this.#length;
    this.#length = 0;
    this.#writeAll(this.#bytes.subarray(0, length));
  }

  /** Writes the rest and stops listening for the exit. */
  [Symbol.dispose](): void {
    this.flush();
    for (const event of EXIT_EVENTS) globalThis.removeEventListener(event, this.#flush);
  }

  #arm(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(this.#flush, this.#afterMs);
    Deno.unrefTimer(this.#timer);
  }

  #writeAll(bytes: Uint8Array): void {
    const target = this.#target;
    if (target === undefined) return;
    try {
      let written = 0;
      while (written < bytes.length) written += target.writeSync(bytes.subarray(written));
    } catch {
      // A closed pipe must not take the program down because of a log line.
    }
  }
}
