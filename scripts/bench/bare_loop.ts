// Runtime-ceiling receiver for the receive benchmarks: joins an IPv4 multicast group (RFC 1112) and
// only counts datagrams: Deno.DatagramConn.receive() into one buffer, or node:dgram events.
// Run (inside the bench's network namespace; run.ts starts it):
//   deno run -A scripts/bench/bare_loop.ts --group 239.1.2.3 --port 40000 --packets 100000 \
//     --seconds 10 [--api deno|dgram] [--rcvbuf BYTES]
// Writes "ready" to stderr once joined; stops at --packets, after --seconds or on SIGTERM, then
// prints one JSON line: {"received":N,"api":"deno","rcvbuf":BYTES|null,"rcvbufNote":...}.
import dgram from "node:dgram";
import { enlargeReceiveBuffer, type ReceiveBufferOutcome } from "../../lib/net/socket_buffer.ts";
import { ConfigError } from "../../lib/common/errors.ts";
import {
  exitCodeFor,
  parseFlags,
  parseIntegerFlag,
  parseSecondsFlag,
} from "../../lib/common/flags.ts";

interface LoopOptions {
  readonly group: string;
  readonly port: number;
  readonly packets: number;
  readonly seconds: number;
  readonly rcvbuf: number;
}

interface LoopResult {
  readonly received: number;
  readonly buffer: ReceiveBufferOutcome | undefined;
}

function applyBuffer(
  local: { hostname: string; port: number },
  bytes: number,
): ReceiveBufferOutcome | undefined {
  return bytes > 0 ? enlargeReceiveBuffer(local, bytes) : undefined;
}

async function denoLoop(options: LoopOptions, stop: AbortSignal): Promise<LoopResult> {
  const conn = Deno.listenDatagram({
    transport: "udp",
    hostname: options.group,
    port: options.port,
    reuseAddress: true,
  });
  const buffer = applyBuffer(conn.addr as Deno.NetAddr, options.rcvbuf);
  const membership = await conn.joinMulticastV4(options.group, "0.0.0.0");
  const bytes = new Uint8Array(65_536);
  let received = 0;
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    conn.close();
  };
  stop.addEventListener("abort", close, { once: true });
  const timer = setTimeout(close, options.seconds * 1000);
  console.error("ready");
  try {
    while (received < options.packets) {
      await conn.receive(bytes);
      received++;
    }
  } catch (error) {
    if (!closed) throw error;
  } finally {
    clearTimeout(timer);
    if (!closed) {
      await membership.leave().catch(() => {});
      close();
    }
  }
  return { received, buffer };
}

function dgramLoop(options: LoopOptions, stop: AbortSignal): Promise<LoopResult> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket({ type: "udp4", reuseAddr: true });
    let received = 0;
    let buffer: ReceiveBufferOutcome | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const finish = () => {
      clearTimeout(timer);
      stop.removeEventListener("abort", finish);
      socket.close();
      resolve({ received, buffer });
    };
    socket.on("error", reject);
    socket.on("message", () => {
      if (++received === options.packets) finish();
    });
    socket.bind(options.port, options.group, () => {
      socket.addMembership(options.group);
      const local = socket.address();
      buffer = applyBuffer({ hostname: local.address, port: local.port }, options.rcvbuf);
      timer = setTimeout(finish, options.seconds * 1000);
      stop.addEventListener("abort", finish, { once: true });
      console.error("ready");
    });
  });
}

/** Receive APIs the loop can count with. */
const APIS = ["deno", "dgram"] as const;

/** `--help` text of the loop. */
const BARE_LOOP_USAGE = `bare_loop: joins an IPv4 multicast group and only counts datagrams.

Usage: deno run -A scripts/bench/bare_loop.ts --group G --port P [options]
  --packets N     Stop after N datagrams (default 1000000)
  --seconds S     Stop after S seconds (default 10)
  --api A         deno (receive into one buffer) or dgram (node:dgram); default deno
  --rcvbuf BYTES  Socket receive buffer to ask for (default 0: the kernel default)
  -h, --help      Show this help and exit
Exit codes: 0 counted, 2 usage error.
`;

/** Parses the loop's flags; throws ConfigError naming the bad flag. */
function parseLoopArgs(args: string[]): "help" | LoopOptions & { api: typeof APIS[number] } {
  const values = parseFlags(args, {
    group: { type: "string" },
    port: { type: "string" },
    packets: { type: "string", default: "1000000" },
    seconds: { type: "string", default: "10" },
    api: { type: "string", default: "deno" },
    rcvbuf: { type: "string", default: "0" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) return "help";
  const group = values.group ?? "";
  if (!/^2(2[4-9]|3\d)\./.test(group) || values.port === undefined) {
    throw new ConfigError(
      "--group",
      "--group must be an IPv4 multicast group and --port a UDP port",
    );
  }
  const api = APIS.find((a) => a === values.api);
  if (api === undefined) {
    throw new ConfigError("--api", `--api: expected ${APIS.join(", ")}, got "${values.api}"`);
  }
  return {
    group,
    port: parseIntegerFlag(values.port, "--port", 1, 65_535),
    packets: parseIntegerFlag(values.packets, "--packets", 1, Number.MAX_SAFE_INTEGER),
    seconds: parseSecondsFlag(values.seconds, "--seconds"),
    rcvbuf: parseIntegerFlag(values.rcvbuf, "--rcvbuf", 0, 1024 * 1024 * 1024),
    api,
  };
}

/** Runs one counting loop; returns the exit code (2 on a usage error). */
export async function main(args: string[]): Promise<number> {
  let options;
  try {
    options = parseLoopArgs(args);
  } catch (error) {
    return exitCodeFor("bare_loop", error);
  }
  if (options === "help") {
    console.log(BARE_LOOP_USAGE);
    return 0;
  }
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  Deno.addSignalListener("SIGTERM", onSignal);
  try {
    const result = options.api === "dgram"
      ? await dgramLoop(options, stop.signal)
      : await denoLoop(options, stop.signal);
    console.log(JSON.stringify({
      received: result.received,
      api: options.api,
      rcvbuf: result.buffer?.ok ? result.buffer.bytes : null,
      rcvbufNote: result.buffer === undefined || result.buffer.ok ? null : result.buffer.reason,
    }));
    return 0;
  } finally {
    Deno.removeSignalListener("SIGTERM", onSignal);
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
