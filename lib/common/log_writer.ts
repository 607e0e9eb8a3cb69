// The log's output buffer: lines from LogTape's sink and from fixed-layout writers (the server's
// access log) gathered in memory, in order, and written with one system call every few milliseconds,
// at 64 KiB, and before the process exits, instead of one write per line.

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
  /** Buffered characters that are written at once; default {@link LOG_FLUSH_DEFAULTS}. */
  readonly flushAtChars?: number;
}

/** Defaults of {@link LogWriterOptions}. */
export const LOG_FLUSH_DEFAULTS = {
  /** Short enough for someone watching the log, long enough for one write per few hundred lines. */
  flushAfterMs: 20,
  flushAtChars: 64 * 1024,
} as const;

/** Events before which the buffer is written out: normal exit, Deno.exit, an uncaught error. */
const EXIT_EVENTS = ["unload", "error", "unhandledrejection"] as const;

/**
 * Gathers log text and writes it in batches. {@link write} only appends to a string: the first line
 * after a write starts one timer, which writes everything gathered `flushAfterMs` later (or sooner,
 * at `flushAtChars`). Before the process ends (`unload`, which Deno.exit and the end of the program
 * dispatch, and an uncaught error or rejection) and on dispose, the rest is written synchronously,
 * so a program that exits through main(), a signal handler or a crash loses no line. Only a kill
 * that runs no JavaScript (SIGKILL, an unhandled SIGTERM) loses what the last `flushAfterMs` gathered.
 * A failing target (a closed pipe) drops the text rather than taking the program down.
 */
export class LogWriter implements Disposable {
  #pending = "";
  #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #target: SyncTarget | undefined;
  readonly #write: ((text: string) => void) | undefined;
  readonly #afterMs: number;
  readonly #atChars: number;
  readonly #encoder = new TextEncoder();
  /** Reused for every write (a fresh 64 KiB array per write was garbage the server paid for). */
  #bytes: Uint8Array | undefined;
  readonly #flush = () => this.flush();

  constructor(options: LogWriterOptions) {
    this.#write = options.write;
    this.#target = options.write === undefined ? options.target : undefined;
    this.#afterMs = options.flushAfterMs ?? LOG_FLUSH_DEFAULTS.flushAfterMs;
    this.#atChars = options.flushAtChars ?? LOG_FLUSH_DEFAULTS.flushAtChars;
    for (const event of EXIT_EVENTS) globalThis.addEventListener(event, this.#flush);
  }

  /** Characters waiting to be written. */
  get pendingChars(): number {
    return this.#pending.length;
  }

  /** Appends `text` (whole lines, each ending in a newline). */
  write(text: string): void {
    this.#pending += text;
    if (this.#pending.length >= this.#atChars) {
      this.flush();
    } else if (this.#timer === undefined) {
      this.#timer = setTimeout(this.#flush, this.#afterMs);
      Deno.unrefTimer(this.#timer);
    }
  }

  /** Writes everything gathered now. */
  flush(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.#pending === "") return;
    const text = this.#pending;
    this.#pending = "";
    if (this.#write !== undefined) {
      this.#write(text);
      return;
    }
    if (this.#target === undefined) return;
    // At most 3 bytes per UTF-16 unit: 3 × flushAtChars holds any batch of lines of usual length;
    // a longer one (a huge record) gets its own array.
    let bytes: Uint8Array;
    if (text.length <= this.#atChars + 1024) {
      this.#bytes ??= new Uint8Array(3 * (this.#atChars + 1024));
      bytes = this.#bytes.subarray(0, this.#encoder.encodeInto(text, this.#bytes).written);
    } else {
      bytes = this.#encoder.encode(text);
    }
    try {
      let written = 0;
      while (written < bytes.length) written += this.#target.writeSync(bytes.subarray(written));
    } catch {
      // A closed pipe must not take the program down because of a log line.
    }
  }

  /** Writes the rest and stops listening for the exit. */
  [Symbol.dispose](): void {
    this.flush();
    for (const event of EXIT_EVENTS) globalThis.removeEventListener(event, this.#flush);
  }
}
