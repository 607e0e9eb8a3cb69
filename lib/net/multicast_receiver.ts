// A UDP socket joined to one multicast group (IGMP/MLD via Deno's joinMulticastV4/V6), bound to the
// group address itself so that two groups on one port never mix, with error messages that name the
// group, port and interface.
import { MulticastError } from "../common/errors.ts";
import { ipVersionOf, multicastProblem } from "./multicast_address.ts";
import {
  enlargeReceiveBuffer,
  type ReceiveBufferOutcome,
  SOCKET_RECEIVE_BUFFER_BYTES,
} from "./socket_buffer.ts";

/** Options of {@link MulticastReceiver.open}. */
export interface ReceiverSocketOptions {
  readonly group: string;
  readonly port: number;
  /** IPv4: local interface address; IPv6: interface name or index. Default: any. */
  readonly interface?: string;
  /** SO_RCVBUF to ask for; default SOCKET_RECEIVE_BUFFER_BYTES; 0 keeps the kernel default. */
  readonly receiveBufferBytes?: number;
}

/**
 * Resolves an IPv6 interface given as index, name or one of its addresses, to its index: from the
 * scope id of its link-local address, else from /proc/net/if_inet6 (Linux, per network namespace).
 */
function ipv6InterfaceIndex(value: string | undefined): number {
  if (value === undefined) return 0;
  if (/^[0-9]+$/.test(value)) return Number(value);
  const interfaces = Deno.networkInterfaces();
  let name = value;
  if (ipVersionOf(value) !== undefined) {
    const found = interfaces.find((i) => i.address === value);
    if (found === undefined) {
      throw new MulticastError(`No local interface has the address ${value}`);
    }
    name = found.name;
  }
  const linkLocal = interfaces.find((i) =>
    i.family === "IPv6" && i.name === name && (i.scopeid ?? 0) > 0
  );
  if (linkLocal?.scopeid) return linkLocal.scopeid;
  try {
    for (const line of Deno.readTextFileSync("/proc/net/if_inet6").split("\n")) {
      const fields = line.trim().split(/\s+/);
      if (fields[5] === name && fields[1] !== undefined) return parseInt(fields[1], 16);
    }
  } catch {
    // not Linux: fall through
  }
  throw new MulticastError(`No IPv6 network interface named "${name}"`);
}

function explainJoinError(error: unknown, options: ReceiverSocketOptions): MulticastError {
  const text = (error as Error).message ?? String(error);
  const where = `${options.group} port ${options.port}`;
  const iface = options.interface ?? "any interface";
  if (/No such device|os error 19/i.test(text)) {
    return new MulticastError(`Cannot join ${where} on ${iface}: no such interface`, {
      cause: error,
    });
  }
  if (/invalid.*address|syntax/i.test(text)) {
    return new MulticastError(`Cannot join ${where}: invalid interface address "${iface}"`, {
      cause: error,
    });
  }
  if (/Address already in use|AddrInUse/i.test(text)) {
    return new MulticastError(`Cannot join ${where} on ${iface}: already joined`, { cause: error });
  }
  if (/Cannot assign requested address|os error 99/i.test(text)) {
    return new MulticastError(
      `Cannot join ${where} on ${iface}: the interface has no such address`,
      { cause: error },
    );
  }
  if (/No route|unreachable/i.test(text)) {
    return new MulticastError(
      `Cannot join ${where} on ${iface}: no route for multicast (add one or choose --interface)`,
      {
        cause: error,
      },
    );
  }
  return new MulticastError(`Cannot join ${where} on ${iface}: ${text}`, { cause: error });
}

/** A joined multicast socket. `close()` leaves the group and closes the socket; both are idempotent. */
export class MulticastReceiver {
  readonly group: string;
  readonly port: number;
  readonly ipVersion: 4 | 6;
  /** What enlarging the kernel receive buffer did (needs --allow-ffi), for a log line. */
  readonly receiveBuffer: ReceiveBufferOutcome;
  #conn: Deno.DatagramConn;
  #membership: Deno.MulticastV4Membership | Deno.MulticastV6Membership;
  #joinArgs: () => Promise<Deno.MulticastV4Membership | Deno.MulticastV6Membership>;
  #closed = false;

  private constructor(
    options: ReceiverSocketOptions,
    ipVersion: 4 | 6,
    conn: Deno.DatagramConn,
    membership: Deno.MulticastV4Membership | Deno.MulticastV6Membership,
    join: () => Promise<Deno.MulticastV4Membership | Deno.MulticastV6Membership>,
    receiveBuffer: ReceiveBufferOutcome,
  ) {
    this.receiveBuffer = receiveBuffer;
    this.group = options.group;
    this.port = options.port;
    this.ipVersion = ipVersion;
    this.#conn = conn;
    this.#membership = membership;
    this.#joinArgs = join;
  }

  /** Binds to group:port with SO_REUSEADDR (several receivers per host) and joins the group. */
  static async open(options: ReceiverSocketOptions): Promise<MulticastReceiver> {
    const problem = multicastProblem(options.group);
    if (problem !== undefined) throw new MulticastError(`Refusing to join: ${problem}`);
    if (!Number.isInteger(options.port) || options.port < 1 || options.port > 65535) {
      throw new MulticastError(`Cannot receive on port ${options.port}: expected 1-65535`);
    }
    const ipVersion = ipVersionOf(options.group) as 4 | 6;
    if (
      ipVersion === 4 && options.interface !== undefined && ipVersionOf(options.interface) !== 4
    ) {
      throw new MulticastError(
        `Cannot join ${options.group}: --interface must be an IPv4 address for an IPv4 group, got "${options.interface}"`,
      );
    }
    const ifindex = ipVersion === 6 ? ipv6InterfaceIndex(options.interface) : 0;
    let conn: Deno.DatagramConn;
    try {
      conn = Deno.listenDatagram({
        transport: "udp",
        hostname: options.group,
        port: options.port,
        reuseAddress: true,
      });
    } catch (error) {
      throw new MulticastError(
        `Cannot bind ${options.group} port ${options.port}: ${(error as Error).message}`,
        { cause: error },
      );
    }
    const bytes = options.receiveBufferBytes ?? SOCKET_RECEIVE_BUFFER_BYTES;
    const receiveBuffer: ReceiveBufferOutcome = bytes > 0
      ? enlargeReceiveBuffer(conn.addr as Deno.NetAddr, bytes)
      : { ok: false, reason: "not asked for" };
    const join = () =>
      ipVersion === 4
        ? conn.joinMulticastV4(options.group, options.interface ?? "0.0.0.0")
        : conn.joinMulticastV6(options.group, ifindex);
    try {
      const membership = await join();
      return new MulticastReceiver(options, ipVersion, conn, membership, join, receiveBuffer);
    } catch (error) {
      conn.close();
      throw explainJoinError(error, options);
    }
  }

  /**
   * Receives one datagram into `buffer` (a view of it is returned: it dies with the next receive
   * into the same buffer). Datagrams larger than `buffer` are truncated by the kernel.
   */
  receive(buffer: Uint8Array): Promise<[Uint8Array, Deno.Addr]> {
    return this.#conn.receive(buffer);
  }

  /**
   * Leaves and joins the group again: a fresh IGMP/MLD report, which revives a stream that a switch
   * without a querier stopped forwarding.
   */
  async rejoin(): Promise<void> {
    if (this.#closed) return;
    try {
      await this.#membership.leave();
    } catch {
      // Already left; joining again is what matters.
    }
    this.#membership = await this.#joinArgs();
  }

  /** Leaves the group and closes the socket; a pending receive then rejects. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      await this.#membership.leave();
    } catch {
      // The socket is closing anyway.
    }
    this.#conn.close();
  }
}
