// The SAP listener (RFC 2974 §3-5): joins the SAP groups on port 9875, decodes what arrives, keeps
// the announced sessions in a SapDirectory and counts every packet it ignores.
import { MulticastError } from "../common/errors.ts";
import { ipVersionOf } from "../net/multicast_address.ts";
import { MulticastReceiver } from "../net/multicast_receiver.ts";
import {
  type DirectoryCounters,
  type DirectoryEvent,
  type DirectoryOptions,
  type DirectorySession,
  SapDirectory,
} from "./directory.ts";
import { decodeSapMessage } from "./message.ts";
import { MAX_SAP_PACKET_BYTES, SapParseError } from "./packet.ts";
import { DEFAULT_SAP_LISTEN_GROUPS, SAP_PORT } from "./scope.ts";

/** Options of {@link SapListener.open}. */
export interface ListenerOptions extends DirectoryOptions {
  /** SAP groups to join; default the three IPv4 and four IPv6 ones (scope.ts). */
  readonly groups?: readonly string[];
  /** UDP port; default 9875. */
  readonly port?: number;
  /** IPv4 address of the interface to join IPv4 groups on; default any. */
  readonly interfaceV4?: string;
  /** Interface (name, index or address) to join IPv6 groups on; default the kernel's choice. */
  readonly interfaceV6?: string;
  /** Called for every change: new, changed, deleted and expired sessions. */
  readonly onEvent?: (event: DirectoryEvent) => void;
  /** Clock in ms (default Date.now: last-heard times are wall-clock). */
  readonly now?: () => number;
  /** How often expired sessions are forgotten, ms; default 1 000. */
  readonly expireEveryMs?: number;
}

/** What the listener has heard. */
export interface ListenerSnapshot {
  readonly sessions: readonly DirectorySession[];
  readonly counters: DirectoryCounters & {
    /** Datagrams received on every group. */
    readonly datagrams: number;
  };
  /** Groups joined, and those that could not be. */
  readonly groups: readonly string[];
  readonly failedGroups: readonly { group: string; error: string }[];
  /** Set if a receive loop stopped on an unexpected error. */
  readonly failure?: string;
}

/** Listens to SAP announcements until closed. */
export class SapListener implements AsyncDisposable {
  readonly #directory: SapDirectory;
  readonly #receivers: MulticastReceiver[];
  readonly #failed: { group: string; error: string }[];
  readonly #now: () => number;
  readonly #onEvent: (event: DirectoryEvent) => void;
  readonly #timer: ReturnType<typeof setInterval>;
  readonly #loops: Promise<void>[];
  #datagrams = 0;
  #failure: string | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;

  private constructor(
    options: ListenerOptions,
    receivers: MulticastReceiver[],
    failed: { group: string; error: string }[],
  ) {
    this.#directory = new SapDirectory(options);
    this.#receivers = receivers;
    this.#failed = failed;
    this.#now = options.now ?? Date.now;
    this.#onEvent = options.onEvent ?? (() => {});
    this.#loops = receivers.map((r) =>
      this.#receive(r).catch((error) => {
        // A defect, not bad input (bad input is counted): keep it for snapshot().
        this.#failure ??= String((error as Error)?.message ?? error);
      })
    );
    this.#timer = setInterval(() => this.#expire(), options.expireEveryMs ?? 1_000);
  }

  /**
   * Joins the SAP groups (each socket bound to its group, so groups never mix) and starts listening.
   * A group that cannot be joined (no IPv6 here, say) is reported in `failedGroups`; throws
   * MulticastError when none can be.
   */
  static async open(options: ListenerOptions = {}): Promise<SapListener> {
    const groups = options.groups ?? DEFAULT_SAP_LISTEN_GROUPS;
    const receivers: MulticastReceiver[] = [];
    const failed: { group: string; error: string }[] = [];
    for (const group of groups) {
      const iface = ipVersionOf(group) === 6 ? options.interfaceV6 : options.interfaceV4;
      try {
        receivers.push(
          await MulticastReceiver.open({
            group,
            port: options.port ?? SAP_PORT,
            receiveBufferBytes: 0,
            ...(iface === undefined ? {} : { interface: iface }),
          }),
        );
      } catch (error) {
        failed.push({ group, error: (error as Error).message });
      }
    }
    if (receivers.length === 0) {
      throw new MulticastError(
        `Cannot listen for SAP announcements: ${failed.map((f) => f.error).join("; ")}`,
      );
    }
    return new SapListener(options, receivers, failed);
  }

  #emit(event: DirectoryEvent | undefined): void {
    if (event === undefined) return;
    try {
      this.#onEvent(event);
    } catch {
      // A failing observer must not stop the listener.
    }
  }

  #expire(): void {
    for (const event of this.#directory.expire(this.#now())) this.#emit(event);
  }

  async #receive(receiver: MulticastReceiver): Promise<void> {
    // One byte more than accepted, so an oversized datagram is seen as such, not truncated to fit.
    const buffer = new Uint8Array(Math.max(MAX_SAP_PACKET_BYTES + 1, 65_536));
    while (!this.#closed) {
      let datagram: Uint8Array;
      let from: Deno.Addr;
      try {
        [datagram, from] = await receiver.receive(buffer);
      } catch {
        // Closed (or the socket failed for good): this group's loop ends.
        return;
      }
      this.#datagrams++;
      try {
        const message = await decodeSapMessage(datagram);
        const sender = (from as Deno.NetAddr).hostname ?? "";
        this.#emit(
          this.#directory.receive(message, { sender, group: receiver.group, nowMs: this.#now() }),
        );
      } catch (error) {
        if (!(error instanceof SapParseError)) throw error;
        this.#directory.ignore(error.problem);
      }
    }
  }

  /** The sessions heard (expired ones forgotten first) and the counters. */
  snapshot(): ListenerSnapshot {
    this.#expire();
    const { sessions, counters } = this.#directory.snapshot();
    return {
      sessions,
      counters: { ...counters, datagrams: this.#datagrams },
      groups: this.#receivers.map((r) => r.group),
      failedGroups: [...this.#failed],
      ...(this.#failure === undefined ? {} : { failure: this.#failure }),
    };
  }

  /** Leaves the groups and closes the sockets; idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed = true;
      clearInterval(this.#timer);
      await Promise.all(this.#receivers.map((r) => r.close()));
      await Promise.all(this.#loops);
    })();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
