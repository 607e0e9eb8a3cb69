// Process and kernel-counter helpers for the benchmark suite: child processes whose output can be
// waited on, CPU time and RSS from /proc/PID (proc(5)), UDP socket queues and RcvbufErrors from
// /proc/net (RFC 1213 udpInErrors family). Used by scripts/bench/run.ts; not a runnable script.

/** What a finished child process left behind. */
export interface ChildResult {
  readonly code: number;
  readonly signal: Deno.Signal | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A child process with its output collected as text. */
export class Child {
  readonly process: Deno.ChildProcess;
  readonly pid: number;
  /** performance.now() when the process was spawned. */
  readonly startedMs: number;
  #stdout = "";
  #stderr = "";
  #firstStdoutMs: number | undefined;
  #done: Promise<ChildResult>;
  #exited = false;

  constructor(
    command: string,
    args: string[],
    options: { cwd?: string; env?: Record<string, string>; stdout?: "piped" | "null" } = {},
  ) {
    this.startedMs = performance.now();
    const process = new Deno.Command(command, {
      args,
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
      ...(options.env === undefined ? {} : { env: options.env }),
      stdin: "null",
      stdout: options.stdout ?? "piped",
      stderr: "piped",
    }).spawn();
    this.process = process;
    this.pid = process.pid;
    const decode = async (
      stream: ReadableStream<Uint8Array> | null,
      append: (text: string) => void,
    ) => {
      if (stream === null) return;
      for await (const chunk of stream.pipeThrough(new TextDecoderStream())) append(chunk);
    };
    const out = options.stdout === "null" ? Promise.resolve() : decode(process.stdout, (t) => {
      this.#firstStdoutMs ??= performance.now();
      this.#stdout += t;
    });
    const err = decode(process.stderr, (t) => (this.#stderr += t));
    this.#done = (async () => {
      const status = await process.status;
      this.#exited = true;
      await Promise.all([out, err]);
      return {
        code: status.code,
        signal: status.signal,
        stdout: this.#stdout,
        stderr: this.#stderr,
      };
    })();
  }

  /** performance.now() when the first stdout bytes arrived, if any did. */
  get firstStdoutMs(): number | undefined {
    return this.#firstStdoutMs;
  }

  /** Standard output so far. */
  get stdout(): string {
    return this.#stdout;
  }

  /** Standard error so far. */
  get stderr(): string {
    return this.#stderr;
  }

  /** True once the process has exited. */
  get exited(): boolean {
    return this.#exited;
  }

  /** Resolves with performance.now() once stderr (or stdout) matches; throws after `timeoutMs`. */
  async waitFor(
    pattern: RegExp,
    timeoutMs: number,
    where: "stderr" | "stdout" = "stderr",
  ): Promise<number> {
    const deadline = performance.now() + timeoutMs;
    while (true) {
      if (pattern.test(where === "stderr" ? this.#stderr : this.#stdout)) return performance.now();
      if (this.#exited) {
        await this.#done;
        if (pattern.test(where === "stderr" ? this.#stderr : this.#stdout)) {
          return performance.now();
        }
        throw new Error(`process exited before printing ${pattern}: ${this.#stderr.slice(-500)}`);
      }
      if (performance.now() > deadline) {
        throw new Error(`no ${pattern} within ${timeoutMs} ms: ${this.#stderr.slice(-500)}`);
      }
      await delay(5);
    }
  }

  /** Sends `signal` unless exited; waits up to `timeoutMs` for the exit, then SIGKILL. */
  async stop(signal: Deno.Signal = "SIGTERM", timeoutMs = 5000): Promise<ChildResult> {
    if (!this.#exited) {
      try {
        this.process.kill(signal);
      } catch {
        // Exited meanwhile.
      }
    }
    return await this.finished(timeoutMs);
  }

  /** Waits up to `timeoutMs` for the exit, then SIGKILLs it. */
  async finished(timeoutMs = 30_000): Promise<ChildResult> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), timeoutMs);
    });
    const first = await Promise.race([this.#done, timeout]);
    clearTimeout(timer);
    if (first === "timeout") {
      try {
        this.process.kill("SIGKILL");
      } catch {
        // Exited meanwhile.
      }
    }
    return await this.#done;
  }
}

/** Resolves after `ms` milliseconds. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Clock ticks per second of /proc/PID/stat times (USER_HZ: 100 on every Linux architecture). */
export const CLOCK_TICKS_PER_S = 100;

/** User + system CPU time of a process in clock ticks (proc(5): fields 14 and 15 of stat). */
export function cpuTicks(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // fields[0] is field 3 (state); utime is field 14, stime field 15.
  return Number(fields[11]) + Number(fields[12]);
}

/** Resident set size of a process in KiB (VmRSS of /proc/PID/status). */
export function rssKiB(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const match = /^VmRSS:\s+(\d+) kB/m.exec(status);
  if (match === null) throw new Error(`no VmRSS for process ${pid}`);
  return Number(match[1]);
}

/** UDP `RcvbufErrors` of this network namespace: datagrams dropped because a socket buffer was full. */
export function udpRcvbufErrors(): number {
  const lines = Deno.readTextFileSync("/proc/net/snmp").split("\n").filter((l) =>
    l.startsWith("Udp:")
  );
  const names = lines[0]?.split(/\s+/) ?? [];
  const values = lines[1]?.split(/\s+/) ?? [];
  const index = names.indexOf("RcvbufErrors");
  return index < 0 ? 0 : Number(values[index]);
}

/** Bytes queued in all IPv4 UDP sockets bound to `port` (rx_queue of /proc/net/udp). */
export function udpQueuedBytes(port: number): number {
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  let queued = 0;
  for (const line of Deno.readTextFileSync("/proc/net/udp").split("\n").slice(1)) {
    const columns = line.trim().split(/\s+/);
    if (columns[1]?.endsWith(`:${hexPort}`)) {
      queued += parseInt(columns[4]?.split(":")[1] ?? "0", 16);
    }
  }
  return queued;
}

/** Waits (at most `timeoutMs`) until no UDP socket on `port` has queued datagrams. */
export async function waitForDrain(port: number, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (udpQueuedBytes(port) === 0) return true;
    await delay(10);
  }
  return false;
}

/** A free TCP port on 127.0.0.1 (bound, read and released; fine inside the private namespace). */
export function freeTcpPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Waits until a TCP connection to 127.0.0.1:port succeeds. */
export async function waitForTcp(port: number, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (true) {
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conn.close();
      return;
    } catch (error) {
      if (performance.now() > deadline) {
        throw new Error(`nothing listens on 127.0.0.1:${port}`, { cause: error });
      }
      await delay(20);
    }
  }
}

/** Median of a non-empty list. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
