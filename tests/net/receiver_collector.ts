// Test helper for tests/net/: drains a DatagramReceiver in the background, copying each datagram
// with its arrival time, sender and truncation, and feeding an RFC 3550 ReceiverStats.
import type { DatagramReceiver } from "../../lib/net/datagram_receiver.ts";
import { ReceiverStats } from "../../lib/rtp/session_stats.ts";

/** One received datagram, copied out of the receiver's buffers. */
export interface Received {
  readonly bytes: Uint8Array;
  readonly arrivalMs: number;
  readonly source: string;
  readonly port: number;
  readonly truncated: boolean;
}

export function randomInt(min: number, max: number): number {
  return min + Math.floor(Math.random() * (max - min + 1));
}

export function randomPort(): number {
  return randomInt(20_000, 60_000);
}

export function randomGroup4(): string {
  return `239.${randomInt(1, 254)}.${randomInt(1, 254)}.${randomInt(1, 254)}`;
}

export function randomGroup6(prefix = "ff15"): string {
  return `${prefix}::${randomInt(1, 0xfffe).toString(16)}:${randomInt(1, 0xfffe).toString(16)}`;
}

/** Udp RcvbufErrors of this network namespace (/proc/net/snmp). */
export function udpRcvbufErrors(): number {
  const lines = Deno.readTextFileSync("/proc/net/snmp").split("\n").filter((l) =>
    l.startsWith("Udp:")
  );
  const names = lines[0]!.split(/\s+/);
  const values = lines[1]!.split(/\s+/);
  return Number(values[names.indexOf("RcvbufErrors")]);
}

/** Polls `condition` every 5 ms until it holds or `timeoutMs` passes; returns whether it held. */
export async function waitUntil(condition: () => boolean, timeoutMs = 5_000): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return true;
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
    return waitUntil(() => this.received.length >= count || this.#error !== undefined, timeoutMs);
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
