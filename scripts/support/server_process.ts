// Starts server.ts (the SDP offer/answer server, RFC 3264) as a real subprocess under its
// permission set and V8 flags, on an ephemeral port, and reads its JSON log lines: for tests,
// scripts and benchmarks that need a running server.
import { delay } from "../../lib/common/delay.ts";
import { Child } from "./process.ts";
import { SERVER_PERMISSIONS, SERVER_V8_FLAGS } from "./server_flags.ts";
import { REPO_ROOT } from "./process.ts";

/** A running server subprocess. */
export interface ServerProcess extends AsyncDisposable {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  readonly process: Deno.ChildProcess;
  /** JSON log records read so far from stdout. */
  readonly logs: Record<string, unknown>[];
  /** Sends a signal and waits for the exit status; throws when stderr shows a crash. */
  stop(signal?: Deno.Signal): Promise<Deno.CommandStatus>;
}

/**
 * `deno` arguments that run server.ts as the `server` task does (its V8 flags, `-P=server`),
 * followed by `args`. GATEWAY_SERVER_V8_FLAGS overrides the V8 flags (to compare heap settings).
 */
export function serverDenoArgs(args: readonly string[]): string[] {
  return [
    "run",
    "--quiet",
    "--no-prompt",
    `--v8-flags=${Deno.env.get("GATEWAY_SERVER_V8_FLAGS") ?? SERVER_V8_FLAGS}`,
    ...SERVER_PERMISSIONS,
    "server.ts",
    ...args,
  ];
}

/** True when stderr shows an uncaught exception or promise rejection, or a Rust panic. */
export function showsCrash(stderr: string): boolean {
  return /Uncaught|panicked at/.test(stderr);
}

/**
 * Spawns `deno run -P=server server.ts --port 0 --host 127.0.0.1 --log-format json ARGS` and waits
 * (at most `timeoutMs`) for its "Listening" line.
 */
export async function startServer(
  args: string[] = [],
  options: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<ServerProcess> {
  const logs: Record<string, unknown>[] = [];
  let port: number | undefined;
  const child = new Child(
    Deno.execPath(),
    serverDenoArgs(["--host", "127.0.0.1", "--port", "0", "--log-format", "json", ...args]),
    {
      cwd: REPO_ROOT,
      env: options.env ?? {},
      onStdoutLine(line) {
        if (line === "") return;
        try {
          const record = JSON.parse(line) as Record<string, unknown>;
          logs.push(record);
          const props = record.properties as Record<string, unknown> | undefined;
          if (
            port === undefined && typeof props?.port === "number" &&
            String(record.message).startsWith("Listening")
          ) {
            port = props.port;
          }
        } catch {
          logs.push({ raw: line });
        }
      },
    },
  );
  const deadline = Date.now() + (options.timeoutMs ?? 15_000);
  while (port === undefined && !child.exited && Date.now() < deadline) await delay(20);
  let stopped: Promise<Deno.CommandStatus> | undefined;
  const stop = (signal: Deno.Signal = "SIGTERM") => {
    stopped ??= (async () => {
      child.kill(signal);
      const status = await child.status;
      if (showsCrash(child.stderr)) throw new Error(`server crashed:\n${child.stderr}`);
      return status;
    })();
    return stopped;
  };
  if (port === undefined) {
    await stop("SIGKILL");
    throw new Error(`server did not start: ${child.stderr}\n${JSON.stringify(logs)}`);
  }
  return {
    url: `http://127.0.0.1:${port}`,
    process: child.process,
    logs,
    stop,
    async [Symbol.asyncDispose]() {
      await stop();
    },
  };
}

/** {@link startServer} with a default stream on `group` and `port`, plus further `args`. */
export function startStreamServer(
  group: string,
  port: number,
  args: string[] = [],
  options: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<ServerProcess> {
  return startServer(
    ["--multicast-address", group, "--multicast-port", String(port), ...args],
    options,
  );
}
