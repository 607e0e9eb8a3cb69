// What every multicast receiver of lib/net/ offers the client: batches of datagrams with arrival
// times, the kernel's drop count where known, re-join (a fresh IGMP/MLD report, RFC 3376 / RFC 3810)
// and close. Implemented by kernel_receiver.ts (FFI recvmmsg) and multicast_receiver.ts (Deno).
import { MulticastError } from "../common/errors.ts";
import type { DatagramBatch } from "./datagram_batch.ts";
import { ipVersionOf, multicastProblem } from "./multicast_address.ts";
import type { ReceiveBufferOutcome } from "./socket_buffer.ts";

/** Receive paths: `kernel` = own socket through FFI to libc (Linux), `deno` = Deno.listenDatagram. */
export const RECEIVER_KINDS = ["kernel", "deno"] as const;

/** One receive path. */
export type ReceiverKind = typeof RECEIVER_KINDS[number];

/** What the user asked for: a path, or `auto` (kernel where it works, else Deno). */
export const RECEIVER_PREFERENCES = ["auto", ...RECEIVER_KINDS] as const;

/** `--receiver` value. */
export type ReceiverPreference = typeof RECEIVER_PREFERENCES[number];

/** Options common to every receiver (see openReceiver() in open_receiver.ts). */
export interface ReceiverOptions {
  /** IPv4 or IPv6 multicast group; the socket is bound to it, so other groups never mix in. */
  readonly group: string;
  readonly port: number;
  /** IPv4: local interface address; IPv6: interface name, index or address. Default: any. */
  readonly interface?: string;
  /**
   * Senders to receive from (RFC 4607 source-specific join). The kernel path joins each with
   * IP_ADD_SOURCE_MEMBERSHIP / MCAST_JOIN_SOURCE_GROUP so others are never delivered; the Deno path
   * cannot, and leaves filtering to the caller ({@link DatagramReceiver.filtersSources} false).
   */
  readonly sources?: readonly string[];
  /** SO_RCVBUF to ask for; default SOCKET_RECEIVE_BUFFER_BYTES; 0 keeps the kernel default. */
  readonly receiveBufferBytes?: number;
}

/** A joined multicast socket that yields datagrams in batches. */
export interface DatagramReceiver {
  /** Which path this is. */
  readonly kind: ReceiverKind;
  /** Why this path was chosen, for the run's first log line. */
  readonly reason: string;
  readonly group: string;
  readonly port: number;
  readonly ipVersion: 4 | 6;
  /** What asking for a larger kernel receive buffer did, for a log line. */
  readonly receiveBuffer: ReceiveBufferOutcome;
  /**
   * True when the kernel delivers only the `sources` given (source-specific join): a user-space
   * filter then never drops anything. False when the caller must filter.
   */
  readonly filtersSources: boolean;
  /**
   * Datagrams this socket's kernel queue had no room for (Linux sk_drops: SO_RXQ_OVFL and
   * SO_MEMINFO), as of now; undefined when the path cannot know it.
   */
  readonly socketDrops: number | undefined;
  /**
   * Resolves with the next datagrams (at least one), or null once the receiver is closed. The
   * batch and its payload views are valid until the next call. Rejects with MulticastError when
   * receiving fails; one call at a time.
   */
  receiveBatch(): Promise<DatagramBatch | null>;
  /**
   * Leaves and joins the group again on the same socket (datagrams already queued are kept): a
   * fresh IGMP/MLD report revives a stream a switch without a querier stopped forwarding.
   */
  rejoin(): Promise<void>;
  /** Leaves the group and closes the socket; a pending receiveBatch() resolves null. Idempotent. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Checked receiver options: the group's IP version and the sources as address bytes. */
export interface ResolvedReceiverOptions {
  readonly ipVersion: 4 | 6;
  readonly sources: readonly string[];
}

/**
 * Checks group, port, interface and sources the way both paths need them; throws MulticastError
 * with the message the client shows.
 */
export function resolveReceiverOptions(options: ReceiverOptions): ResolvedReceiverOptions {
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
  const sources = [...new Set(options.sources ?? [])];
  for (const source of sources) {
    if (ipVersionOf(source) !== ipVersion) {
      throw new MulticastError(
        `Cannot join ${options.group}: source "${source}" is not an IPv${ipVersion} address`,
      );
    }
  }
  return { ipVersion, sources };
}
