// Benchmark suite of issues 7, 12, 13 and 15: receive capacity, CPU (one client, eight, fifty
// streams in one, TS analysis on and off), jitter on both receive paths, time to first packet and
// memory of the RTP multicast client (RFC 3550 over RFC 2250 MPEG-TS, ETSI TR 101 290), offer/answer
// throughput and memory of the SDP server (RFC 3264), each against a baseline measured in the same
// run. Run: deno task bench [-- --quick] [-- --only SECTIONS] [-- --repeat N]
// (= bash scripts/bench/netns_bench.sh: everything runs in a private network namespace).
// Stdout: one JSON line per figure {"name","value","unit","baseline","baselineValue","ratio"}, ratio
// > 1 = better than the baseline; with --repeat, each run's lines carry "run" and the medians close
// with "run":"median" and "samples"; stderr: progress and a table with the targets.
import { exitCodeFor, parseFlags, parseIntegerFlag } from "../../lib/common/flags.ts";
import { type Figure, higherIsBetter, lowerIsBetter } from "./figures.ts";
import { TS_ANALYSER_TARGET_PPS, tsBench } from "./ts_bench.ts";
import { freeTcpPort, randomRtpPort } from "../support/endpoints.ts";
import { interfacesBesideLoopback } from "../support/netns.ts";
import { runToEnd } from "../support/process.ts";
import { serverDenoArgs } from "../support/server_process.ts";
import {
  capacitySection,
  clientMemorySection,
  type ClientPlan,
  cpuSection,
  firstPacketSection,
  jitterSection,
  streamsSection,
} from "./client_sections.ts";
import type { ReceiveBenchContext } from "./receive_rig.ts";
import { Report } from "./report.ts";
import {
  measureInterleaved,
  measureServerMemory,
  type ServerBenchContext,
  type ServerUnderTest,
  spreadText,
  startServer,
} from "./server_bench.ts";

/** Sections that --only can select, in the order they run. */
const SECTIONS = [
  "capacity",
  "cpu",
  "jitter",
  "streams",
  "ttfp",
  "memory",
  "server",
  "ts",
  "micro",
] as const;
type Section = typeof SECTIONS[number];

/** How long and how thoroughly each section runs. */
interface Plan extends ClientPlan {
  readonly wrkS: number;
  /** Interleaved rounds of the server comparison (each server measured once per round). */
  readonly serverRounds: number;
  readonly serverOffers: number;
  /** Seconds of each figure of the TS analyser's micro benchmark (ts_bench.ts). */
  readonly tsS: number;
}

const FULL: Plan = {
  capacity: {
    rates: [50_000, 75_000, 100_000, 125_000, 150_000, 175_000, 200_000, 250_000, 300_000],
    seconds: 5,
    attempts: 2,
    bisectSteps: 2,
  },
  bareCeiling: true,
  cpuS: 30,
  cpuClients: 8,
  jitterRate: 2000,
  jitterS: 10,
  streams: 50,
  streamBitrate: 8_000_000,
  streamsS: 30,
  firstPacketRuns: 7,
  clientMemoryWarmS: 10,
  clientMemoryS: 60,
  wrkS: 10,
  serverRounds: 3,
  serverOffers: 100_000,
  tsS: 3,
};

const QUICK: Plan = {
  capacity: {
    rates: [50_000, 100_000, 150_000, 200_000],
    seconds: 1.5,
    attempts: 1,
    bisectSteps: 1,
  },
  bareCeiling: false,
  cpuS: 8, // 1 clock tick (10 ms) is 0.125 % of a core over 8 s
  cpuClients: 8,
  jitterRate: 2000,
  jitterS: 3,
  streams: 50,
  streamBitrate: 8_000_000,
  streamsS: 4,
  firstPacketRuns: 3,
  clientMemoryWarmS: 3,
  clientMemoryS: 5,
  wrkS: 2,
  serverRounds: 3,
  serverOffers: 10_000,
  tsS: 1,
};

const ROOT = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
const encoder = new TextEncoder();

const suiteStart = performance.now();

/** Writes a progress line to stderr, prefixed with the seconds since the start. */
function log(text: string): void {
  const at = ((performance.now() - suiteStart) / 1000).toFixed(1).padStart(5);
  Deno.stderr.writeSync(encoder.encode(text === "" ? "\n" : `[${at} s] ${text}\n`));
}

/** Why this is not the namespace netns_bench.sh creates (only `lo`, no way out), or undefined. */
function outsidePrivateNamespace(): string | undefined {
  const interfaces = interfacesBesideLoopback();
  if (interfaces === undefined) return undefined;
  return `bench: refusing to send benchmark multicast outside a private network namespace ` +
    `(interfaces: ${
      interfaces.join(", ")
    }); run: deno task bench (bash scripts/bench/netns_bench.sh)`;
}

async function compile(tmp: string, name: string): Promise<string> {
  const output = `${tmp}/${name}`;
  const result = await runToEnd("gcc", [
    "-O2",
    "-Wall",
    "-o",
    output,
    `${ROOT}/scripts/bench/${name}.c`,
  ]).catch((error) => {
    throw new Error(`gcc is needed to build ${name}.c (apt-get install gcc)`, { cause: error });
  });
  if (!result.success) throw new Error(`gcc ${name}.c failed:\n${result.stderr}`);
  return output;
}

/** A Python interpreter that can import aiohttp, or undefined. */
async function findAiohttpPython(): Promise<string | undefined> {
  for (const candidate of ["/usr/bin/python3", "python3"]) {
    try {
      const { success } = await runToEnd(candidate, ["-c", "import aiohttp"], {
        stdout: "null",
        stderr: "null",
      });
      if (success) return candidate;
    } catch {
      // Not installed.
    }
  }
  return undefined;
}

function kb(value: number): string {
  return `${(value / 1024).toFixed(1)} MB`;
}

async function serverSection(
  ctx: ServerBenchContext,
  plan: Plan,
  report: Report,
  ours: ServerUnderTest,
  sections: ReadonlySet<Section>,
) {
  if (sections.has("server")) {
    log(
      `server: wrk -t1 -c64, ${plan.serverRounds} interleaved rounds of ${plan.wrkS} s per server ` +
        "(after a 1 s warm-up each)",
    );
    const started: ServerUnderTest[] = [];
    const start = async (name: string, command: string, args: (port: number) => string[]) => {
      const port = freeTcpPort();
      const server = await startServer(name, command, args(port), port, ctx.root);
      started.push(server);
      return server;
    };
    const constArgs = (extra: string[]) => (port: number) => [
      "run",
      "--quiet",
      "--allow-net",
      "scripts/bench/const_server.ts",
      "--port",
      String(port),
      ...extra,
    ];
    const serverArgs = (extra: string[]) => (port: number) =>
      serverDenoArgs(["--host", "127.0.0.1", "--port", String(port), ...extra]);
    let summaries;
    let hasPython = false;
    try {
      const servers = [
        await start("deno.serve_constant", ctx.deno, constArgs([])),
        await start("deno.serve_constant_policy", ctx.deno, constArgs(["--connection-policy"])),
        await start("deno.serve_request_floor", ctx.deno, constArgs(["--read-request"])),
        ours,
        await start("server.ts --log-format text", ctx.deno, serverArgs(["--log-format", "text"])),
        await start("server.ts --quiet", ctx.deno, serverArgs(["--quiet"])),
      ];
      const python = await findAiohttpPython();
      if (python === undefined) {
        report.skip("python.aiohttp", "no python3 with aiohttp (apt-get install python3-aiohttp)");
      } else {
        hasPython = true;
        servers.push(
          await start("python.aiohttp", python, (port) => [
            "scripts/bench/aiohttp_server.py",
            "--port",
            String(port),
          ]),
        );
      }
      summaries = await measureInterleaved(ctx, servers, plan.serverRounds, plan.wrkS);
    } finally {
      for (const server of started) await server.child.stop();
    }
    const [constant, policy, floor, json, text, quiet] = summaries;
    const python = hasPython ? summaries[6] : undefined;
    const constRate = constant!.requestsPerS;
    report.add(
      higherIsBetter("deno.serve_constant", constRate, "requests/s"),
      "",
      undefined,
      `Deno.serve, reads the body, constant answer; ${spreadText(constant!)}`,
    );
    report.add(
      higherIsBetter(
        "deno.serve_constant_policy",
        policy!.requestsPerS,
        "requests/s",
        "deno.serve_constant",
        constRate,
      ),
      "",
      undefined,
      `the constant handler through server.ts's accept loop (connection cap, idle timeout); ${
        spreadText(policy!)
      }`,
    );
    report.add(
      higherIsBetter(
        "deno.serve_request_floor",
        floor!.requestsPerS,
        "requests/s",
        "deno.serve_constant",
        constRate,
      ),
      "",
      undefined,
      "Deno.serve reading what an offer handler must (method, URL, 3 headers, peer address, body " +
        `as text), constant answer; ${spreadText(floor!)}`,
    );
    if (python !== undefined) {
      report.add(
        higherIsBetter("python.aiohttp", python.requestsPerS, "requests/s"),
        "",
        undefined,
        `aiohttp port of the offer/answer, no access log; ${spreadText(python)}`,
      );
    }
    for (
      const [name, vsName, summary, what] of [
        ["server.offers_per_s", "server.offers_per_s_vs_original", json!, "JSON access log"],
        [
          "server.offers_per_s_text",
          "server.offers_per_s_vs_original_text",
          text!,
          "text access log",
        ],
      ] as const
    ) {
      report.add(
        higherIsBetter(name, summary.requestsPerS, "requests/s", "deno.serve_constant", constRate),
        "ratio >= 0.5",
        summary.requestsPerS >= 0.5 * constRate && summary.errors === 0,
        `server.ts, ${what} to /dev/null; ${spreadText(summary)}; p99 ${summary.p99Ms} ms; ` +
          `${summary.errors} errors`,
      );
      if (python !== undefined) {
        report.add(
          higherIsBetter(
            vsName,
            summary.requestsPerS,
            "requests/s",
            "python.aiohttp",
            python.requestsPerS,
          ),
          "ratio >= 3",
          summary.requestsPerS >= 3 * python.requestsPerS,
          what,
        );
      }
    }
    report.add(
      higherIsBetter(
        "server.offers_per_s_quiet",
        quiet!.requestsPerS,
        "requests/s",
        "deno.serve_constant",
        constRate,
      ),
      "ratio >= 0.8",
      quiet!.requestsPerS >= 0.8 * constRate && quiet!.errors === 0,
      `server.ts --quiet (no access log); ${spreadText(quiet!)}; p99 ${quiet!.p99Ms} ms`,
    );
    // CPU per request: what each costs, whatever share of the machine it got in its runs.
    for (
      const [name, summary] of [
        ["server.cpu_us_per_offer", json!],
        ["server.cpu_us_per_offer_quiet", quiet!],
        ["deno.serve_constant_policy.cpu_us_per_request", policy!],
        ["deno.serve_request_floor.cpu_us_per_request", floor!],
      ] as const
    ) {
      report.add(
        lowerIsBetter(
          name,
          summary.cpuUsPerRequest,
          "µs",
          "deno.serve_constant",
          constant!.cpuUsPerRequest,
        ),
        "",
        undefined,
        `${summary.name}: CPU of the process (all threads) per request, median of the rounds`,
      );
    }
    report.add(
      lowerIsBetter("server.p99_ms", Math.max(json!.p99Ms, text!.p99Ms), "ms", "target", 5),
      "< 5 ms",
      Math.max(json!.p99Ms, text!.p99Ms) < 5,
      `median p99 of the JSON (${json!.p99Ms} ms) and text (${text!.p99Ms} ms) runs, whichever ` +
        `is higher; p50 ${json!.p50Ms} ms, 64 connections`,
    );
  }
  if (sections.has("memory")) {
    log(`memory: server, ${plan.serverOffers} offers after as many for warm-up`);
    const memory = await measureServerMemory(ctx, ours, plan.serverOffers, plan.wrkS * 20);
    const growth = (memory.rssAfterKiB - memory.rssBeforeKiB) / 1024;
    report.add(
      lowerIsBetter("server.rss_growth_mb", growth, "MB", "target", 5),
      "< 5 MB",
      growth < 5,
      `RSS ${kb(memory.rssBeforeKiB)} -> ${kb(memory.rssAfterKiB)} over ${memory.offers} offers` +
        (memory.failed > 0 ? `, ${memory.failed} not 200` : ""),
    );
  }
}

interface BenchJson {
  benches: {
    group: string | null;
    name: string;
    baseline: boolean;
    results: { ok?: { avg: number } }[];
  }[];
}

async function microSection(ctx: ServerBenchContext, report: Report) {
  log("micro: deno bench scripts/bench/micro_bench.ts");
  const output = await runToEnd(
    ctx.deno,
    ["bench", "--quiet", "--json", "scripts/bench/micro_bench.ts"],
    { cwd: ctx.root },
  );
  if (!output.success) throw new Error(`deno bench failed: ${output.stderr}`);
  const json = JSON.parse(output.stdout) as BenchJson;
  const averages = new Map<string, number>();
  for (const bench of json.benches) {
    const avg = bench.results[0]?.ok?.avg;
    if (avg !== undefined) averages.set(bench.name, avg);
  }
  for (const bench of json.benches) {
    const avg = averages.get(bench.name);
    if (avg === undefined || bench.baseline) continue;
    const base = json.benches.find((b) => b.baseline && b.group === bench.group);
    const baseAvg = base === undefined ? undefined : averages.get(base.name);
    report.add(
      base === undefined || baseAvg === undefined
        ? higherIsBetter(`micro.${bench.name}`, avg, "ns/op")
        : lowerIsBetter(`micro.${bench.name}`, avg, "ns/op", `micro.${base.name}`, baseAvg),
      "",
      undefined,
      base === undefined ? "" : `baseline: ${base.name}`,
    );
  }
}

/** `--help` text of the benchmark suite. */
export const BENCH_USAGE = `bench: the benchmark suite, inside a private network namespace.

Usage: deno task bench [-- options]
  --quick        A short run (under 2 minutes; no micro benchmarks unless --only names them)
  --only LIST    Only these sections, comma-separated: ${SECTIONS.join(", ")}
  --repeat N     Run the sections N times (1-20, default 1) and report each figure's median,
                 with every run's value, judged against its target
  -h, --help     Show this help and exit

Stdout: one JSON line per figure; stderr: progress and a table. Exit codes: 0 done (also when a
target is missed), 2 usage error or outside a private network namespace.
`;

/** The suite's own server: a default stream at group:port (PT 33), JSON log, TTL 0. */
async function startSuiteServer(group: string, port: number): Promise<ServerUnderTest> {
  const httpPort = freeTcpPort();
  return await startServer(
    "server.ts",
    Deno.execPath(),
    // As the server task and binary run it (its V8 flags and permission set).
    serverDenoArgs([
      "--host",
      "127.0.0.1",
      "--port",
      String(httpPort),
      "--log-format",
      "json",
      "--multicast-address",
      group,
      "--multicast-port",
      String(port),
      "--ttl",
      "0",
    ]),
    httpPort,
    ROOT,
  );
}

/** Runs the chosen sections once. */
async function runSections(
  sections: ReadonlySet<Section>,
  plan: Plan,
  report: Report,
  receiveCtx: ReceiveBenchContext,
  serverCtx: ServerBenchContext,
  server: ServerUnderTest,
): Promise<void> {
  const client = [
    ["capacity", capacitySection],
    ["cpu", cpuSection],
    ["jitter", jitterSection],
    ["streams", streamsSection],
    ["ttfp", firstPacketSection],
    ["memory", clientMemorySection],
  ] as const;
  for (const [name, section] of client) {
    if (sections.has(name)) await section(receiveCtx, plan, report);
  }
  if (sections.has("server") || sections.has("memory")) {
    await serverSection(serverCtx, plan, report, server, sections);
  }
  if (sections.has("ts")) tsSection(plan, report);
  if (sections.has("micro")) await microSection(serverCtx, report);
}

/** The MPEG-TS analyser alone (ts_bench.ts, in this process): packets/s against a bare PID loop. */
function tsSection(plan: Plan, report: Report) {
  log(`ts: the TR 101 290 analyser on a synthetic 6 Mbit/s service, ${plan.tsS} s per figure`);
  const { figures, note } = tsBench(plan.tsS);
  const [bare, analysed, target] = figures as [Figure, Figure, Figure];
  report.add(bare, "", undefined, "reads each packet's PID only");
  report.add(analysed, "", undefined, note);
  report.add(
    target,
    `≥ ${TS_ANALYSER_TARGET_PPS} packets/s`,
    target.value >= TS_ANALYSER_TARGET_PPS,
    "one core (issue 12)",
  );
}

/** Runs the suite; returns the exit code (0 even when targets are missed; 2 for usage errors). */
export async function main(args: string[]): Promise<number> {
  let values;
  let repeat: number;
  try {
    values = parseFlags(args, {
      quick: { type: "boolean", default: false },
      only: { type: "string" },
      repeat: { type: "string", default: "1" },
      help: { type: "boolean", short: "h" },
    });
    repeat = parseIntegerFlag(values.repeat, "--repeat", 1, 20);
  } catch (error) {
    return exitCodeFor("bench", error);
  }
  if (values.help) {
    console.log(BENCH_USAGE);
    return 0;
  }
  const only = values.only?.split(",").map((s) => s.trim()).filter((s) => s !== "");
  const unknown = only?.filter((s) => !(SECTIONS as readonly string[]).includes(s)) ?? [];
  if (unknown.length > 0) {
    log(`bench: unknown section ${unknown.join(", ")}; choose from ${SECTIONS.join(", ")}`);
    return 2;
  }
  const sections = new Set<Section>((only ?? SECTIONS) as Section[]);
  if (values.quick && only === undefined) sections.delete("micro");
  const plan = values.quick ? QUICK : FULL;
  const started = performance.now();
  const refusal = outsidePrivateNamespace();
  if (refusal !== undefined) {
    log(refusal);
    return 2;
  }

  const tmp = await Deno.makeTempDir({ prefix: "rtp-bench-" });
  const report = new Report({ runs: repeat, log });
  let server: ServerUnderTest | undefined;
  try {
    const [blast, counter] = await Promise.all([
      compile(tmp, "udp_blast"),
      compile(tmp, "recvmmsg_count"),
    ]);
    const group = "239.255.42.1";
    const port = randomRtpPort();
    server = await startSuiteServer(group, port);
    const receiveCtx: ReceiveBenchContext = {
      root: ROOT,
      deno: Deno.execPath(),
      blast,
      counter,
      serverUrl: server.url,
      group,
      port,
      tmp,
      log,
    };
    const serverCtx: ServerBenchContext = {
      root: ROOT,
      deno: Deno.execPath(),
      offerFile: `${ROOT}/tests/testdata/offer_vlc_style.sdp`,
      log,
    };
    for (let run = 1; run <= repeat; run++) {
      if (repeat > 1) log(`run ${run} of ${repeat}`);
      report.startRun();
      await runSections(sections, plan, report, receiveCtx, serverCtx, server);
    }
    report.writeMedians();
  } finally {
    await server?.child.stop();
    await Deno.remove(tmp, { recursive: true });
  }
  const seconds = (performance.now() - started) / 1000;
  log("");
  log(report.table(
    `rtp-multicast-gateway benchmarks (${values.quick ? "quick" : "full"}, ${
      repeat > 1 ? `median of ${repeat} runs, ` : ""
    }${
      seconds.toFixed(0)
    } s, ${navigator.hardwareConcurrency} CPUs; ratio > 1 = better than the baseline)`,
  ));
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
