// Cost of one Prometheus scrape of the client (lib/client/metrics.ts through lib/common/prometheus.ts,
// which renders with npm:prom-client): 50 streams, one SSRC each, with MPEG-TS figures and N PIDs,
// against a minimal hand-written text formatter of the same samples in the same run.
// Run: deno run scripts/bench/exposition_bench.ts [--streams 50] [--pids 10] [--scrapes 300]
import { parseFlags } from "../../lib/common/flags.ts";
import { CLIENT_FAMILIES, ClientMetrics, type StreamFigures } from "../../lib/client/metrics.ts";
import { createExposition, type Samples } from "../../lib/common/prometheus.ts";
import { ReceiverStats } from "../../lib/rtp/session_stats.ts";
import { writeRtpHeader } from "../../lib/rtp/writer.ts";
import { figureLine, lowerIsBetter } from "./figures.ts";

/** The baseline: the text format written directly (escaping, HELP/TYPE, one line per sample). */
function handWritten(samples: Samples): string {
  const escape = (v: string) => v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
  const out: string[] = [];
  for (const family of CLIENT_FAMILIES) {
    out.push(`# HELP ${family.name} ${family.help}`, `# TYPE ${family.name} ${family.type}`);
    for (const s of samples.get(family.name) ?? []) {
      const labels = Object.entries(s.labels).map(([k, v]) => `${k}="${escape(v)}"`).join(",");
      out.push(`${family.name}{${labels}} ${s.value}`);
    }
  }
  return out.join("\n") + "\n";
}

async function timePerCall(calls: number, f: () => Promise<unknown> | unknown): Promise<number> {
  for (let i = 0; i < 20; i++) await f();
  const started = performance.now();
  for (let i = 0; i < calls; i++) await f();
  return (performance.now() - started) / calls;
}

if (import.meta.main) {
  const flags = parseFlags(Deno.args, {
    streams: { type: "string", default: "50" },
    pids: { type: "string", default: "10" },
    scrapes: { type: "string", default: "300" },
  });
  const streamCount = Number(flags.streams), pidCount = Number(flags.pids);
  const packet = new Uint8Array(12 + 1316);
  const stats = Array.from({ length: streamCount }, (_, s) => {
    const receiver = new ReceiverStats();
    for (let seq = 0; seq < 1000; seq++) {
      writeRtpHeader(packet, {
        payloadType: 33,
        marker: false,
        sequenceNumber: seq,
        timestamp: seq * 900,
        ssrc: s,
      });
      receiver.onDatagram(packet, seq);
    }
    return receiver;
  });
  const pids = Array.from({ length: pidCount }, (_, p) => ({ pid: 256 + p, ccErrors: p }));
  const figures = (): StreamFigures[] =>
    stats.map((receiver, s) => ({
      name: `stream-${s}`,
      state: "receiving",
      stalls: 0,
      total: receiver.snapshot(1000),
      socketDrops: 0,
      ts: {
        ccErrors: 0,
        patErrors: 0,
        pmtErrors: 0,
        pcrRepetitionErrors: 0,
        transportErrors: 0,
        pids,
      },
    }));
  const metrics = new ClientMetrics();
  const exposition = await createExposition(
    CLIENT_FAMILIES,
    () => metrics.collect(figures(), 1000),
  );
  const scrapes = Number(flags.scrapes);
  const promMs = await timePerCall(scrapes, () => exposition.render());
  const handMs = await timePerCall(scrapes, () => handWritten(metrics.collect(figures(), 1000)));
  const series = metrics.seriesCount;
  console.log(`${series} series, ${(await exposition.render()).length} bytes per scrape`);
  Deno.stdout.writeSync(new TextEncoder().encode(
    figureLine(
      lowerIsBetter(
        `client.scrape_ms_${streamCount}x${pidCount}pids`,
        promMs,
        "ms",
        "hand_written",
        handMs,
      ),
    ),
  ));
}
