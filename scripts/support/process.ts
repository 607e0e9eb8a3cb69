// The one process wrapper of the scripts, benchmarks and tests: a child process whose output is
// collected as text (line callbacks, an optional cap), that can be waited on for a pattern, and
// that is stopped politely, then with SIGKILL after a grace period (signal(7)).
import { delay } from "../../lib/common/delay.ts";

/** The repository root: the working directory programs and scripts are started in. */
export const REPO_ROOT: URL = new URL("../../", import.meta.url);

/** Options of {@link Child}. */
export interface ChildOptions {
  /** Working directory (default: the current one). */
  readonly cwd?: string | URL;
  /** Environment variables to add (or, with `clearEnv`, the whole environment). */
  readonly env?: Record<string, string>;
  readonly clearEnv?: boolean;
  /** Default "null" ("piped" when `input` is given). */
  readonly stdin?: "null" | "inherit";
  /** Written to the child's standard input, which is then closed (e.g. a text for a linter). */
  readonly input?: string | Uint8Array;
  /** "piped" (default) collects the output as text. */
  readonly stdout?: "piped" | "null" | "inherit";
  readonly stderr?: "piped" | "null" | "inherit";
  /** Keep at most this many characters of each output (its end); default: all of it. */
  readonly captureLimit?: number;
  /** Called for every complete line of stdout (and the last partial one at the end). */
  readonly onStdoutLine?: (line: string) => void;
  readonly onStderrLine?: (line: string) => void;
}

/** What a finished child process left behind. */
export interface ChildResult {
  readonly code: number;
  readonly signal: Deno.Signal | null;
  readonly success: boolean;
  readonly stdout: string;
  readonly stderr: string;
}

/** Collects a text stream, keeping at most `limit` characters, and calls back line by line. */
class TextCapture {
  #text = "";
  #partial = "";
  readonly #limit: number;
  readonly #onLine: ((line: string) => void) | undefined;

  constructor(limit: number, onLine?: (line: string) => void) {
    this.#limit = limit;
    this.#onLine = onLine;
  }

  push(chunk: string): void {
    this.#text += chunk;
    if (this.#text.length > this.#limit) this.#text = this.#text.slice(-this.#limit);
    if (this.#onLine === undefined) return;
    const lines = (this.#partial + chunk).split("\n");
    this.#partial = lines.pop() ?? "";
    for (const line of lines) this.#onLine(line);
  }

  end(): void {
    if (this.#partial !== "" && this.#onLine !== undefined) this.#onLine(this.#partial);
    this.#partial = "";
  }

  get text(): string {
    return this.#text;
  }
}

async function pump(
  stream: ReadableStream<Uint8Array> | null,
  capture: TextCapture,
  onFirst?: () => void,
): Promise<void> {
  if (stream === null) return;
  try {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      onFirst?.();
      capture.push(chunk);
    }
  } finally {
    capture.end();
  }
}

/** Writes `input` to a child's standard input and closes it; a child that exits first ends it. */
async function feed(stdin: WritableStream<Uint8Array>, input: string | Uint8Array): Promise<void> {
  const writer = stdin.getWriter();
  try {
    await writer.write(typeof input === "string" ? new TextEncoder().encode(input) : input);
    await writer.close();
  } catch {
    // The child closed its standard input (it exited, or reads no more): its status tells.
  }
}

/** Races `promise` against a deadline; resolves `undefined` on timeout and clears its timer. */
export async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A spawned child process. Piped output is collected as text; {@link status} resolves once the
 * process has exited and its output is drained. `await using` stops it ({@link stop}).
 * The constructor throws what Deno.Command's spawn throws (e.g. NotFound for a missing program).
 */
export class Child implements AsyncDisposable {
  readonly process: Deno.ChildProcess;
  readonly pid: number;
  /** The command line, program first. */
  readonly command: readonly string[];
  /** performance.now() when the process was spawned. */
  readonly startedMs: number;
  /** Exit status, once the process has ended and its output is drained. */
  readonly status: Promise<Deno.CommandStatus>;
  readonly #out: TextCapture;
  readonly #err: TextCapture;
  #firstStdoutMs: number | undefined;
  #exited = false;

  constructor(program: string, args: readonly string[], options: ChildOptions = {}) {
    this.command = [program, ...args];
    this.startedMs = performance.now();
    const limit = options.captureLimit ?? Infinity;
    this.#out = new TextCapture(limit, options.onStdoutLine);
    this.#err = new TextCapture(limit, options.onStderrLine);
    const stdout = options.stdout ?? "piped";
    const stderr = options.stderr ?? "piped";
    this.process = new Deno.Command(program, {
      args: [...args],
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
      ...(options.env === undefined ? {} : { env: options.env }),
      clearEnv: options.clearEnv ?? false,
      stdin: options.input === undefined ? options.stdin ?? "null" : "piped",
      stdout,
      stderr,
    }).spawn();
    this.pid = this.process.pid;
    const fed = options.input === undefined ? undefined : feed(this.process.stdin, options.input);
    const drained = Promise.all([
      stdout === "piped"
        ? pump(this.process.stdout, this.#out, () => this.#firstStdoutMs ??= performance.now())
        : undefined,
      stderr === "piped" ? pump(this.process.stderr, this.#err) : undefined,
    ]);
    this.status = this.process.status.then(async (status) => {
      this.#exited = true;
      await drained;
      await fed;
      return status;
    });
  }

  /** Standard output so far (the last `captureLimit` characters). */
  get stdout(): string {
    return this.#out.text;
  }

  /** Standard error so far (the last `captureLimit` characters). */
  get stderr(): string {
    return this.#err.text;
  }

  /** performance.now() when the first stdout bytes arrived, if any did. */
  get firstStdoutMs(): number | undefined {
    return this.#firstStdoutMs;
  }

  /** True once the process has exited. */
  get exited(): boolean {
    return this.#exited;
  }

  /** Sends `signal` unless the process has exited already. */
  kill(signal: Deno.Signal = "SIGTERM"): void {
    if (this.#exited) return;
    try {
      this.process.kill(signal);
    } catch {
      // Exited meanwhile.
    }
  }

  /**
   * Resolves with performance.now() once stderr (or stdout) matches `pattern`; throws when the
   * process exits without printing it or after `timeoutMs`, quoting the end of its stderr.
   */
  async waitFor(
    pattern: RegExp,
    options: { timeoutMs?: number; stream?: "stderr" | "stdout" } = {},
  ): Promise<number> {
    const timeoutMs = options.timeoutMs ?? 15_000;
    const text = () => options.stream === "stdout" ? this.stdout : this.stderr;
    const deadline = performance.now() + timeoutMs;
    while (true) {
      if (pattern.test(text())) return performance.now();
      if (this.#exited) {
        await this.status;
        if (pattern.test(text())) return performance.now();
        throw new Error(
          `${this.#name()} exited before printing ${pattern}; stderr:\n${this.stderr.slice(-2000)}`,
        );
      }
      if (performance.now() > deadline) {
        throw new Error(
          `${this.#name()} printed no ${pattern} within ${timeoutMs} ms; stderr:\n` +
            this.stderr.slice(-2000),
        );
      }
      await delay(5);
    }
  }

  /** Waits up to `timeoutMs` for the exit, then SIGKILLs the process; returns what it left. */
  async finished(timeoutMs = 30_000): Promise<ChildResult> {
    if (await within(this.status, timeoutMs) === undefined) this.kill("SIGKILL");
    return this.#result(await this.status);
  }

  /** Sends `signal` (unless exited), waits up to `graceMs` for the exit, then SIGKILL; returns what the process left. */
  async stop(signal: Deno.Signal = "SIGTERM", graceMs = 5_000): Promise<ChildResult> {
    this.kill(signal);
    return await this.finished(graceMs);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  #result(status: Deno.CommandStatus): ChildResult {
    return {
      code: status.code,
      signal: status.signal,
      success: status.success,
      stdout: this.stdout,
      stderr: this.stderr,
    };
  }

  #name(): string {
    return this.command.slice(0, 3).join(" ");
  }
}

/** Runs a command to the end (SIGKILL after `timeoutMs`, default 5 minutes) and returns its output. */
export async function runToEnd(
  program: string,
  args: readonly string[],
  options: ChildOptions & { timeoutMs?: number } = {},
): Promise<ChildResult> {
  return await new Child(program, args, options).finished(options.timeoutMs ?? 300_000);
}

/** Spawns `deno ARGS` (the running Deno executable) in the repository root unless `cwd` says otherwise. */
export function spawnDeno(args: readonly string[], options: ChildOptions = {}): Child {
  return new Child(Deno.execPath(), args, { cwd: REPO_ROOT, ...options });
}

/** Runs `deno ARGS` to the end in the repository root; see {@link runToEnd}. */
export function runDeno(
  args: readonly string[],
  options: ChildOptions & { timeoutMs?: number } = {},
): Promise<ChildResult> {
  return runToEnd(Deno.execPath(), args, { cwd: REPO_ROOT, ...options });
}
