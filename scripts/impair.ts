// Impairment relay: receives RTP datagrams from one multicast group and re-sends them unchanged to
// another with seeded loss, duplication and reordering, and a truth report of what it did.
// Run: deno run --allow-net scripts/impair.ts --from 239.0.0.1:5004 --to 239.0.0.2:5004 --loss 0.01

import { ConfigError } from "../lib/common/errors.ts";
import { withShutdownSignal } from "../lib/common/shutdown.ts";
import {
  parseEndpoint,
  type RelayOptions,
  relayRtpStream,
  type RelayTruth,
} from "../lib/source/relay.ts";
import { SEND_DEFAULTS } from "../lib/source/multicast_sender.ts";
import {
  exitCodeFor,
  parseFlags,
  parseIntegerFlag,
  parseProbabilityFlag,
  parseSecondsFlag,
} from "../lib/common/flags.ts";

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
  --loss P            Probability 0-1 that a datagram is dropped (default 0)
  --duplicate P       Probability 0-1 that a datagram is sent twice (default 0)
  --reorder P         Probability 0-1 that a datagram is held and sent after the next (default 0)
  --seed N            Seed of the impairment PRNG, 0-4294967295 (default random; reported)
  --json              Print the truth report as one JSON line on stdout at exit
                      (otherwise a summary line on stderr)
  -h, --help          Show this help and exit

Once joined it prints "rtp-impair: relaying FROM -> TO" on stderr. The first 2 datagrams are
never impaired. Truth counters: generated (datagrams received), sent, dropped, duplicated,
reordered (what a receiver counts as late) and lost (what a receiver counts as lost).

Exit codes: 0 when done or stopped by SIGINT/SIGTERM (the truth is still printed), 1 when a
socket cannot be opened or joined, 2 on a usage error.
`;

/** Parsed command line of the relay. */
export type ImpairCommand =
  | { readonly kind: "help" }
  | {
    readonly kind: "run";
    readonly options: Omit<RelayOptions, "signal" | "onReady">;
    readonly json: boolean;
  };

/** Parses the relay's flags; throws ConfigError naming the bad flag. */
export function parseImpairArgs(args: string[]): ImpairCommand {
  const values = parseFlags(args, {
    from: { type: "string" },
    to: { type: "string" },
    ttl: { type: "string" },
    interface: { type: "string" },
    packets: { type: "string" },
    duration: { type: "string" },
    loss: { type: "string" },
    duplicate: { type: "string" },
    reorder: { type: "string" },
    seed: { type: "string" },
    json: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) return { kind: "help" };
  if (values.from === undefined) throw new ConfigError("--from", "--from GROUP:PORT is required");
  if (values.to === undefined) throw new ConfigError("--to", "--to GROUP:PORT is required");
  const optional = <T>(text: string | undefined, parse: (text: string) => T) =>
    text === undefined ? undefined : parse(text);
  const options: Omit<RelayOptions, "signal" | "onReady"> = {
    from: parseEndpoint(values.from, "--from"),
    to: parseEndpoint(values.to, "--to"),
    send: {
      ttl: optional(values.ttl, (t) => parseIntegerFlag(t, "--ttl", 0, 255)),
      interfaceAddress: values.interface,
    },
    receiveInterfaceAddress: values.interface,
    packets: optional(
      values.packets,
      (t) => parseIntegerFlag(t, "--packets", 1, Number.MAX_SAFE_INTEGER),
    ),
    durationS: optional(values.duration, (t) => parseSecondsFlag(t, "--duration")),
    loss: optional(values.loss, (t) => parseProbabilityFlag(t, "--loss")),
    duplicate: optional(values.duplicate, (t) => parseProbabilityFlag(t, "--duplicate")),
    reorder: optional(values.reorder, (t) => parseProbabilityFlag(t, "--reorder")),
    seed: optional(values.seed, (t) => parseIntegerFlag(t, "--seed", 0, 0xffff_ffff)),
  };
  return { kind: "run", options, json: values.json ?? false };
}

function endpointText(endpoint: { group: string; port: number }): string {
  const group = endpoint.group.includes(":") ? `[${endpoint.group}]` : endpoint.group;
  return `${group}:${endpoint.port}`;
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
export async function main(args: string[]): Promise<number> {
  let command: ImpairCommand;
  try {
    command = parseImpairArgs(args);
  } catch (error) {
    return exitCodeFor("rtp-impair", error);
  }
  if (command.kind === "help") {
    console.log(IMPAIR_USAGE);
    return 0;
  }
  try {
    const { options, json } = command;
    const truth = await withShutdownSignal((signal) =>
      relayRtpStream({
        ...options,
        signal,
        onReady: () =>
          console.error(
            `rtp-impair: relaying ${endpointText(options.from)} -> ${endpointText(options.to)}`,
          ),
      })
    );
    if (json) console.log(JSON.stringify(truth));
    else console.error(describeRelayTruth(truth));
    return 0;
  } catch (error) {
    return exitCodeFor("rtp-impair", error);
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
