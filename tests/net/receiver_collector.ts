// Test helper for tests/net/: drains a DatagramReceiver in the background, copying each datagram
// with its arrival time, sender and truncation, and feeding an RFC 3550 ReceiverStats; and where
// the kernel receive path (recvmmsg through FFI) can be tested.
import type { DatagramReceiver } from "../../lib/net/datagram_receiver.ts";
import { ReceiverStats } from "../../lib/rtp/session_stats.ts";
import { inPrivateNetns } from "../../scripts/support/netns.ts";
import { pollUntil } from "../../scripts/support/poll.ts";

/** The kernel receive path (lib/net/kernel_socket.ts) exists on this platform: Linux, x86-64 or arm64. */
export const kernelPath = Deno.build.os === "linux" &&
  (Deno.build.arch === "x86_64" || Deno.build.arch === "aarch64");

/**
 * Registers a test of the kernel receive path over real multicast: ignored outside the private
 * network namespace of scripts/netns_test.sh and where {@link kernelPath} does not exist.
 */
export function kernelTest(test: { name: string; fn(t: Deno.TestContext): Promise<void> }): void {
  Deno.test({ name: test.name, ignore: !inPrivateNetns() || !kernelPath, fn: test.fn });
}

/** One received datagram, copied out of the receiver's buffers. */
export interface Received {
  readonly bytes: Uint8Array;
  readonly arrivalMs: number;
  readonly source: string;
  readonly port: number;
  readonly truncated: boolean;
}

/** Receives in the background until stopped; `stop()` closes the receiver and ends the loop. */
export class Collector implements AsyncDisposable {
  readonly received: Received[] = [];
  readonly stats: ReceiverStats;
  readonly receiver: DatagramReceiver;
  /** Largest batch seen. */
  largestBatch = 0;
  readonly #loop: Promise<void>;
  #error: unknown;

  constructor(receiver: DatagramReceiver, options: { copy?: boolean } = {}) {
    this.receiver = receiver;
    this.stats = new ReceiverStats({ ipVersion: receiver.ipVersion });
    this.#loop = this.#run(receiver, options.copy ?? true);
  }

  async #run(receiver: DatagramReceiver, copy: boolean): Promise<void> {
    {
      try {
        while (true) {
          const batch = await receiver.receiveBatch();
          if (batch === null) return;
          this.largestBatch = Math.max(this.largestBatch, batch.count);
          for (let i = 0; i < batch.count; i++) {
            const datagram = batch.datagram(i);
            this.stats.onDatagram(datagram, batch.arrivalMs[i]!);
            this.received.push({
              bytes: copy ? datagram.slice() : new Uint8Array(0),
              arrivalMs: batch.arrivalMs[i]!,
              source: batch.sourceAddress(i),
              port: batch.ports[i]!,
              truncated: batch.truncated[i] === 1,
            });
          }
        }
      } catch (error) {
        this.#error = error;
      }
    }
  }

  /** Waits until `count` datagrams arrived (or `timeoutMs`); returns whether they did. */
  waitFor(count: number, timeoutMs = 10_000): Promise<boolean> {
    return pollUntil(() => this.received.length >= count || this.#error !== undefined, timeoutMs);
  }

  /** Closes the receiver, waits for the loop, rethrows what the loop failed with. */
  async stop(): Promise<void> {
    await this.receiver.close();
    await this.#loop;
    if (this.#error !== undefined) throw this.#error;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
