// One-command demo: starts the SDP server, the MPEG-TS test source and the client on this host,
// shows the client's live statistics for 15 s (or until Ctrl-C), then stops all three and prints
// the client's summary beside the source's truth. Nothing leaves the host: everything binds to
// 127.0.0.1, the source sends with TTL 0 through the loopback interface, and the client joins there.
// Run: deno task demo [-- --seconds 15 --bitrate 2M --loss 0.01]
import { parseArgs } from "node:util";
import { SERVER_V8_FLAGS_ARG as V8_SERVER } from "./support/server_flags.ts";

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

/** Runs the demo; returns the client's exit code. */
export async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      seconds: { type: "string", default: "15" },
      bitrate: { type: "string", default: "2M" },
      loss: { type: "string", default: "0" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(
      "demo: server + test source + client on this host for --seconds (default 15), then the summary.\n" +
        "Options: --seconds S, --bitrate 2M, --loss P (the source drops packets; the client counts them).",
    );
    return 0;
  }
  const seconds = Number(values.seconds);
  if (!(seconds > 0 && seconds <= 3600)) {
    console.error(`demo: --seconds: expected 1-3600, got "${values.seconds}"`);
    return 2;
  }
  console.error("demo: starting the SDP server on 127.0.0.1 (ephemeral port)");
  const server = deno(
    [
      V8_SERVER,
      "-P=server",
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
    `demo: server on http://127.0.0.1:${port}; test source -> 239.0.0.1:5004, TTL 0, ${values.bitrate}bit/s`,
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
      values.bitrate,
      "--loss",
      values.loss,
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
