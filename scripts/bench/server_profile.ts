// Where server.ts spends its time under the benchmark's load: wrk POSTs the VLC-style offer (RFC 3264)
// over 64 connections while V8's sampling profiler runs through the inspector (Chrome DevTools
// Protocol); prints the top functions and parts of the program by self time, in µs per request.
// Run: deno run -A scripts/bench/server_profile.ts [-- --log text|json|quiet --seconds 5 --top 25
//      --out server.cpuprofile]   (HTTP to 127.0.0.1 only; wrk from Debian)
import { exitCodeFor, parseFlags, parseIntegerFlag } from "../../lib/common/flags.ts";
import { ConfigError } from "../../lib/common/errors.ts";
import { freeTcpPort, waitForTcp } from "../support/endpoints.ts";
import { serverDenoArgs } from "../support/server_process.ts";
import { CLOCK_TICKS_PER_S, cpuTicks } from "../support/proc_counters.ts";
import { Child } from "../support/process.ts";
import { runWrk } from "./server_bench.ts";
import { type CpuProfile, summariseProfile } from "./cpu_profile.ts";

const ROOT = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");

/** What can be profiled. */
const PROGRAMS = [
  "server",
  "constant",
  "constant-policy",
  "request-floor",
  "request-floor-policy",
] as const;
type Program = typeof PROGRAMS[number];

/** `--help` text. */
export const PROFILE_USAGE = `server_profile: a CPU profile of server.ts under wrk's load.

Usage: deno run -A scripts/bench/server_profile.ts [-- options]
  --log MODE          Access log: text, json (default) or quiet (--quiet)
  --program NAME      server (default), constant (scripts/bench/const_server.ts: the plain
                      Deno.serve baseline), constant-policy (the same through the server's
                      accept loop), request-floor (const_server.ts --read-request) or
                      request-floor-policy (both)
  --seconds N         Profiled seconds of load (default 5, at most 60), after a 1 s warm-up
  --connections N     wrk connections (default 64)
  --interval-us N     Sampling interval in µs (default 100)
  --top N             Functions listed (default 25)
  --out FILE          Also write the profile (.cpuprofile, for Chrome DevTools)
  -h, --help          Show this help and exit
`;

/** A minimal Chrome DevTools Protocol client over the inspector's WebSocket. */
class Inspector {
  readonly #socket: WebSocket;
  readonly #pending = new Map<number, (message: Record<string, unknown>) => void>();
  #next = 1;

  private constructor(socket: WebSocket) {
    this.#socket = socket;
    socket.onmessage = (event) => {
      const message = JSON.parse(String(event.data)) as Record<string, unknown>;
      if (typeof message.id === "number") this.#pending.get(message.id)?.(message);
    };
  }

  static async connect(url: string): Promise<Inspector> {
    const socket = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      socket.onopen = () => resolve();
      socket.onerror = () => reject(new Error(`Cannot connect to the inspector at ${url}`));
    });
    return new Inspector(socket);
  }

  send(method: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, (message) => {
        this.#pending.delete(id);
        if (message.error !== undefined) {
          reject(new Error(`${method}: ${JSON.stringify(message.error)}`));
        } else resolve((message.result ?? {}) as Record<string, unknown>);
      });
      this.#socket.send(JSON.stringify({ id, method, params }));
    });
  }

  close(): void {
    this.#socket.close();
  }
}

function pad(text: string, width: number): string {
  return text.length >= width ? text : text + " ".repeat(width - text.length);
}

/** Profiles the server; returns the exit code (2 on a usage error). */
export async function main(args: string[]): Promise<number> {
  let options;
  try {
    const values = parseFlags(args, {
      log: { type: "string", default: "json" },
      program: { type: "string", default: "server" },
      seconds: { type: "string", default: "5" },
      connections: { type: "string", default: "64" },
      "interval-us": { type: "string", default: "100" },
      top: { type: "string", default: "25" },
      out: { type: "string" },
      help: { type: "boolean", short: "h" },
    });
    if (values.help) {
      console.log(PROFILE_USAGE);
      return 0;
    }
    if (!["text", "json", "quiet"].includes(values.log)) {
      throw new ConfigError("--log", `--log: expected text, json or quiet, got "${values.log}"`);
    }
    if (!PROGRAMS.includes(values.program as Program)) {
      throw new ConfigError(
        "--program",
        `--program: expected ${PROGRAMS.join(", ")}, got "${values.program}"`,
      );
    }
    options = {
      program: values.program as Program,
      log: values.log,
      seconds: parseIntegerFlag(values.seconds, "--seconds", 1, 60),
      connections: parseIntegerFlag(values.connections, "--connections", 1, 1024),
      intervalUs: parseIntegerFlag(values["interval-us"], "--interval-us", 10, 100_000),
      top: parseIntegerFlag(values.top, "--top", 1, 1000),
      out: values.out,
    };
  } catch (error) {
    return exitCodeFor("server_profile", error);
  }
  const port = freeTcpPort();
  const logArgs = options.log === "quiet" ? ["--quiet"] : ["--log-format", options.log];
  const denoArgs = options.program === "server"
    ? serverDenoArgs(["--host", "127.0.0.1", "--port", String(port), ...logArgs])
    : [
      "run",
      "--quiet",
      "--allow-net",
      "scripts/bench/const_server.ts",
      "--port",
      String(port),
      ...(options.program.endsWith("policy") ? ["--connection-policy"] : []),
      ...(options.program.startsWith("request-floor") ? ["--read-request"] : []),
    ];
  // The inspector on a free port; /json/list there names the WebSocket of the main thread.
  const inspectPort = freeTcpPort();
  denoArgs.splice(1, 0, `--inspect=127.0.0.1:${inspectPort}`);
  const server = new Child(Deno.execPath(), denoArgs, { cwd: ROOT, stdout: "null" });
  const ctx = {
    root: ROOT,
    deno: Deno.execPath(),
    offerFile: `${ROOT}/tests/testdata/offer_vlc_style.sdp`,
    log: (text: string) => console.error(text),
  };
  try {
    await waitForTcp(port, 20_000);
    const targets = await (await fetch(`http://127.0.0.1:${inspectPort}/json/list`)).json() as {
      webSocketDebuggerUrl: string;
    }[];
    const url = targets[0]?.webSocketDebuggerUrl;
    if (url === undefined) throw new Error("The inspector lists no target");
    const inspector = await Inspector.connect(url);
    try {
      await inspector.send("Profiler.enable");
      await inspector.send("Profiler.setSamplingInterval", { interval: options.intervalUs });
      await runWrk(ctx, `http://127.0.0.1:${port}/offer`, {
        seconds: 1,
        connections: options.connections,
      });
      const ticksBefore = cpuTicks(server.pid);
      await inspector.send("Profiler.start");
      const wrk = await runWrk(ctx, `http://127.0.0.1:${port}/offer`, {
        seconds: options.seconds,
        connections: options.connections,
      });
      const { profile } = await inspector.send("Profiler.stop") as { profile: CpuProfile };
      const cpuUsed = (cpuTicks(server.pid) - ticksBefore) / CLOCK_TICKS_PER_S;
      if (options.out !== undefined) await Deno.writeTextFile(options.out, JSON.stringify(profile));
      const summary = summariseProfile(profile, { root: ROOT, top: options.top });
      const requests = Math.max(1, wrk.requests);
      const perRequest = (us: number) => (us / requests).toFixed(2).padStart(7);
      const busyUs = summary.totalUs - summary.idleUs;
      const lines = [
        `${
          options.program === "server" ? `server.ts (${options.log} log)` : options.program
        }, wrk -c${options.connections} for ${options.seconds} s: ` +
        `${
          wrk.requestsPerS.toFixed(0)
        } requests/s, p99 ${wrk.p99Ms} ms, ${wrk.requests} requests, ` +
        `${wrk.non2xx + wrk.socketErrors} errors`,
        `process CPU ${(cpuUsed * 1e6 / requests).toFixed(1)} µs/request (all threads); ` +
        `main thread busy ${perRequest(busyUs).trim()} µs/request, idle ` +
        `${(100 * summary.idleUs / Math.max(1, summary.totalUs)).toFixed(1)} % of the time`,
        "",
        "self time by part       µs/request   share",
        ...summary.areas.map((a) =>
          `  ${pad(a.name, 44)} ${perRequest(a.selfUs)}  ${
            (100 * a.share).toFixed(1).padStart(5)
          } %`
        ),
        "",
        `top ${options.top} functions by self time   µs/request   share`,
        ...summary.functions.map((f) =>
          `  ${perRequest(f.selfUs)}  ${(100 * f.share).toFixed(1).padStart(5)} %  ${f.name}`
        ),
      ];
      console.log(lines.join("\n"));
    } finally {
      inspector.close();
    }
    return 0;
  } finally {
    await server.stop();
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
