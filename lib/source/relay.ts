// Impairment relay: receives datagrams (any payload, typically RTP, RFC 3550) from one multicast
// group and re-sends each unchanged to another through the impaired-send pipeline
// (./impaired_sender.ts), with the same seeded impairments and exact truth as the test source.
import { ConfigError, MulticastError } from "../common/errors.ts";
import type { ImpairmentCounters } from "./impairment.ts";
import {
  elapsedSeconds,
  ImpairedSender,
  type ImpairmentSettings,
  resolveRun,
} from "./impaired_sender.ts";
import {
  checkGroup,
  checkInteger,
  errorText,
  listenDatagram,
  type MulticastSendOptions,
  resolveSend,
} from "./multicast_sender.ts";

/** A multicast group and UDP port. */
export interface Endpoint {
  readonly group: string;
  readonly port: number;
}

/** Options of {@link relayRtpStream}. */
export interface RelayOptions extends ImpairmentSettings {
  /** Group to receive from. */
  readonly from: Endpoint;
  /** Group to send to (its TTL, interface and loopback in `send`). */
  readonly to: Endpoint;
  /** TTL, interface and loopback of the sending side (see {@link MulticastSendOptions}). */
  readonly send?: Omit<MulticastSendOptions, "group" | "port">;
  /** IPv4: address of the interface to join `from` on (default: the kernel's choice). */
  readonly receiveInterfaceAddress?: string;
  /** IPv6: interface index to join `from` on (default 0: the kernel's choice). */
  readonly receiveInterfaceIndex?: number;
  /** Stop after this many datagrams were received. */
  readonly packets?: number;
  /** Stop after this many seconds. */
  readonly durationS?: number;
  readonly signal?: AbortSignal;
  /** Called once the group is joined and datagrams can arrive. */
  readonly onReady?: () => void;
}

/** The truth of a relay run; `generated` counts datagrams received from `from`. */
export interface RelayTruth extends ImpairmentCounters {
  readonly from: Endpoint;
  readonly to: Endpoint;
  readonly seed: number;
  /** Wall-clock seconds from joining to the end. */
  readonly durationS: number;
}

/** Largest datagram the relay forwards (UDP over IPv4 maximum). */
const MAX_DATAGRAM = 65_507;

/**
 * Opens the receiving socket bound to the group address itself (reuseAddress, so other receivers
 * can share it, and no other group on the port mixes in) and joins it.
 */
async function openReceiver(from: Endpoint, version: 4 | 6, options: RelayOptions) {
  let receiver: Deno.DatagramConn;
  try {
    receiver = listenDatagram({
      transport: "udp",
      hostname: from.group,
      port: from.port,
      reuseAddress: true,
    });
  } catch (error) {
    if (error instanceof MulticastError) throw error;
    throw new MulticastError(
      `Cannot bind to ${from.group} port ${from.port}: ${errorText(error)}`,
      { cause: error },
    );
  }
  const joinOn = version === 4
    ? options.receiveInterfaceAddress ?? "0.0.0.0"
    : options.receiveInterfaceIndex ?? 0;
  try {
    if (typeof joinOn === "string") await receiver.joinMulticastV4(from.group, joinOn);
    else await receiver.joinMulticastV6(from.group, joinOn);
  } catch (error) {
    receiver.close();
    throw new MulticastError(
      `Cannot join ${from.group} port ${from.port} on ${joinOn}: ${errorText(error)}`,
      { cause: error },
    );
  }
  return receiver;
}

/**
 * Receives datagrams from one multicast group and re-sends each unchanged to another, with the
 * same seeded impairments and truth counters as the test source, until `packets`, `durationS` or
 * `signal` stops it. Throws ConfigError for bad options and MulticastError when a socket cannot
 * be opened or joined, or a receive or send fails.
 */
export async function relayRtpStream(options: RelayOptions): Promise<RelayTruth> {
  const fromVersion = checkGroup(options.from.group, "from");
  const fromPort = checkInteger(options.from.port, "from", 1, 65_535);
  const send = resolveSend({ ...options.send, ...options.to }, "to");
  if (send.group === options.from.group && send.port === fromPort) {
    throw new ConfigError("to", `to: ${send.group} port ${send.port} is the group relayed from`);
  }
  const { limits: { packets: limit, durationS }, impairment } = resolveRun(options);
  const from: Endpoint = { group: options.from.group, port: fromPort };
  const to: Endpoint = { group: send.group, port: send.port };

  const receiver = await openReceiver(from, fromVersion, options);
  let sender: ImpairedSender;
  try {
    sender = await ImpairedSender.open(send, impairment, MAX_DATAGRAM);
  } catch (error) {
    receiver.close();
    throw error;
  }

  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    receiver.close();
  };
  const signal = options.signal;
  signal?.addEventListener("abort", stop, { once: true });
  const timer = durationS === undefined ? undefined : setTimeout(stop, durationS * 1000);
  const buffer = new Uint8Array(MAX_DATAGRAM);
  let received = 0;
  const start = performance.now();
  try {
    options.onReady?.();
    if (signal?.aborted || limit === 0) stop();
    while (!stopping) {
      let data: Uint8Array;
      try {
        [data] = await receiver.receive(buffer);
      } catch (error) {
        if (stopping) break;
        throw new MulticastError(
          `Cannot receive from ${from.group} port ${from.port}: ${errorText(error)}`,
          { cause: error },
        );
      }
      received++;
      await sender.send(data);
      if (received >= limit) stop();
    }
    await sender.flush();
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", stop);
    stop();
    sender.close();
  }
  return {
    ...sender.snapshot(),
    from,
    to,
    seed: sender.seed,
    durationS: elapsedSeconds(start),
  };
}

/** Parses `GROUP:PORT` or `[IPV6-GROUP]:PORT` into a multicast endpoint; throws ConfigError. */
export function parseEndpoint(text: string, field: string): Endpoint {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):([0-9]{1,5})$/.exec(text.trim());
  if (match === null) {
    throw new ConfigError(
      field,
      `${field}: expected GROUP:PORT or [IPV6-GROUP]:PORT, got "${text}"`,
    );
  }
  const group = (match[1] ?? match[2])!;
  checkGroup(group, field);
  const port = Number(match[3]);
  if (port < 1 || port > 65_535) {
    throw new ConfigError(field, `${field}: port must be 1-65535, got ${port}`);
  }
  return { group, port };
}
