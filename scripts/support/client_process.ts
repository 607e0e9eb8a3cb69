// Runs client.ts (the RTP multicast client, RFC 3550 receiver statistics) as a real subprocess under
// its permission set, collecting its JSON lines from stdout and its log text from stderr, with a
// way to wait for a log line. GATEWAY_CLIENT_RECEIVER=kernel|deno picks the receive path of every
// client started here (scripts/netns_test.sh runs the client tests once per path).
import { Child, REPO_ROOT } from "./process.ts";
import { showsCrash } from "./server_process.ts";

/** Environment variable that chooses the clients' receive path (`--receiver`) in tests. */
export const CLIENT_RECEIVER_ENV = "GATEWAY_CLIENT_RECEIVER";

/** The receive path the tests ask for (`kernel`, `deno`), or undefined for the client's default. */
export function testReceiver(): "kernel" | "deno" | undefined {
  let value: string | undefined;
  try {
    value = Deno.env.get(CLIENT_RECEIVER_ENV);
  } catch {
    return undefined; // no env permission: the default
  }
  if (value === undefined || value === "" || value === "auto") return undefined;
  if (value !== "kernel" && value !== "deno") {
    throw new Error(`${CLIENT_RECEIVER_ENV} must be kernel, deno or auto, got "${value}"`);
  }
  return value;
}

/** `--receiver PATH` when the tests ask for one path, else nothing (appended to client args). */
export function receiverArgs(): string[] {
  const receiver = testReceiver();
  return receiver === undefined ? [] : ["--receiver", receiver];
}

/** The receive path a client run used, from its first log line. */
export function receiverUsed(stderr: string): "kernel" | "deno" | undefined {
  return /Receiving through the (kernel|deno) path/.exec(stderr)?.[1] as
    | "kernel"
    | "deno"
    | undefined;
}

/** A running client subprocess. */
export interface ClientProcess {
  readonly process: Deno.ChildProcess;
  /** The wrapper around it (output so far, start time, stop). */
  readonly child: Child;
  /** Resolves when stderr has matched `pattern` (rejects after `timeoutMs`). */
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** Waits for the exit; returns code, JSON records and stderr text; throws on a crash. */
  finished(): Promise<ClientResult>;
}

/** What a client run produced. */
export interface ClientResult {
  readonly code: number;
  readonly records: Record<string, unknown>[];
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * `deno` arguments that run client.ts as the `client` task does, followed by `args` (and the
 * receive path the tests ask for, see {@link receiverArgs}).
 */
export function clientDenoArgs(args: readonly string[]): string[] {
  return ["run", "--quiet", "--no-prompt", "-P=client", "client.ts", ...args, ...receiverArgs()];
}

/** The JSON lines of a client's stdout, parsed. */
export function clientRecords(stdout: string): Record<string, unknown>[] {
  return stdout.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
}

/** Summary records of a client run (one per source, or one with `ssrc: null` without packets). */
export function summaries(records: readonly Record<string, unknown>[]): Record<string, unknown>[] {
  return records.filter((r) => r.type === "summary");
}

/** Spawns `deno run -P=client client.ts ARGS` (env cleared but for `env`). */
export function spawnClient(args: string[], env: Record<string, string> = {}): ClientProcess {
  const child = new Child(Deno.execPath(), clientDenoArgs(args), {
    cwd: REPO_ROOT,
    env,
    clearEnv: true,
  });
  return {
    process: child.process,
    child,
    async waitForLog(pattern, timeoutMs = 15_000) {
      await child.waitFor(pattern, { timeoutMs });
    },
    async finished() {
      const status = await child.status;
      // Every run doubles as a check that nothing escaped: Deno reports an unhandled promise
      // rejection or exception as "Uncaught" and a Rust panic as "panicked".
      if (showsCrash(child.stderr)) throw new Error(`client crashed:\n${child.stderr}`);
      return {
        code: status.code,
        records: clientRecords(child.stdout),
        stdout: child.stdout,
        stderr: child.stderr,
      };
    },
  };
}

/** Runs the client to completion. */
export function runClient(args: string[], env: Record<string, string> = {}): Promise<ClientResult> {
  return spawnClient(args, env).finished();
}
