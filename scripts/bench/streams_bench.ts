// The probe load of issues 13 and 15: one client process (`--all`) watching every stream of a
// server catalog of N MPEG-TS channels over RTP (RFC 3550, RFC 2250; PT 33) at 8 Mbit/s each, with
// ETSI TR 101 290 analysis on, sent by one udp_blast to N consecutive groups. CPU, loss, TS errors.
import { delay } from "../../lib/common/delay.ts";
import type { Child } from "../support/process.ts";
import { waitForSocketDrain } from "../support/proc_counters.ts";
import {
  clientSummaries,
  CpuWindow,
  offsetGroup,
  packetRate,
  type ReceiveBenchContext,
  senderReport,
  startClient,
  startSectionServer,
  startSender,
} from "./receive_rig.ts";

/** What {@link measureStreams} measured. */
export interface StreamsResult {
  readonly streams: number;
  /** Streams the client reported packets for. */
  readonly streamsSeen: number;
  /** Client CPU, % of one core. */
  readonly clientPercent: number;
  /** Sender CPU, % of one core (for the context: the host's other load). */
  readonly senderPercent: number;
  /** Datagrams/s over all streams, as the sender achieved. */
  readonly rate: number;
  readonly sent: number;
  readonly received: number;
  /** Missing datagrams plus RFC 3550 loss over all streams. */
  readonly lost: number;
  /** TR 101 290 errors over all streams (0 on the clean stream udp_blast sends). */
  readonly tsErrors: number;
  /** TS packets analysed over all streams. */
  readonly tsPackets: number;
  /** Socket drops the kernel reported over all streams. */
  readonly socketDrops: number;
}

/**
 * Writes a catalog of `streams` channels (`ch01`...) on consecutive groups from `base`, one port,
 * starts a server on it and the client with `--all`, waits for every join, then sends `bitrate` to
 * each for `seconds` plus a 1 s warm-up; CPU is measured over `seconds`.
 */
export async function measureStreams(
  ctx: ReceiveBenchContext,
  options: { streams: number; bitrate: number; seconds: number; base: string },
): Promise<StreamsResult> {
  const { streams, seconds, base } = options;
  const config = `${ctx.tmp}/streams_${streams}.json`;
  await Deno.writeTextFile(
    config,
    JSON.stringify({
      streams: Array.from({ length: streams }, (_, i) => ({
        name: `ch${String(i + 1).padStart(2, "0")}`,
        address: offsetGroup(base, i),
        port: ctx.port,
        ttl: 0,
        formats: [{ payloadType: 33 }],
      })),
    }),
  );
  const server = await startSectionServer(ctx, `server.ts (${streams} streams)`, [
    "--config",
    config,
  ]);
  const warmS = 1;
  const client = startClient(ctx, [
    "--all",
    "--refresh",
    "3600",
    "--duration",
    String(seconds + warmS + 60),
  ], server.url);
  let sender: Child | undefined;
  try {
    const deadline = performance.now() + 60_000;
    while ((client.stderr.match(/Joined /g)?.length ?? 0) < streams) {
      if (client.exited || performance.now() > deadline) {
        throw new Error(
          `the client did not join ${streams} streams: ${client.stderr.slice(-2000)}`,
        );
      }
      await delay(50);
    }
    const rate = packetRate(options.bitrate);
    const perStream = Math.ceil(rate * (seconds + warmS + 0.5));
    sender = startSender({ ...ctx, group: base }, rate, perStream, { groups: streams });
    await delay(warmS * 1000);
    const window = new CpuWindow([client.pid]);
    window.start();
    await delay(seconds * 1000);
    const [clientPercent] = window.stop() as [number];
    const report = await senderReport(sender, 60_000);
    for (let i = 0; i < streams; i++) {
      await waitForSocketDrain(ctx.port, {
        address: offsetGroup(base, i),
        timeoutMs: 3000,
        emptyPolls: 1,
        pollMs: 10,
      });
    }
    await delay(500);
    const result = await client.stop("SIGTERM", 15_000);
    const summaries = clientSummaries(result.stdout);
    const perGroup = report.sent / streams;
    const byStream = new Map<string, number>();
    for (const s of summaries) byStream.set(s.stream, (byStream.get(s.stream) ?? 0) + s.packets);
    let missing = 0;
    for (let i = 0; i < streams; i++) {
      const got = byStream.get(`ch${String(i + 1).padStart(2, "0")}`) ?? 0;
      missing += Math.max(0, perGroup - got);
    }
    return {
      streams,
      streamsSeen: byStream.size,
      clientPercent,
      senderPercent: report.cpuS / report.elapsedS * 100,
      rate: report.rate,
      sent: report.sent,
      received: summaries.reduce((a, s) => a + s.packets, 0),
      lost: missing + summaries.reduce((a, s) => a + s.lost, 0),
      tsErrors: summaries.reduce((a, s) => a + s.tsErrors, 0),
      tsPackets: summaries.reduce((a, s) => a + s.tsPackets, 0),
      socketDrops: summaries.reduce((a, s) => a + (s.socketDrops ?? 0), 0),
    };
  } finally {
    if (!client.exited) await client.stop("SIGKILL");
    if (sender !== undefined && !sender.exited) await sender.stop("SIGKILL");
    await server.child.stop();
  }
}
