// Benchmark of the kernel receive path (lib/net/kernel_receiver.ts, FFI recvmmsg) against the Deno
// path, the bare Deno receive() loop and the C recvmmsg counter, each in the same run: RFC 3550 A.8
// jitter from kernel vs user-space arrival times, CPU at 20 Mbit/s, and loss-free capacity.
// Run (about 60 s; everything stays in a private network namespace, the sender uses TTL 0):
//   unshare -rn bash -c 'ip link set lo up && ip route add 224.0.0.0/4 dev lo &&
//     GATEWAY_NETNS=1 deno run -A scripts/bench/kernel_bench.ts [--only jitter,cpu,capacity]'
// Stdout: one JSON line per figure ({"name","value","unit","baseline","baselineValue","ratio"},
// ratio > 1 = better than the baseline or target); stderr: progress and a table.
import { parseArgs } from "node:util";
import { type Figure, figureLine, higherIsBetter, lowerIsBetter, renderTable } from "./figures.ts";
import type { Row } from "./figures.ts";
import { delay } from "../../lib/common/delay.ts";
import { Child } from "../support/process.ts";
import {
  CLOCK_TICKS_PER_S,
  cpuTicks,
  readUdpCounters,
  waitForSocketDrain,
} from "../support/proc_counters.ts";
import { interfacesBesideLoopback } from "../support/netns.ts";
import { randomRtpPort } from "../support/endpoints.ts";
import { startSender } from "./receive_bench.ts";
import { SOCKET_RECEIVE_BUFFER_BYTES } from "../../lib/net/socket_buffer.ts";

const ROOT = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
const SECTIONS = ["jitter", "cpu", "capacity"] as const;
/** What the C counter asks for: the kernel receiver's default. */
const RCVBUF = SOCKET_RECEIVE_BUFFER_BYTES;
/** 20 Mbit/s of TS payload in 1316-byte datagrams. */
const RATE_20_MBPS = Math.round(20_000_000 / (1316 * 8));
const encoder = new TextEncoder();
const start = performance.now();
const rows: Row[] = [];

function log(text: string): void {
  const at = ((performance.now() - start) / 1000).toFixed(1).padStart(5);
  Deno.stderr.writeSync(encoder.encode(`[${at} s] ${text}\n`));
}

function report(figure: Figure, target = "", pass?: boolean, note = ""): void {
  Deno.stdout.writeSync(encoder.encode(figureLine(figure)));
  rows.push({ figure, target, ...(pass === undefined ? {} : { pass }), note });
}

function outsidePrivateNamespace(): string | undefined {
  const names = interfacesBesideLoopback();
  if (names === undefined) return undefined;
  return `kernel_bench: refusing to send multicast outside a private network namespace ` +
    `(interfaces: ${names.join(", ")}); see the command at the top of this file`;
}

async function compile(dir: string, name: string): Promise<string> {
  const output = `${dir}/${name}`;
  const result = await new Deno.Command("gcc", {
    args: ["-O2", "-Wall", "-o", output, `${ROOT}/scripts/bench/${name}.c`],
    stderr: "piped",
  }).output();
  if (!result.success) throw new Error(`gcc ${name}.c: ${new TextDecoder().decode(result.stderr)}`);
  return output;
}

interface Tools {
  readonly blast: string;
  readonly counter: string;
  readonly group: string;
  readonly port: number;
}

type Kind = "kernel" | "deno" | "bare" | "c";

function startReceiver(tools: Tools, kind: Kind, seconds: number, extra: string[] = []): Child {
  const where = ["--group", tools.group, "--port", String(tools.port)];
  const limit = ["--seconds", String(Math.ceil(seconds)), "--packets", "100000000"];
  const deno = ["run", "--quiet", "-A", "--unstable-net"];
  switch (kind) {
    case "kernel":
    case "deno":
      return new Child(Deno.execPath(), [
        ...deno,
        "scripts/bench/kernel_loop.ts",
        ...where,
        ...limit,
        "--receiver",
        kind,
        ...extra,
      ], { cwd: ROOT });
    case "bare":
      return new Child(Deno.execPath(), [
        ...deno,
        "scripts/bench/bare_loop.ts",
        ...where,
        ...limit,
        "--rcvbuf",
        String(RCVBUF),
      ], { cwd: ROOT });
    case "c":
      return new Child(tools.counter, [...where, ...limit, "--rcvbuf", String(RCVBUF)]);
  }
}

function lastJson<T>(text: string): T {
  const line = text.trim().split("\n").pop() ?? "";
  if (!line.startsWith("{")) throw new Error(`no JSON result in: ${text.slice(-300)}`);
  return JSON.parse(line) as T;
}

interface LoopResult {
  received: number;
  jitterMs: number | null;
  lost: number | null;
  batches?: number;
  socketDrops?: number | null;
}

interface SenderResult {
  sent: number;
  rate: number;
}

/** Jitter on a paced stream: kernel timestamps vs user-space arrival, same datagrams. */
async function jitterSection(tools: Tools): Promise<void> {
  const rate = 2000;
  const packets = rate * 4;
  log(`jitter: udp_blast paced at ${rate} packets/s for ${packets / rate} s, both paths at once`);
  const receivers = [startReceiver(tools, "kernel", 30), startReceiver(tools, "deno", 30)];
  try {
    await Promise.all(receivers.map((r) => r.waitFor(/ready/, { timeoutMs: 15_000 })));
    const sender = lastJson<SenderResult>(
      (await startSender(tools, rate, packets).finished(30_000)).stdout,
    );
    await waitForSocketDrain(tools.port, { timeoutMs: 3000 });
    await delay(100);
    const [kernel, deno] = await Promise.all(
      receivers.map(async (r) => lastJson<LoopResult>((await r.stop("SIGTERM")).stdout)),
    );
    log(
      `  sent ${sender.sent}; kernel got ${kernel!.received}, jitter ${kernel!.jitterMs} ms; ` +
        `Deno got ${deno!.received}, jitter ${deno!.jitterMs} ms`,
    );
    const k = kernel!.jitterMs ?? Number.NaN;
    const d = deno!.jitterMs ?? Number.NaN;
    report(higherIsBetter("deno.jitter_user_space_ms", d, "ms"), "", undefined, "baseline");
    report(
      lowerIsBetter(
        "kernel_receiver.jitter_kernel_timestamps_ms",
        k,
        "ms",
        "deno.jitter_user_space_ms",
        d,
      ),
      "ratio >= 2 (at most half)",
      d / k >= 2,
      `paced ${rate} pps from udp_blast; ${kernel!.received}/${sender.sent} and ` +
        `${deno!.received}/${sender.sent} received`,
    );
  } finally {
    for (const r of receivers) if (!r.exited) await r.stop("SIGKILL");
  }
}

/** CPU of each receiver on one 20 Mbit/s stream, all at once. */
async function cpuSection(tools: Tools, seconds: number): Promise<void> {
  log(`cpu: 20 Mbit/s (${RATE_20_MBPS} packets/s) for ${seconds} s; 4 receivers at once`);
  const kinds: Kind[] = ["kernel", "deno", "bare", "c"];
  const sender = startSender(tools, RATE_20_MBPS, Math.ceil(RATE_20_MBPS * (seconds + 30)));
  const receivers = kinds.map((k) => startReceiver(tools, k, seconds + 30));
  try {
    await Promise.all(receivers.map((r) => r.waitFor(/ready/, { timeoutMs: 15_000 })));
    await delay(1000);
    const t0 = performance.now();
    const ticks0 = receivers.map((r) => cpuTicks(r.pid));
    await delay(seconds * 1000);
    const ticks1 = receivers.map((r) => cpuTicks(r.pid));
    const wallS = (performance.now() - t0) / 1000;
    const percent = ticks1.map((t, i) => (t - ticks0[i]!) / CLOCK_TICKS_PER_S / wallS * 100);
    const results = await Promise.all(
      receivers.map(async (r) => lastJson<LoopResult>((await r.stop("SIGTERM")).stdout)),
    );
    const [kernel, deno, bare, c] = percent as [number, number, number, number];
    log(
      `  CPU % of one core: kernel receiver ${kernel.toFixed(2)}, Deno receiver ${
        deno.toFixed(2)
      }, bare receive() loop ${bare.toFixed(2)}, C recvmmsg ${c.toFixed(2)}; received ${
        results.map((r) => r.received).join("/")
      }; kernel batches ${results[0]!.batches}`,
    );
    report(lowerIsBetter("deno.bare_loop_cpu_20mbps", bare, "% of one core", "target", 3));
    report(lowerIsBetter("c.recvmmsg_cpu_20mbps", c, "% of one core", "target", 3));
    report(
      lowerIsBetter("deno.receiver_cpu_20mbps", deno, "% of one core", "deno.bare_loop", bare),
      "",
      undefined,
      "Deno.listenDatagram receiveBatch() + ReceiverStats",
    );
    report(
      lowerIsBetter("kernel_receiver.cpu_20mbps", kernel, "% of one core", "target", 3),
      "<= 3 %",
      kernel <= 3,
      "recvmmsg receiveBatch() + ReceiverStats",
    );
    report(
      lowerIsBetter(
        "kernel_receiver.cpu_20mbps_vs_bare",
        kernel,
        "% of one core",
        "deno.bare_loop",
        bare,
      ),
      "ratio >= 2 (at most 0.5 of the bare loop)",
      bare / kernel >= 2,
      "",
    );
  } finally {
    for (const r of receivers) if (!r.exited) await r.stop("SIGKILL");
    await sender.stop("SIGTERM");
  }
}

interface Trial {
  rate: number;
  achieved: number;
  sent: number;
  received: number;
  rcvbufErrors: number;
}

async function trial(tools: Tools, kind: Kind, rate: number, seconds: number): Promise<Trial> {
  const packets = Math.round(rate * seconds);
  const receiver = startReceiver(tools, kind, seconds + 15);
  try {
    await receiver.waitFor(/ready/, { timeoutMs: 15_000 });
    const before = readUdpCounters().rcvbufErrors;
    const sender = lastJson<SenderResult>(
      (await startSender(tools, rate, packets).finished(seconds * 3000 + 10_000)).stdout,
    );
    await waitForSocketDrain(tools.port, { timeoutMs: 3000 });
    await delay(kind === "c" ? 50 : 150);
    const result = lastJson<LoopResult>((await receiver.stop("SIGTERM", 10_000)).stdout);
    return {
      rate,
      achieved: Math.round(sender.rate),
      sent: sender.sent,
      received: result.received,
      rcvbufErrors: readUdpCounters().rcvbufErrors - before,
    };
  } finally {
    if (!receiver.exited) await receiver.stop("SIGKILL");
  }
}

/** One rate for one receiver, twice if the first attempt loses (the machine is shared). */
async function attempt(tools: Tools, kind: Kind, rate: number, seconds: number) {
  let passed = false;
  let limited = false;
  let achieved = 0;
  for (let a = 0; a < 2 && !passed && !limited; a++) {
    const t = await trial(tools, kind, rate, seconds);
    passed = t.received >= t.sent;
    limited = t.achieved < rate * 0.97;
    achieved = t.achieved;
    log(
      `  ${kind} @ ${rate}: sent ${t.sent} (${t.achieved} pps), received ${t.received}, ` +
        `RcvbufErrors ${t.rcvbufErrors}${passed ? " ok" : " LOSS"}${
          limited ? " sender-limited" : ""
        }`,
    );
  }
  return { passed, limited, achieved };
}

/**
 * Highest loss-free rate of the C counter and of the kernel receiver, climbing `rates` with the two
 * interleaved (same machine load for both) until both lose or the sender reaches its own limit.
 */
async function capacitySection(tools: Tools, seconds: number): Promise<void> {
  const rates = [50_000, 100_000, 150_000, 200_000, 250_000, 300_000];
  log(`capacity: ${seconds} s per rate, one receiver at a time, C and kernel interleaved`);
  const best = { c: 0, kernel: 0 };
  const going = { c: true, kernel: true };
  let senderLimited = false;
  for (const rate of rates) {
    for (const kind of ["c", "kernel"] as const) {
      if (!going[kind]) continue;
      const result = await attempt(tools, kind, rate, seconds);
      if (result.passed) best[kind] = Math.max(best[kind], result.achieved);
      else going[kind] = false;
      if (result.limited) senderLimited = true;
    }
    if (senderLimited || (!going.c && !going.kernel)) break;
  }
  const note = senderLimited ? "sender-limited" : "";
  report(higherIsBetter("c.recvmmsg_capacity", best.c, "packets/s"), "", undefined, note);
  report(
    higherIsBetter("kernel_receiver.capacity", best.kernel, "packets/s", "c.recvmmsg", best.c),
    "ratio >= 0.9, zero loss",
    best.c > 0 && best.kernel / best.c >= 0.9,
    note,
  );
}

/** Runs the sections; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      only: { type: "string", default: SECTIONS.join(",") },
      "cpu-seconds": { type: "string", default: "6" },
      "capacity-seconds": { type: "string", default: "1.5" },
    },
  });
  const refusal = outsidePrivateNamespace();
  if (refusal !== undefined) {
    console.error(refusal);
    return 2;
  }
  const only = new Set(values.only.split(","));
  const dir = await Deno.makeTempDir({ prefix: "kernel_bench_" });
  try {
    const tools: Tools = {
      blast: await compile(dir, "udp_blast"),
      counter: await compile(dir, "recvmmsg_count"),
      group: "239.77.0.1",
      port: randomRtpPort(),
    };
    if (only.has("jitter")) await jitterSection(tools);
    if (only.has("cpu")) await cpuSection(tools, Number(values["cpu-seconds"]));
    if (only.has("capacity")) await capacitySection(tools, Number(values["capacity-seconds"]));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  Deno.stderr.writeSync(encoder.encode("\n" + renderTable(rows, "kernel receive path")));
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
