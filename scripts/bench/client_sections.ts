// The client's sections of the benchmark suite (issues 7, 12, 13, 15): each measures with the
// modules beside it and adds its figures (RFC 3550 receive figures over RFC 2250 MPEG-TS) with
// their targets to the report. Used by scripts/bench/run.ts only.
import { type CapacityPlan, measureCapacity, searchCeiling } from "./capacity_bench.ts";
import { measureClientCpu, measureJitter, measureManyClients } from "./cpu_bench.ts";
import { atMost, higherIsBetter, lowerIsBetter, ratioAtLeast } from "./figures.ts";
import { measureClientMemory, measureFirstPacket } from "./receive_bench.ts";
import { BENCH_RCVBUF, offsetGroup, type ReceiveBenchContext } from "./receive_rig.ts";
import type { Report } from "./report.ts";
import { measureStreams } from "./streams_bench.ts";

/** How long and how thoroughly the client's sections run. */
export interface ClientPlan {
  readonly capacity: CapacityPlan;
  /** Also search the bare receive() loop's own ceiling (issue 7's figure). */
  readonly bareCeiling: boolean;
  readonly cpuS: number;
  readonly cpuClients: number;
  readonly jitterRate: number;
  readonly jitterS: number;
  readonly streams: number;
  readonly streamBitrate: number;
  readonly streamsS: number;
  readonly firstPacketRuns: number;
  readonly clientMemoryWarmS: number;
  readonly clientMemoryS: number;
}

function fixed(value: number, digits = 2): string {
  return Number.isFinite(value) ? value.toFixed(digits) : "?";
}

/** Capacity: the C counter sets the rate the host offers loss-free; the client up to it. */
export async function capacitySection(
  ctx: ReceiveBenchContext,
  plan: ClientPlan,
  report: Report,
): Promise<void> {
  const c = plan.capacity;
  ctx.log(`capacity: C counter climbs ${c.rates.join(", ")}/s (${c.seconds} s each), then client`);
  const result = await measureCapacity(ctx, c);
  const senderAtTop = result.trials.filter((t) => t.receiver === "counter").pop();
  report.add({
    figure: higherIsBetter("c.recvmmsg_capacity", result.counterRate, "packets/s"),
    note: `stopped above it: ${result.counterStop}; ${fixed(result.counterUs)} µs CPU/datagram`,
  });
  const ceilingUs = (us: number) => Number.isFinite(us) ? Math.round(1e6 / us) : Number.NaN;
  report.add({
    figure: higherIsBetter(
      "client.receive_capacity",
      result.clientRate,
      "packets/s",
      "c.recvmmsg_capacity",
      result.counterRate,
    ),
    target: ratioAtLeast(0.9, "≥ 0.9 of the counter, zero loss"),
    note: `TS analysis on; client ${fixed(result.clientUs)} µs CPU/datagram (one core: ~${
      ceilingUs(result.clientUs)
    }/s), counter ${fixed(result.counterUs)} (~${ceilingUs(result.counterUs)}/s); sender ${
      fixed(senderAtTop?.senderCpuPercent ?? Number.NaN, 0)
    } % of a core in the counter's last trial`,
  });
  // What stops the client: its receive queue at the lowest rate it lost at (the sender on time)
  // against the counter's at the counter's rate. A queue up to the buffer's size at a CPU cost per
  // datagram far below a core means pauses longer than the buffer lasts, not too little CPU.
  const lost = result.trials
    .filter((t) => t.receiver === "client" && !t.lossless && !t.senderLimited)
    .sort((a, b) => a.rate - b.rate)[0];
  const counterTop = result.trials.find((t) =>
    t.receiver === "counter" && t.rate === result.counterRate && t.lossless
  );
  const kib = (bytes: number | undefined) =>
    bytes === undefined ? "?" : `${Math.round(bytes / 1024)} KiB`;
  report.add({
    figure: higherIsBetter(
      "client.receive_peak_queue_kib",
      lost === undefined ? 0 : Math.round(lost.peakQueueBytes / 1024),
      "KiB",
    ),
    note: lost === undefined
      ? "the client lost nothing at the rates tried"
      : `the client's socket queue at ${lost.rate}/s, where it lost ${
        lost.sent - lost.received
      } of ${lost.sent} at ${fixed(lost.receiverUsPerDatagram)} µs CPU/datagram; the counter's ` +
        `at ${result.counterRate}/s: ${kib(counterTop?.peakQueueBytes)}; buffer asked ${
          kib(BENCH_RCVBUF)
        } (the kernel doubles it)`,
  });
  if (!plan.bareCeiling) return;
  ctx.log("capacity: bare receive() loop ceiling (bisection)");
  const bare = await searchCeiling(ctx, "bare", c.rates, c);
  report.add({
    figure: higherIsBetter(
      "deno.bare_loop_capacity",
      bare.rate,
      "packets/s",
      "c.recvmmsg_capacity",
      result.counterRate,
    ),
    note: `receive() into one buffer, SO_RCVBUF via FFI${
      bare.senderLimited ? "; sender-limited" : ""
    }`,
  });
}

/** CPU at 20 Mbit/s: the client beside the bare loop and beside RTP statistics alone; eight clients. */
export async function cpuSection(
  ctx: ReceiveBenchContext,
  plan: ClientPlan,
  report: Report,
): Promise<void> {
  ctx.log(`cpu: client, client without TS analysis and bare loop at 20 Mbit/s for ${plan.cpuS} s`);
  const one = await measureClientCpu(ctx, plan.cpuS);
  ctx.log(
    `  client ${fixed(one.client)} %, RTP statistics only ${fixed(one.rtpOnly)} %, bare loop ` +
      `${fixed(one.bareLoop)} %; ${one.lost} lost of ${one.sent}; ${one.tsErrors} TS errors in ` +
      `${one.tsPackets} TS packets`,
  );
  const clean = one.lost === 0 && one.tsErrors === 0 && one.tsPackets > 0;
  const loss = `${one.lost} lost of ${one.sent}, ${one.tsErrors} TS errors`;
  report.add({
    figure: lowerIsBetter("deno.bare_loop_cpu_20mbps", one.bareLoop, "% of one core", "target", 3),
    note: "runtime floor: one receive() per datagram, counting only",
  });
  report.add({
    figure: lowerIsBetter("client.cpu_20mbps", one.client, "% of one core", "target", 3),
    target: atMost(3, "≤ 3 %"),
    condition: clean,
    note: `kernel path, TS analysis on; ${loss}`,
  });
  report.add({
    figure: lowerIsBetter(
      "client.cpu_20mbps_vs_bare_loop",
      one.client,
      "% of one core",
      "deno.bare_loop_cpu_20mbps",
      one.bareLoop,
    ),
    target: ratioAtLeast(2, "≤ 0.5 of the bare loop"),
  });
  report.add({
    figure: lowerIsBetter("client.cpu_20mbps_rtp_only", one.rtpOnly, "% of one core", "target", 3),
    note: "the same stream with --no-ts: RTP statistics, no TS analysis",
  });
  report.add({
    figure: lowerIsBetter(
      "client.cpu_20mbps_ts_analysis",
      one.client,
      "% of one core",
      "client.cpu_20mbps_rtp_only",
      one.rtpOnly,
    ),
    target: ratioAtLeast(1 / 1.3, "≤ 1.3 × RTP alone (ratio ≥ 0.77)"),
  });
  const n = plan.cpuClients;
  ctx.log(`cpu: ${n} clients at 20 Mbit/s for ${plan.cpuS} s`);
  const many = await measureManyClients(ctx, n, plan.cpuS);
  ctx.log(`  ${fixed(many.totalPercent)} % of one core in all, ${many.lost} lost of ${many.sent}`);
  report.add({
    figure: lowerIsBetter(
      `client.cpu_20mbps_x${n}`,
      many.totalPercent,
      "% of one core",
      "target",
      3 * n,
    ),
    target: atMost(3 * n, `≤ ${3 * n} % in all`),
    condition: many.lost === 0,
    note: `per client ${fixed(many.totalPercent / n)} %; ${many.lost} lost of ${many.sent}`,
  });
}

/** Jitter of one paced stream: kernel timestamps against user-space arrival, the same datagrams. */
export async function jitterSection(
  ctx: ReceiveBenchContext,
  plan: ClientPlan,
  report: Report,
): Promise<void> {
  ctx.log(`jitter: udp_blast paced at ${plan.jitterRate}/s for ${plan.jitterS} s, both paths`);
  const j = await measureJitter(ctx, plan.jitterRate, plan.jitterS);
  ctx.log(
    `  kernel path ${j.kernelMs} ms (${j.received[0]}/${j.sent}), Deno path ${j.denoMs} ms ` +
      `(${j.received[1]}/${j.sent})`,
  );
  report.add({
    figure: higherIsBetter("client.jitter_deno_path_ms", j.denoMs, "ms"),
    note: "--receiver deno: arrival = when JavaScript saw the datagram",
  });
  report.add({
    figure: lowerIsBetter(
      "client.jitter_kernel_path_ms",
      j.kernelMs,
      "ms",
      "client.jitter_deno_path_ms",
      j.denoMs,
    ),
    target: ratioAtLeast(2, "≤ 0.5 of the Deno path"),
    condition: j.received[0] === j.sent && j.received[1] === j.sent,
    note: `SO_TIMESTAMPNS arrival; paced ${j.rate}/s; ${j.received.join(" and ")} of ${j.sent}`,
  });
}

/** One client with --all on a catalog of many 8 Mbit/s MPEG-TS channels. */
export async function streamsSection(
  ctx: ReceiveBenchContext,
  plan: ClientPlan,
  report: Report,
): Promise<void> {
  const mbps = plan.streamBitrate / 1e6;
  ctx.log(`streams: one client --all, ${plan.streams} × ${mbps} Mbit/s for ${plan.streamsS} s`);
  const r = await measureStreams(ctx, {
    streams: plan.streams,
    bitrate: plan.streamBitrate,
    seconds: plan.streamsS,
    base: offsetGroup(ctx.group, 16),
  });
  ctx.log(
    `  client ${fixed(r.clientPercent)} % (sender ${fixed(r.senderPercent, 0)} %), ` +
      `${fixed(r.rate, 0)} datagrams/s, ${r.received}/${r.sent} received, ${r.lost} lost, ` +
      `${r.streamsSeen} streams seen, ${r.tsErrors} TS errors in ${r.tsPackets}, ` +
      `${r.socketDrops} socket drops`,
  );
  const name = `client.cpu_${plan.streams}_streams_${mbps}mbps`;
  report.add({
    figure: lowerIsBetter(name, r.clientPercent, "% of one core", "target", 50),
    target: atMost(50, "≤ 50 %, zero loss"),
    condition: r.lost === 0 && r.tsErrors === 0 && r.streamsSeen === plan.streams,
    note: `${fixed(r.rate, 0)} datagrams/s; ${r.lost} lost of ${r.sent}, ${r.socketDrops} ` +
      `socket drops; ${r.tsErrors} TS errors in ${r.tsPackets} TS packets; ${r.streamsSeen} ` +
      `streams; TS analysis on`,
  });
}

/** Time to first packet, with negotiation, against Deno's own start-up. */
export async function firstPacketSection(
  ctx: ReceiveBenchContext,
  plan: ClientPlan,
  report: Report,
): Promise<void> {
  ctx.log(`time to first packet: ${plan.firstPacketRuns} runs`);
  const result = await measureFirstPacket(ctx, plan.firstPacketRuns);
  ctx.log(`  samples ${result.samples.map((s) => s.toFixed(0)).join(", ")} ms`);
  report.add({
    figure: lowerIsBetter("client.time_to_first_packet", result.medianMs, "ms", "target", 400),
    target: atMost(400, "< 400 ms"),
    note: `median of ${result.samples.length}; joined at ${result.joinedMs.toFixed(0)} ms; ` +
      `deno start-up (--version) ${result.startupMs.toFixed(0)} ms`,
  });
}

function mb(kib: number): string {
  return `${(kib / 1024).toFixed(1)} MB`;
}

/** The client's RSS growth at 100 Mbit/s. */
export async function clientMemorySection(
  ctx: ReceiveBenchContext,
  plan: ClientPlan,
  report: Report,
): Promise<void> {
  ctx.log(
    `memory: client at 100 Mbit/s, ${plan.clientMemoryWarmS} s warm-up + ${plan.clientMemoryS} s`,
  );
  const result = await measureClientMemory(ctx, plan.clientMemoryWarmS, plan.clientMemoryS);
  const growth = (result.rssEndKiB - result.rssAfterWarmupKiB) / 1024;
  report.add({
    figure: lowerIsBetter("client.rss_growth_mb", growth, "MB", "target", 5),
    target: atMost(5, "< 5 MB"),
    note: `RSS ${mb(result.rssAfterWarmupKiB)} -> ${mb(result.rssEndKiB)}; ${result.lost} lost ` +
      `of ${result.received + result.lost}`,
  });
}
