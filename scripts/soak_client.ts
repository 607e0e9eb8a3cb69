// Soak run of the client (RFC 3550 receiver statistics over a long stream): a real server and client
// process receive the MPEG-TS/RTP test source at a high bitrate with seeded loss for many minutes;
// the client's RSS must stay flat after the first minute (growth under 5 MB) and the loss it reports
// must equal what the source dropped, also beside a flood of junk SSRCs (--junk-sources, issue 11).
// Run: deno run -A scripts/soak_client.ts [--minutes 10] [--bitrate 50M] [--loss 0.001] [--seed 1] [--junk-sources 0]
// Multicast stays in a private network namespace: unless GATEWAY_NETNS=1 the script re-executes
// itself under `unshare -rn` with lo up and 224.0.0.0/4 routed to lo; the source also uses TTL 0.
import {
  exitCodeFor,
  parseFlags,
  parseIntegerFlag,
  parseProbabilityFlag,
} from "../lib/common/flags.ts";
import { ConfigError } from "../lib/common/errors.ts";
import { delay } from "../lib/common/delay.ts";
import { parseBitrate } from "../lib/source/rtp_source.ts";
import { type ClientFigures, type KernelDrops, startClientRig } from "./support/client_rig.ts";
import { assertPrivateNetns, inPrivateNetns, runInPrivateNetns } from "./support/netns.ts";
import { withDefaults } from "./support/with_defaults.ts";
import { sendJunkSources } from "./fuzz_client.ts";

/** Options of {@link runClientSoak}. */
export interface ClientSoakOptions {
  /** Length of the stream in minutes (default 10). */
  readonly minutes?: number;
  /** Stream bitrate, bit/s (default 50 000 000: about 4 750 datagrams/s). */
  readonly bitrate?: number;
  /** Loss probability at the source (default 0.001). */
  readonly loss?: number;
  /** Duplication and reordering probabilities at the source (default 0). */
  readonly duplicate?: number;
  readonly reorder?: number;
  /** Seed of the impairments, SSRC, sequence numbers and port (default 1). */
  readonly seed?: number;
  /** Seconds between RSS samples (default 10). */
  readonly sampleEveryS?: number;
  /** Multicast group (default 239.77.0.2). */
  readonly group?: string;
  /** Valid RTP from random SSRCs in sequential pairs beside the stream, packets/s (default 0). */
  readonly junkRate?: number;
}

/** One RSS sample of the client. */
export interface RssSample {
  /** Seconds since the stream started. */
  readonly atS: number;
  readonly rssMb: number;
  /** Kernel drops at the client's socket since the start (/proc/net/udp). */
  readonly drops: number;
}

/** What a soak run measured. */
export interface ClientSoakReport {
  readonly seed: number;
  readonly group: string;
  readonly port: number;
  readonly minutes: number;
  readonly bitrate: number;
  readonly seconds: number;
  readonly rss: {
    /** Time of the baseline sample: 60 s, or half the run when shorter. */
    readonly baselineS: number;
    readonly baselineMb: number;
    readonly endMb: number;
    /** End minus baseline. */
    readonly growthMb: number;
    /** Highest sample after the baseline (end included) minus baseline. */
    readonly peakGrowthMb: number;
    readonly samples: readonly RssSample[];
  };
  /** The source's truth. */
  readonly source: {
    readonly ssrc: number;
    readonly generated: number;
    readonly sent: number;
    readonly dropped: number;
    readonly lost: number;
    readonly duplicated: number;
    readonly reordered: number;
  };
  /** The client's summary. */
  readonly client: ClientFigures;
  /** The junk sources' flood. */
  readonly junk: { readonly rate: number; readonly sent: number };
  /** Kernel drops during the run (this namespace; softnet is host-wide). */
  readonly kernel: KernelDrops & { readonly drained: boolean };
  /** Client lost, duplicates, reordered and packets equal the source's truth. */
  readonly lossMatches: boolean;
  /** Client lost equals the source's lost plus the kernel's drops at the client's socket. */
  readonly lossMatchesWithKernelDrops: boolean;
  /** RSS peak growth after the baseline under 5 MB. */
  readonly rssFlat: boolean;
  readonly ok: boolean;
}

const DEFAULTS: Required<ClientSoakOptions> = {
  minutes: 10,
  bitrate: 50_000_000,
  loss: 0.001,
  duplicate: 0,
  reorder: 0,
  seed: 1,
  sampleEveryS: 10,
  group: "239.77.0.2",
  junkRate: 0,
};

/** RSS growth allowed after the baseline, MB. */
const MAX_GROWTH_MB = 5;

function round1(value: number): number {
  return Math.round(value * 10) / 10;
}

/**
 * Runs the soak: a server, the client (`--json`) and the test source for `minutes`, sampling the
 * client's RSS every `sampleEveryS`; then waits for the client's socket to drain, stops it with
 * SIGINT and compares its summary with the source's truth. Only inside the private network
 * namespace (throws otherwise).
 */
export async function runClientSoak(options: ClientSoakOptions = {}): Promise<ClientSoakReport> {
  assertPrivateNetns("runClientSoak()");
  const { minutes, bitrate, loss, duplicate, reorder, seed, sampleEveryS, group } = withDefaults(
    options,
    DEFAULTS,
  );
  const durationS = minutes * 60;
  const baselineS = Math.min(60, durationS / 2);
  await using rig = await startClientRig({ group, seed: seed ^ 0x50a6, stallAfterS: 5 });
  const { port } = rig;
  const samples: RssSample[] = [];
  const sample = (atS: number) =>
    samples.push({ atS, rssMb: rig.rssMb(), drops: rig.socketDrops() });
  let startMs = Number.NaN;
  const done = new AbortController();
  // A stream that fails to start must not leave the wait hanging.
  const stream = await rig.sendStream({
    bitrate,
    seed,
    loss,
    duplicate,
    reorder,
    durationS,
    onStart: () => {
      startMs = performance.now();
      sample(0);
    },
  });
  const ended = stream.done.finally(() => done.abort());
  const junkRate = options.junkRate ?? 0;
  const junk = junkRate === 0
    ? Promise.resolve(0)
    : delay(1000, done.signal).then(() =>
      sendJunkSources({ group, port, rate: junkRate, seed, signal: done.signal })
    );
  // Sample until the stream ends; bounded by the sample count the duration allows, plus slack.
  const maxSamples = Math.ceil(durationS / sampleEveryS) + 30;
  for (let i = 1; i <= maxSamples && !done.signal.aborted; i++) {
    await delay(Math.max(0, startMs + i * sampleEveryS * 1000 - performance.now()), done.signal);
    if (done.signal.aborted) break;
    sample(round1((performance.now() - startMs) / 1000));
  }
  const truth = await ended;
  const junkSent = await junk;
  const drained = await rig.drained();
  sample(round1((performance.now() - startMs) / 1000));
  const endMb = samples[samples.length - 1]!.rssMb;
  const { kernel, result, figures: clientReport } = await rig.finish(
    junkRate === 0 ? undefined : truth.ssrc,
  );

  const sources = junkRate === 0 ? clientReport.sources : 1; // junk sources beside it
  const baseline = samples.find((s) => s.atS >= baselineS) ?? samples[samples.length - 1]!;
  const afterBaseline = samples.filter((s) => s.atS >= baseline.atS);
  const peakMb = Math.max(...afterBaseline.map((s) => s.rssMb));
  const growthMb = round1(endMb - baseline.rssMb);
  const peakGrowthMb = round1(peakMb - baseline.rssMb);
  const lossMatches = result.code === 0 && sources === 1 &&
    clientReport.ssrc === truth.ssrc && clientReport.lost === truth.lost &&
    clientReport.duplicates === truth.duplicated && clientReport.reordered === truth.reordered &&
    clientReport.packets === truth.sent && clientReport.invalid === 0;
  const lossMatchesWithKernelDrops = clientReport.lost === truth.lost + kernel.socketDrops;
  const rssFlat = peakGrowthMb < MAX_GROWTH_MB;
  return {
    seed,
    group,
    port,
    minutes,
    bitrate,
    seconds: truth.durationS,
    rss: {
      baselineS: baseline.atS,
      baselineMb: baseline.rssMb,
      endMb,
      growthMb,
      peakGrowthMb,
      samples,
    },
    source: {
      ssrc: truth.ssrc,
      generated: truth.generated,
      sent: truth.sent,
      dropped: truth.dropped,
      lost: truth.lost,
      duplicated: truth.duplicated,
      reordered: truth.reordered,
    },
    client: clientReport,
    junk: { rate: junkRate, sent: junkSent },
    kernel: { ...kernel, drained },
    lossMatches,
    lossMatchesWithKernelDrops,
    rssFlat,
    ok: lossMatches && rssFlat && drained,
  };
}

/** `--help` text. */
const USAGE = `soak_client: a long high-bitrate run of the client, checking RSS and loss.

Usage: deno run -A scripts/soak_client.ts [options]

  --minutes M     Length of the stream (default ${DEFAULTS.minutes}; decimals allowed)
  --bitrate B     Stream bitrate, e.g. 50M (default 50M)
  --loss P        Source loss probability (default ${DEFAULTS.loss})
  --duplicate P   Source duplication probability (default 0)
  --reorder P     Source reordering probability (default 0)
  --seed N        PRNG seed (default ${DEFAULTS.seed})
  --junk-sources N  Also N packets/s of valid RTP from random SSRCs in pairs (default 0)

Prints one JSON report line on stdout and a summary line on stderr; exit 0 when the RSS grew less
than ${MAX_GROWTH_MB} MB after the first minute and the client's counts equal the source's truth.
Runs inside a private network namespace (re-executes itself under unshare -rn if needed).`;

/** Command line: parses flags, re-executes in a namespace if needed, prints the report. */
export async function main(args: string[]): Promise<number> {
  let options: ClientSoakOptions;
  try {
    const values = parseFlags(args, {
      minutes: { type: "string", default: String(DEFAULTS.minutes) },
      bitrate: { type: "string", default: "50M" },
      loss: { type: "string", default: String(DEFAULTS.loss) },
      duplicate: { type: "string", default: "0" },
      reorder: { type: "string", default: "0" },
      seed: { type: "string", default: String(DEFAULTS.seed) },
      "junk-sources": { type: "string", default: "0" },
      help: { type: "boolean", short: "h" },
    });
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    const minutes = /^(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$/.test(values.minutes.trim())
      ? Number(values.minutes)
      : NaN;
    if (!(minutes > 0 && minutes <= 24 * 60)) {
      throw new ConfigError(
        "--minutes",
        `--minutes: expected minutes from 0 to 1440, got "${values.minutes}"`,
      );
    }
    options = {
      minutes,
      bitrate: parseBitrate(values.bitrate, "--bitrate"),
      loss: parseProbabilityFlag(values.loss, "--loss"),
      duplicate: parseProbabilityFlag(values.duplicate, "--duplicate"),
      reorder: parseProbabilityFlag(values.reorder, "--reorder"),
      seed: parseIntegerFlag(values.seed, "--seed", 0, 0xffff_ffff),
      junkRate: parseIntegerFlag(values["junk-sources"], "--junk-sources", 0, 1_000_000),
    };
  } catch (error) {
    return exitCodeFor("soak_client", error);
  }
  if (!inPrivateNetns()) return await runInPrivateNetns(new URL(import.meta.url), args);
  const report = await runClientSoak(options);
  console.log(JSON.stringify(report));
  console.error(
    `soak_client: ${report.minutes} min at ${report.bitrate / 1e6} Mbit/s: client RSS ` +
      `${report.rss.baselineMb} MB at ${report.rss.baselineS} s, ${report.rss.endMb} MB at the end ` +
      `(growth ${report.rss.growthMb} MB, peak ${report.rss.peakGrowthMb} MB); lost ` +
      `${report.client.lost} (source dropped ${report.source.lost} between its first and last), ` +
      `duplicates ${report.client.duplicates}/${report.source.duplicated}, reordered ` +
      `${report.client.reordered}/${report.source.reordered}, packets ${report.client.packets}/` +
      `${report.source.sent}, socket drops ${report.kernel.socketDrops}` +
      (report.junk.rate > 0
        ? `, beside ${report.junk.sent} junk-SSRC packets (untracked ${report.client.untrackedPackets})`
        : "") +
      (!report.lossMatches && report.lossMatchesWithKernelDrops
        ? " (client lost = source lost + kernel drops)"
        : "") +
      `: ${report.ok ? "OK" : "FAILED"}`,
  );
  return report.ok ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
