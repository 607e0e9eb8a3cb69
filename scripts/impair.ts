// Impairment relay: receives RTP datagrams from one multicast group and re-sends them unchanged to
// another with seeded loss, duplication and reordering, and a truth report of what it did.
// Run: deno run --allow-net scripts/impair.ts --from 239.0.0.1:5004 --to 239.0.0.2:5004 --loss 0.01

import { ConfigError } from "../lib/common/errors.ts";
import { parseFlags } from "../lib/common/flags.ts";
import { SEND_DEFAULTS } from "../lib/source/multicast_sender.ts";
import {
  parseEndpoint,
  type RelayOptions,
  relayRtpStream,
  type RelayTruth,
} from "../lib/source/relay.ts";
import {
  endpointText,
  IMPAIRMENT_USAGE,
  parseTruthProgramFlags,
  REPORT_USAGE,
  runTruthProgram,
  TRUTH_PROGRAM_FLAGS,
  type TruthCommand,
} from "./support/truth_program.ts";

/** `--help` text of the relay. */
export const IMPAIR_USAGE =
  `rtp-impair: relays multicast datagrams from one group to another, impaired.

Usage: deno run --allow-net scripts/impair.ts --from GROUP:PORT --to GROUP:PORT [options]

Datagrams are forwarded unchanged (any payload; impairments are decided per datagram). The
receiving socket is bound to the --from group itself, so other receivers can share the port.
Without --packets or --duration it runs until SIGINT/SIGTERM.

Options:
  --from GROUP:PORT   Group to receive from, e.g. 239.0.0.1:5004 or [ff15::1]:5004 (required)
  --to GROUP:PORT     Group to send to; must differ from --from (required)
  --ttl N             Multicast TTL of the output, 0-255 (default ${SEND_DEFAULTS.ttl}: never leaves this host).
                      IPv6: only 1, or 0 with an interface-local group (ff01::/16)
  --interface IP      IPv4: interface address to join --from on and to send from
  --packets N         Stop after N datagrams received
  --duration SECONDS  Stop after SECONDS
${IMPAIRMENT_USAGE}
${REPORT_USAGE}

Once joined it prints "rtp-impair: relaying FROM -> TO" on stderr. The first 2 datagrams are
never impaired. Truth counters: generated (datagrams received), sent, dropped, duplicated,
reordered (what a receiver counts as late) and lost (what a receiver counts as lost).

Exit codes: 0 when done or stopped by SIGINT/SIGTERM (the truth is still printed), 1 when a
socket cannot be opened or joined, 2 on a usage error.
`;

/** Parsed command line of the relay. */
export type ImpairCommand = TruthCommand<Omit<RelayOptions, "signal" | "onReady">>;

/** Parses the relay's flags; throws ConfigError naming the bad flag. */
export function parseImpairArgs(args: string[]): ImpairCommand {
  const values = parseFlags(args, {
    ...TRUTH_PROGRAM_FLAGS,
    from: { type: "string" },
    to: { type: "string" },
  });
  if (values.help) return { kind: "help" };
  if (values.from === undefined) throw new ConfigError("--from", "--from GROUP:PORT is required");
  if (values.to === undefined) throw new ConfigError("--to", "--to GROUP:PORT is required");
  const from = parseEndpoint(values.from, "--from");
  const to = parseEndpoint(values.to, "--to");
  const shared = parseTruthProgramFlags(values);
  const options: Omit<RelayOptions, "signal" | "onReady"> = {
    from,
    to,
    send: { ttl: shared.ttl, interfaceAddress: shared.interfaceAddress },
    receiveInterfaceAddress: shared.interfaceAddress,
    ...shared.limits,
    ...shared.impairment,
  };
  return { kind: "run", options, json: values.json ?? false };
}

/** One human line describing a relay run's truth. */
export function describeRelayTruth(truth: RelayTruth): string {
  return `rtp-impair: received ${truth.generated} from ${
    endpointText(truth.from)
  }, sent ${truth.sent}` +
    ` to ${endpointText(truth.to)} (dropped ${truth.dropped}, duplicated ${truth.duplicated},` +
    ` reordered ${truth.reordered}, lost ${truth.lost}); seed ${truth.seed}, ${truth.durationS} s`;
}

/** Runs the relay until done or SIGINT/SIGTERM; returns the exit code. */
export function main(args: string[]): Promise<number> {
  return runTruthProgram({
    name: "rtp-impair",
    usage: IMPAIR_USAGE,
    parse: parseImpairArgs,
    describe: describeRelayTruth,
    run: (options, signal) =>
      relayRtpStream({
        ...options,
        signal,
        onReady: () =>
          console.error(
            `rtp-impair: relaying ${endpointText(options.from)} -> ${endpointText(options.to)}`,
          ),
      }),
  }, args);
}

if (import.meta.main) Deno.exit(await main(Deno.args));
