// Sends SAP packets (RFC 2974) to their group through Deno.listenDatagram: IPv4 with a per-packet
// multicast TTL (setTTL allows 0, host only); IPv6 with the kernel's hop limit 1, which Deno (and its
// node:dgram, measured) cannot change.
import { MulticastError } from "../common/errors.ts";
import { ipVersionOf } from "../net/multicast_address.ts";
import { SAP_GROUPS_V4 } from "./scope.ts";

/** Where one packet goes. */
export interface SapDestination {
  readonly group: string;
  readonly port: number;
  /** IPv4 TTL (0-255); IPv6 packets always go with hop limit 1 (see announcement.ts). */
  readonly ttl: number;
}

/** What the announcer sends through; tests may give their own. */
export interface SapTransport {
  send(packet: Uint8Array, to: SapDestination): Promise<void>;
  close(): Promise<void>;
}

/** Options of {@link SapSocketSender}. */
export interface SapSenderOptions {
  /** IPv4 address of the interface to send from (binds the socket to it); default any. */
  readonly interfaceV4?: string;
  /**
   * Receive our own announcements on this host (IP_MULTICAST_LOOP); default true, so that VLC or
   * the client on the server's own machine hear them.
   */
  readonly loopback?: boolean;
}

/** A socket pair sending SAP packets; opened lazily per IP version, closed by close(). */
export class SapSocketSender implements SapTransport {
  readonly #options: SapSenderOptions;
  #v4: Promise<{ conn: Deno.DatagramConn; membership: Deno.MulticastV4Membership }> | undefined;
  #v4Ttl: number | undefined;
  #v6: Deno.DatagramConn | undefined;
  #closed = false;

  constructor(options: SapSenderOptions = {}) {
    this.#options = options;
  }

  #openV4(): Promise<{ conn: Deno.DatagramConn; membership: Deno.MulticastV4Membership }> {
    this.#v4 ??= (async () => {
      const hostname = this.#options.interfaceV4 ?? "0.0.0.0";
      let conn: Deno.DatagramConn;
      try {
        conn = Deno.listenDatagram({
          transport: "udp",
          hostname,
          port: 0,
          loopback: this.#options.loopback ?? true,
        });
      } catch (error) {
        throw new MulticastError(
          `Cannot open a SAP socket on ${hostname}: ${(error as Error).message}`,
          { cause: error },
        );
      }
      try {
        // Deno sets the multicast TTL only through a membership. The socket's port is ephemeral,
        // so the membership delivers it nothing: SAP packets go to port 9875.
        const membership = await conn.joinMulticastV4(SAP_GROUPS_V4.GLOBAL, hostname);
        return { conn, membership };
      } catch (error) {
        conn.close();
        throw new MulticastError(
          `Cannot send SAP announcements from ${hostname}: ${(error as Error).message}`,
          { cause: error },
        );
      }
    })();
    return this.#v4;
  }

  #openV6(): Deno.DatagramConn {
    if (this.#v6 === undefined) {
      try {
        this.#v6 = Deno.listenDatagram({
          transport: "udp",
          hostname: "::",
          port: 0,
          loopback: this.#options.loopback ?? true,
        });
      } catch (error) {
        throw new MulticastError(`Cannot open an IPv6 SAP socket: ${(error as Error).message}`, {
          cause: error,
        });
      }
    }
    return this.#v6;
  }

  /** Sends one packet to `to.group`:`to.port` with TTL `to.ttl`. Throws MulticastError. */
  async send(packet: Uint8Array, to: SapDestination): Promise<void> {
    if (this.#closed) throw new MulticastError("The SAP sender is closed");
    if (!Number.isInteger(to.ttl) || to.ttl < 0 || to.ttl > 255) {
      throw new MulticastError(`SAP TTL ${to.ttl} is not 0-255`);
    }
    if (ipVersionOf(to.group) === 6) {
      try {
        await this.#openV6().send(packet, { transport: "udp", hostname: to.group, port: to.port });
      } catch (error) {
        if (error instanceof MulticastError) throw error;
        throw new MulticastError(
          `Cannot send SAP to [${to.group}]:${to.port}: ${(error as Error).message}`,
          { cause: error },
        );
      }
      return;
    }
    const { conn, membership } = await this.#openV4();
    if (this.#v4Ttl !== to.ttl) {
      await membership.setTTL(to.ttl);
      this.#v4Ttl = to.ttl;
    }
    try {
      await conn.send(packet, { transport: "udp", hostname: to.group, port: to.port });
    } catch (error) {
      throw new MulticastError(
        `Cannot send SAP to ${to.group}:${to.port}: ${(error as Error).message}`,
        { cause: error },
      );
    }
  }

  /** Closes the sockets; idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const v4 = await this.#v4?.catch(() => undefined);
    if (v4 !== undefined) {
      await v4.membership.leave().catch(() => {});
      v4.conn.close();
    }
    this.#v6?.close();
  }
}
