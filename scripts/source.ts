// Test source standing in for VLC: MPEG-TS over RTP (RFC 2250, PT 33) or raw over UDP to a
// multicast group, with seeded loss, duplication and reordering, TR 101 290 faults, and a truth
// report of what it sent (RFC 3550 counters and the TS indicators).
// Run: deno run --allow-net scripts/source.ts --group 239.0.0.1 --port 5004 --duration 10 --json

import { parseFlags, parseIntegerFlag } from "../lib/common/flags.ts";
import {
  MP2T_RTP,
  parseBitrate,
  type RtpSourceOptions,
  sendRtpStream,
  SOURCE_DEFAULTS,
  type SourceTruth,
} from "../lib/source/rtp_source.ts";
import {
  endpointText,
  IMPAIRMENT_USAGE,
  optionalFlag,
  parseTruthProgramFlags,
  REPORT_USAGE,
  runTruthProgram,
  TRUTH_PROGRAM_FLAGS,
  type TruthCommand,
} from "./support/truth_program.ts";
import { parseTsFaultFlags, TS_FAULT_FLAGS, TS_FAULT_USAGE } from "./support/ts_fault_flags.ts";

/** `--help` text of the source. */
export const SOURCE_USAGE =
  `rtp-source: sends MPEG-TS over RTP (PT 33, MP2T/90000) to a multicast group.

Usage: deno run --allow-net scripts/source.ts [options]

Each datagram is a 12-byte RTP header and 7 × 188-byte TS packets (1328 bytes): PAT, PMT, silent
MPEG-1 Layer II audio with PCR, padded with null packets to the bitrate. Timestamps run on the
90 kHz clock of the send schedule. Without --packets or --duration it runs until SIGINT/SIGTERM.

Options:
  --group IP          Multicast group, IPv4 or IPv6 (default ${SOURCE_DEFAULTS.group})
  --port N            UDP port, 1-65535 (default ${SOURCE_DEFAULTS.port})
  --ttl N             Multicast TTL, 0-255 (default ${SOURCE_DEFAULTS.ttl}: packets never leave this host).
                      IPv6: Deno cannot set the hop limit, so only 1 (kernel default,
                      link-local), or 0 with an interface-local group (ff01::/16)
  --bitrate RATE      TS bitrate in bit/s: 2000000, 2M, 500k (default 2M; 250k to 100M)
  --ssrc N            RTP SSRC, decimal or 0x hex (default random)
  --start-seq N       First RTP sequence number, 0-65535 (default random)
  --packets N         Stop after N datagrams generated
  --duration SECONDS  Stop after SECONDS of schedule (⌈SECONDS × bitrate / 10528⌉ datagrams)
  --raw-udp           Raw MPEG-TS over UDP: the 7 TS packets (1316 bytes) without the RTP header,
                      as VLC's #udp{dst=...} sends (no SSRC or sequence numbers)
${TS_FAULT_USAGE}
${IMPAIRMENT_USAGE}
  --interface IP      Local address to send from (IPv4: picks the outgoing interface)
${REPORT_USAGE}

The first 2 datagrams are never impaired (RFC 3550 A.1 probation). Truth counters: generated,
sent (datagrams on the wire, duplicates included), dropped, duplicated, reordered (what a
receiver counts as late) and lost (dropped between the first and last datagram kept: what a
receiver computes as expected - received); "ts": what a TR 101 290 analyser must count on the
transport stream as written (before the datagram impairments).

Exit codes: 0 when done or stopped by SIGINT/SIGTERM (the truth is still printed), 1 when a
socket cannot be opened or a send fails, 2 on a usage error.
`;

/** Parsed command line of the source. */
export type SourceCommand = TruthCommand<RtpSourceOptions>;

/** Parses the source's flags; throws ConfigError naming the bad flag. */
export function parseSourceArgs(args: string[]): SourceCommand {
  const values = parseFlags(args, {
    ...TRUTH_PROGRAM_FLAGS,
    group: { type: "string" },
    port: { type: "string" },
    bitrate: { type: "string" },
    ssrc: { type: "string" },
    "start-seq": { type: "string" },
    "raw-udp": { type: "boolean" },
    ...TS_FAULT_FLAGS,
  });
  if (values.help) return { kind: "help" };
  const port = optionalFlag(values.port, (t) => parseIntegerFlag(t, "--port", 1, 65_535));
  const shared = parseTruthProgramFlags(values);
  const options: RtpSourceOptions = {
    group: values.group ?? SOURCE_DEFAULTS.group,
    port: port ?? SOURCE_DEFAULTS.port,
    ttl: shared.ttl,
    bitrate: optionalFlag(values.bitrate, (t) => parseBitrate(t, "--bitrate")),
    ssrc: optionalFlag(values.ssrc, (t) => parseIntegerFlag(t, "--ssrc", 0, 0xffff_ffff)),
    startSeq: optionalFlag(
      values["start-seq"],
      (t) => parseIntegerFlag(t, "--start-seq", 0, 0xffff),
    ),
    ...shared.limits,
    ...shared.impairment,
    interfaceAddress: shared.interfaceAddress,
    ...(values["raw-udp"] ? { rawUdp: true } : {}),
    tsFaults: parseTsFaultFlags(values),
  };
  return { kind: "run", options, json: values.json ?? false };
}

function hex32(value: number): string {
  return `0x${value.toString(16).padStart(8, "0")}`;
}

/** One human line describing a source run's truth. */
export function describeSourceTruth(truth: SourceTruth): string {
  const seq = truth.transport === "udp"
    ? "raw UDP"
    : truth.firstSeq === null
    ? "no packets"
    : `seq ${truth.firstSeq}-${truth.lastSeq}`;
  return `rtp-source: generated ${truth.generated}, sent ${truth.sent} datagrams to ${
    endpointText(truth)
  }` +
    ` (dropped ${truth.dropped}, duplicated ${truth.duplicated}, reordered ${truth.reordered},` +
    ` lost ${truth.lost}); SSRC ${hex32(truth.ssrc)}, ${seq}, seed ${truth.seed},` +
    ` ${truth.durationS} s`;
}

/** Runs the source until done or SIGINT/SIGTERM; returns the exit code. */
export function main(args: string[]): Promise<number> {
  return runTruthProgram({
    name: "rtp-source",
    usage: SOURCE_USAGE,
    parse: parseSourceArgs,
    describe: describeSourceTruth,
    run: (options, signal, json) =>
      sendRtpStream({
        ...options,
        signal,
        onStart: () => {
          if (json) return;
          console.error(
            `rtp-source: sending ${
              options.rawUdp ? MP2T_RTP.PAYLOAD_BYTES : MP2T_RTP.DATAGRAM_BYTES
            }-byte ${options.rawUdp ? "raw MPEG-TS/UDP" : "MP2T/RTP"} datagrams to ${
              endpointText(options)
            } at ${options.bitrate ?? SOURCE_DEFAULTS.bitrate} bit/s, TTL ${
              options.ttl ?? SOURCE_DEFAULTS.ttl
            }; Ctrl-C stops`,
          );
        },
      }),
  }, args);
}

if (import.meta.main) Deno.exit(await main(Deno.args));
