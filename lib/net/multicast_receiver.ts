// The portable receive path: a Deno.listenDatagram UDP socket joined to one multicast group (IGMP/MLD
// via joinMulticastV4/V6), bound to the group address itself so that two groups on one port never
// mix, with error messages that name the group, port and interface. Implements DatagramReceiver.
import { MulticastError } from "../common/errors.ts";
import { DatagramBatch } from "./datagram_batch.ts";
import {
  type DatagramReceiver,
  type ReceiverOptions,
  resolveReceiverOptions,
} from "./datagram_receiver.ts";
import { ipv6InterfaceIndex } from "./interface_index.ts";
import { parseIpAddress } from "./ip_address.ts";
import { explainJoinError } from "./join_error.ts";
import {
  enlargeReceiveBuffer,
  type ReceiveBufferOutcome,
  SOCKET_RECEIVE_BUFFER_BYTES,
} from "./socket_buffer.ts";

/** Options of {@link MulticastReceiver.open}. `sources` is not used: Deno cannot join by source. */
export interface ReceiverSocketOptions extends ReceiverOptions {
  /** Why this path is used, for the log line (default: opened directly). */
  readonly reason?: string;
}

/** Largest UDP payload, the size of the one receive buffer (nothing is ever cut). */
const DATAGRAM_BYTES = 65_536;

type Membership = Deno.MulticastV4Membership | Deno.MulticastV6Membership;

/** A joined multicast socket. `close()` leaves the group and closes the socket; both are idempotent. */
export class MulticastReceiver implements DatagramReceiver {
  readonly kind = "deno" as const;
  readonly reason: string;
  readonly group: string;
  readonly port: number;
  readonly ipVersion: 4 | 6;
  /** What enlarging the kernel receive buffer did (needs --allow-ffi), for a log line. */
  readonly receiveBuffer: ReceiveBufferOutcome;
  /** Deno has no source-specific join: the caller filters. */
  readonly filtersSources = false;
  /** Not known on this path (see the kernel receiver). */
  readonly socketDrops: number | undefined = undefined;
  readonly #conn: Deno.DatagramConn;
  #membership: Membership;
  readonly #joinArgs: () => Promise<Membership>;
  readonly #batch: DatagramBatch;
  readonly #buffer: Uint8Array;
  #lastHostname = "";
  #receiving = false;
  #closed = false;

  private constructor(
    options: ReceiverSocketOptions,
    ipVersion: 4 | 6,
    conn: Deno.DatagramConn,
    membership: Membership,
    join: () => Promise<Membership>,
    receiveBuffer: ReceiveBufferOutcome,
  ) {
    this.reason = options.reason ?? "Deno.listenDatagram (opened directly)";
    this.receiveBuffer = receiveBuffer;
    this.group = options.group;
    this.port = options.port;
    this.ipVersion = ipVersion;
    this.#conn = conn;
    this.#membership = membership;
    this.#joinArgs = join;
    this.#buffer = new Uint8Array(DATAGRAM_BYTES);
    this.#batch = new DatagramBatch({ data: this.#buffer, capacity: 1, slotBytes: DATAGRAM_BYTES });
  }

  /** Binds to group:port with SO_REUSEADDR (several receivers per host) and joins the group. */
  static async open(options: ReceiverSocketOptions): Promise<MulticastReceiver> {
    const { ipVersion } = resolveReceiverOptions(options);
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
   * Receives the next datagram as a batch of one, stamped with performance.now() when JavaScript
   * saw it; null once closed. Rejects with MulticastError when receiving fails.
   */
  async receiveBatch(): Promise<DatagramBatch | null> {
    if (this.#closed) return null;
    if (this.#receiving) throw new MulticastError("receiveBatch() is already pending");
    this.#receiving = true;
    const batch = this.#batch;
    batch.count = 0;
    let data: Uint8Array;
    let from: Deno.Addr;
    try {
      [data, from] = await this.#conn.receive(this.#buffer);
    } catch (error) {
      if (this.#closed) return null;
      throw new MulticastError(
        `Cannot receive from ${this.group} port ${this.port}: ${(error as Error).message}`,
        { cause: error },
      );
    } finally {
      this.#receiving = false;
    }
    batch.arrivalMs[0] = performance.now();
    batch.lengths[0] = data.byteLength;
    batch.truncated[0] = 0;
    const address = from as Deno.NetAddr;
    batch.ports[0] = address.port;
    if (address.hostname !== this.#lastHostname) {
      // Deno hands out a new string per datagram; parse only when the sender changed.
      const parsed = parseIpAddress(address.hostname.split("%", 1)[0]!);
      batch.address.fill(0, 0, 16);
      if (parsed === undefined) {
        batch.family[0] = 0;
      } else {
        batch.family[0] = parsed.family;
        batch.address.set(parsed.bytes, 0);
      }
      this.#lastHostname = address.hostname;
    }
    batch.count = 1;
    return batch;
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

  /** Same as close(), for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
