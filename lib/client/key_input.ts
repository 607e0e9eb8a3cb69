// Single keys on the live view (`p`: the PID table): stdin in cbreak mode (no line editing, no
// echo, but Ctrl-C still SIGINT) only when it is a terminal, and the terminal restored on every way
// out: close(), the end of the program, and SIGQUIT or SIGHUP (which would otherwise kill the
// process with the terminal still in cbreak mode; they end the run as SIGTERM does).

/** What {@link KeyInput} needs of stdin (Deno.stdin). */
export interface KeyStdin {
  isTerminal(): boolean;
  setRaw(mode: boolean, options?: { cbreak: boolean }): void;
  read(buffer: Uint8Array): Promise<number | null>;
}

/** Options of {@link KeyInput.start}. */
export interface KeyInputOptions {
  /** Called with each key pressed (one character). */
  readonly onKey: (key: string) => void;
  /** Called when SIGQUIT (or SIGHUP, with `handleSighup`) arrives: the terminal is restored then. */
  readonly onSignal: () => void;
  /** Also take SIGHUP (false when the program uses it, as --all does for a catalog refresh). */
  readonly handleSighup: boolean;
  readonly stdin?: KeyStdin;
}

/** Keys read from a terminal's stdin until closed. */
export class KeyInput {
  readonly #stdin: KeyStdin;
  readonly #signals: Deno.Signal[];
  readonly #onSignal: () => void;
  #closed = false;

  private constructor(stdin: KeyStdin, options: KeyInputOptions) {
    this.#stdin = stdin;
    this.#onSignal = () => {
      this.close();
      options.onSignal();
    };
    this.#signals = options.handleSighup ? ["SIGQUIT", "SIGHUP"] : ["SIGQUIT"];
    for (const signal of this.#signals) Deno.addSignalListener(signal, this.#onSignal);
    globalThis.addEventListener("unload", this.#restore);
    void this.#read(options.onKey);
  }

  /**
   * Puts stdin in cbreak mode and reads keys; undefined (and nothing changed) when stdin is not a
   * terminal or cannot be switched.
   */
  static start(options: KeyInputOptions): KeyInput | undefined {
    const stdin = options.stdin ?? Deno.stdin;
    if (!stdin.isTerminal()) return undefined;
    try {
      stdin.setRaw(true, { cbreak: true });
    } catch {
      return undefined;
    }
    return new KeyInput(stdin, options);
  }

  /** Restores the terminal and stops listening; idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#restore();
    for (const signal of this.#signals) Deno.removeSignalListener(signal, this.#onSignal);
    globalThis.removeEventListener("unload", this.#restore);
  }

  readonly #restore = (): void => {
    try {
      this.#stdin.setRaw(false);
    } catch {
      // The terminal is gone: nothing to restore.
    }
  };

  async #read(onKey: (key: string) => void): Promise<void> {
    const buffer = new Uint8Array(64);
    const decoder = new TextDecoder();
    while (!this.#closed) {
      let n: number | null;
      try {
        n = await this.#stdin.read(buffer);
      } catch {
        return;
      }
      if (n === null) return;
      if (this.#closed) return;
      for (const key of decoder.decode(buffer.subarray(0, n))) onKey(key);
    }
  }
}
