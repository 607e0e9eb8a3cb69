// The sending side of the test source and the relay: checks where datagrams go (an IPv4 or IPv6
// multicast group, RFC 5771 / RFC 4291 §2.7) and opens a UDP socket with the multicast TTL and
// loopback asked for (IP_MULTICAST_TTL, IP_MULTICAST_LOOP), keeping TTL 0 traffic on this host.
import { ConfigError, MulticastError } from "../common/errors.ts";
import { ipVersionOf, multicastProblem } from "../net/multicast_address.ts";

/** Defaults of the sending socket: TTL 0 keeps every packet on this host, loopback delivers it. */
export const SEND_DEFAULTS = {
  /** 0 keeps every packet on this host (IP_MULTICAST_TTL 0). */
  ttl: 0,
  /** Multicast loopback on, so receivers on this host get the packets (needed with TTL 0). */
  loopback: true,
} as const;

/** Where and how to send multicast datagrams. */
export interface MulticastSendOptions {
  /** IPv4 or IPv6 multicast group. */
  readonly group: string;
  /** Destination UDP port, 1-65535. */
  readonly port: number;
  /**
   * IPv4: IP_MULTICAST_TTL, 0-255 (0 = this host only). IPv6: Deno cannot set the hop limit, so
   * only 1 (the kernel default, link-local) or 0 with an interface-local group (ff01::/16, ff11::…),
   * which Linux never puts on a wire, are accepted. Default 0.
   */
  readonly ttl?: number;
  /** Local address to send from; for IPv4 it also picks the outgoing interface. */
  readonly interfaceAddress?: string;
  /** IP_MULTICAST_LOOP: deliver to receivers on this host too (default true). */
  readonly loopback?: boolean;
}

/** {@link MulticastSendOptions} checked, with the defaults applied and the IP version found. */
export interface ResolvedSend {
  readonly group: string;
  readonly port: number;
  readonly ttl: number;
  readonly version: 4 | 6;
  readonly interfaceAddress: string | undefined;
  readonly loopback: boolean;
}

const IPV4_LOOPBACK = "127.0.0.1";

/** Throws ConfigError naming `field` unless `value` is an integer in [min, max]; returns it. */
export function checkInteger(value: number, field: string, min: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new ConfigError(field, `${field} must be an integer from ${min} to ${max}, got ${value}`);
  }
  return value;
}

/** Throws ConfigError naming `field` unless `group` is a multicast group; returns its IP version. */
export function checkGroup(group: string, field: string): 4 | 6 {
  const problem = multicastProblem(group);
  if (problem !== undefined) throw new ConfigError(field, `${field}: ${problem}`);
  return ipVersionOf(group)!;
}

/** Scope nibble of an IPv6 multicast address (RFC 4291 §2.7): 1 interface-local … 14 global. */
function ipv6Scope(group: string): number {
  return parseInt(group.slice(3, 4), 16);
}

/** The message of an error, or the thing thrown as text. */
export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Deno.listenDatagram, or a MulticastError saying how to enable it when --unstable-net is off. */
export function listenDatagram(
  options: Deno.UdpListenOptions & { transport: "udp" },
): Deno.DatagramConn {
  if (typeof Deno.listenDatagram !== "function") {
    throw new MulticastError(
      "Deno.listenDatagram is unavailable: run with --unstable-net (deno.json enables it)",
    );
  }
  return Deno.listenDatagram(options);
}

/**
 * Validates send options and returns them with defaults applied; `field` names the group in the
 * ConfigError (e.g. "to" for the relay's output). IPv6 accepts only TTL 1, or TTL 0 with an
 * interface-local group, since Deno cannot set the hop limit.
 */
export function resolveSend(options: MulticastSendOptions, field = "group"): ResolvedSend {
  const version = checkGroup(options.group, field);
  const port = checkInteger(options.port, "port", 1, 65_535);
  const ttl = checkInteger(options.ttl ?? SEND_DEFAULTS.ttl, "ttl", 0, 255);
  if (version === 6 && ttl > 1) {
    throw new ConfigError(
      "ttl",
      `Cannot send to ${options.group} with TTL ${ttl}: Deno cannot set the IPv6 hop limit, ` +
        "so IPv6 multicast leaves with the kernel default 1 (use --ttl 1)",
    );
  }
  if (version === 6 && ttl === 0 && ipv6Scope(options.group) !== 1) {
    throw new ConfigError(
      "ttl",
      `Cannot keep ${options.group} on this host (TTL 0): Deno cannot set the IPv6 hop limit; ` +
        "use an interface-local group (ff01::/16) or --ttl 1 (link-local)",
    );
  }
  const interfaceAddress = options.interfaceAddress;
  if (interfaceAddress !== undefined && ipVersionOf(interfaceAddress) !== version) {
    throw new ConfigError(
      "interface",
      `Interface address "${interfaceAddress}" is not an IPv${version} address like ${options.group}`,
    );
  }
  return {
    group: options.group,
    port,
    ttl,
    version,
    interfaceAddress,
    loopback: options.loopback ?? SEND_DEFAULTS.loopback,
  };
}

/**
 * Opens the sending socket. IPv4 needs a membership to reach setTTL (Deno has no other TTL API):
 * it joins on the given interface, or on loopback so no IGMP report leaves the host. IPv6 sends
 * with the kernel's default hop limit (checked in {@link resolveSend}) and needs no membership.
 * Throws MulticastError naming the address when the socket cannot be opened or configured.
 */
export async function openMulticastSender(send: ResolvedSend): Promise<Deno.DatagramConn> {
  const hostname = send.interfaceAddress ?? (send.version === 4 ? "0.0.0.0" : "::");
  let conn: Deno.DatagramConn;
  try {
    conn = listenDatagram({ transport: "udp", hostname, port: 0, loopback: send.loopback });
  } catch (error) {
    if (error instanceof MulticastError) throw error;
    throw new MulticastError(`Cannot open a UDP socket on ${hostname}: ${errorText(error)}`, {
      cause: error,
    });
  }
  if (send.version === 6) return conn;
  const joinOn = send.interfaceAddress ?? IPV4_LOOPBACK;
  try {
    const membership = await conn.joinMulticastV4(send.group, joinOn);
    await membership.setTTL(send.ttl);
    await membership.setLoopback(send.loopback);
  } catch (error) {
    conn.close();
    throw new MulticastError(
      `Cannot set TTL ${send.ttl} for ${send.group} (membership on ${joinOn}): ${errorText(error)}`,
      { cause: error },
    );
  }
  return conn;
}
