// Starts server.ts as a real subprocess on an ephemeral port and reads its JSON log lines, for tests
// and scripts that need a running SDP server.

/** Permission flags the server runs with (the `server` permission set of deno.json). */
export const SERVER_PERMISSIONS = ["-P=server"];

/** V8 flags of the `server` task: a small heap, so RSS stays flat under garbage-heavy load. */
export const SERVER_V8_FLAGS = "--optimize-for-size,--max-old-space-size=64";

/** A running server subprocess. */
export interface ServerProcess extends AsyncDisposable {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  readonly process: Deno.ChildProcess;
  /** JSON log records read so far from stdout. */
  readonly logs: Record<string, unknown>[];
  /** Sends a signal and waits for the exit status. */
  stop(signal?: Deno.Signal): Promise<Deno.CommandStatus>;
}

const root = new URL("../../", import.meta.url);

/**
 * Spawns `deno run -P=server server.ts --port 0 --host 127.0.0.1 --log-format json ARGS` and waits
 * (at most `timeoutMs`) for its "Listening" line.
 */
export async function startServer(
  args: string[] = [],
  options: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<ServerProcess> {
  const process = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "--no-prompt",
      `--v8-flags=${Deno.env.get("GATEWAY_SERVER_V8_FLAGS") ?? SERVER_V8_FLAGS}`,
      ...SERVER_PERMISSIONS,
      "server.ts",
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      "--log-format",
      "json",
      ...args,
    ],
    cwd: root,
    env: options.env ?? {},
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const logs: Record<string, unknown>[] = [];
  const stderrText = new Response(process.stderr).text();
  const lines = process.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  let port: number | undefined;
  const deadline = Date.now() + (options.timeoutMs ?? 15_000);
  const pump = (async () => {
    while (true) {
      const { done, value } = await lines.read();
      if (done) return;
      buffered += value;
      let newline;
      while ((newline = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
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
      }
    }
  })();
  let exited = false;
  const status = process.status.then((s) => {
    exited = true;
    return s;
  });
  while (port === undefined && !exited && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  let stopped: Promise<Deno.CommandStatus> | undefined;
  const stop = (signal: Deno.Signal = "SIGTERM") => {
    if (stopped === undefined) {
      if (!exited) process.kill(signal);
      stopped = (async () => {
        const s = await status;
        await pump;
        const stderr = await stderrText;
        if (/Uncaught|panicked at/.test(stderr)) throw new Error(`server crashed:\n${stderr}`);
        return s;
      })();
    }
    return stopped;
  };
  if (port === undefined) {
    await stop("SIGKILL");
    throw new Error(`server did not start: ${await stderrText}\n${JSON.stringify(logs)}`);
  }
  return {
    url: `http://127.0.0.1:${port}`,
    process,
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
