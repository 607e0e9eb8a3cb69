// One-command demo: starts the SDP server, the MPEG-TS test source and the client on this host,
// shows the client's live statistics for 15 s (or until Ctrl-C), then stops all three and prints
// the client's summary beside the source's truth. Nothing leaves the host: everything binds to
// 127.0.0.1, the source sends with TTL 0 through the loopback interface, and the client joins there.
// Run: deno task demo [-- --seconds 15 --bitrate 2M --loss 0.01]
import { SERVER_PERMISSIONS, SERVER_V8_FLAGS_ARG as V8_SERVER } from "./support/server_flags.ts";
import { ConfigError } from "../lib/common/errors.ts";
import { exitCodeFor, parseFlags, parseSecondsFlag } from "../lib/common/flags.ts";
import { MAX_SOURCE_BITRATE } from "../lib/source/rtp_source.ts";
import { MIN_TS_BITRATE } from "../lib/source/ts_muxer.ts";
import { parseSourceArgs } from "./source.ts";

const root = new URL("../", import.meta.url);

function deno(
  args: string[],
  stdout: "piped" | "inherit" | "null",
  stderr: "piped" | "inherit" | "null",
) {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "--no-prompt", ...args],
    cwd: root,
    stdin: "null",
    stdout,
    stderr,
  }).spawn();
}

/** Reads the first JSON line of a stream, then keeps draining the rest in the background. */
async function firstJsonLine(
  stream: ReadableStream<Uint8Array>,
): Promise<{ record: Record<string, unknown>; drained: Promise<void> }> {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { done, value } = await reader.read();
    if (done) throw new Error("the server ended before it listened");
    text += value;
  }
  const drained = (async () => {
    while (!(await reader.read()).done) {
      // discard the request log
    }
  })();
  return { record: JSON.parse(text.slice(0, text.indexOf("\n"))), drained };
}

/** `--help` text of the demo. */
export const DEMO_USAGE = `demo: SDP server + test source + client on this host, then the summary.

Usage: deno task demo [-- options]
  --seconds S   How long the client shows its statistics, 1-3600 (default 15)
  --bitrate R   Bitrate of the test source: 2000000, 2M, 500k (default 2M; 250k to 100M)
  --loss P      Probability 0-1 that the source drops a packet (default 0); the client counts them
  -h, --help    Show this help and exit

Nothing leaves the host: the server listens on 127.0.0.1, the source sends with TTL 0 through the
loopback interface. On a terminal the client draws its live table; otherwise JSON lines.
Exit codes: the client's (0 packets received), 2 usage error.
`;

/** What the demo runs with. */
export interface DemoOptions {
  readonly seconds: number;
  readonly bitrate: string;
  readonly loss: string;
}

/** Parses the demo's flags (a leading `--` from `deno task demo -- ...` is dropped); throws ConfigError. */
export function parseDemoArgs(args: string[]): { kind: "help" } | DemoOptions & { kind: "run" } {
  const values = parseFlags(args, {
    seconds: { type: "string" },
    bitrate: { type: "string" },
    loss: { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) return { kind: "help" };
  const seconds = values.seconds === undefined ? 15 : parseSecondsFlag(values.seconds, "--seconds");
  if (seconds > 3600) {
    throw new ConfigError("--seconds", `--seconds: expected at most 3600, got "${values.seconds}"`);
  }
  const bitrate = values.bitrate ?? "2M";
  const loss = values.loss ?? "0";
  // The source's own parser names the flag, so a bad value stops the demo before anything starts.
  const source = parseSourceArgs(["--bitrate", bitrate, "--loss", loss]);
  const bits = source.kind === "run" ? source.options.bitrate ?? 0 : 0;
  if (bits < MIN_TS_BITRATE || bits > MAX_SOURCE_BITRATE) {
    throw new ConfigError("--bitrate", `--bitrate: expected 250k to 100M, got "${bitrate}"`);
  }
  return { kind: "run", seconds, bitrate, loss };
}

/** Runs the demo; returns the client's exit code. */
export async function main(args: string[]): Promise<number> {
  let options;
  try {
    options = parseDemoArgs(args);
  } catch (error) {
    return exitCodeFor("demo", error);
  }
  if (options.kind === "help") {
    console.log(DEMO_USAGE);
    return 0;
  }
  const { seconds } = options;
  console.error("demo: starting the SDP server on 127.0.0.1 (ephemeral port)");
  const server = deno(
    [
      V8_SERVER,
      ...SERVER_PERMISSIONS,
      "server.ts",
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      "--log-format",
      "json",
    ],
    "piped",
    "inherit",
  );
  // The first line says where it listens; the rest (request log) is drained so it never blocks.
  const listening = await firstJsonLine(server.stdout);
  const port = (listening.record.properties as { port: number }).port;

  console.error(
    `demo: server on http://127.0.0.1:${port}; test source -> 239.0.0.1:5004, TTL 0, ${options.bitrate}bit/s`,
  );
  const source = deno(
    [
      "-P=source",
      "scripts/source.ts",
      "--interface",
      "127.0.0.1",
      "--ttl",
      "0",
      "--bitrate",
      options.bitrate,
      "--loss",
      options.loss,
      "--seed",
      "1",
      "--duration",
      String(seconds + 10),
      "--json",
    ],
    "piped",
    "inherit",
  );
  const truthText = new Response(source.stdout).text();

  const client = deno(
    [
      "-P=client",
      "client.ts",
      "--server",
      `http://127.0.0.1:${port}`,
      "--interface",
      "127.0.0.1",
      "--duration",
      String(seconds),
    ],
    "inherit",
    "inherit",
  );
  // Ctrl-C reaches the whole process group: the client prints its summary, the others stop.
  const ignore = () => {};
  Deno.addSignalListener("SIGINT", ignore);
  try {
    const status = await client.status;
    for (const child of [source, server]) {
      try {
        child.kill("SIGTERM");
      } catch {
        // already gone
      }
    }
    await source.status;
    await server.status;
    await listening.drained.catch(() => {});
    const truth = (await truthText).trim().split("\n").filter((l) => l.startsWith("{")).pop();
    if (truth !== undefined) {
      const t = JSON.parse(truth);
      console.error(
        `demo: the source generated ${t.generated} packets, sent ${t.sent}, dropped ${t.dropped} (lost ${t.lost}), ` +
          `duplicated ${t.duplicated}, reordered ${t.reordered}`,
      );
    }
    return status.code;
  } finally {
    Deno.removeSignalListener("SIGINT", ignore);
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
