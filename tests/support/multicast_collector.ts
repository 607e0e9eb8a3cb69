// Receives multicast datagrams with a plain Deno socket for tests of senders (the test source, the
// relay, the impaired-send pipeline): every datagram is copied as it arrives, and the fixed RTP
// header (RFC 3550 §5.1) can be read without the library's parser.
import assert from "node:assert/strict";
import { delay } from "../../lib/common/delay.ts";

/** Most datagrams a collector keeps: a few seconds of any sender here is far below this. */
const MAX_DATAGRAMS = 100_000;

/** A plain Deno socket bound to the group (reuseAddress) that copies every datagram it gets. */
export class Collector implements AsyncDisposable {
  /** Copies of the datagrams, in arrival order. */
  readonly datagrams: Uint8Array[] = [];
  /** performance.now() at the arrival of each datagram. */
  readonly arrivalMs: number[] = [];
  readonly #conn: Deno.DatagramConn;
  #closed = false;
  #loop: Promise<void> = Promise.resolve();

  private constructor(conn: Deno.DatagramConn) {
    this.#conn = conn;
  }

  /** Binds to `group`:`port` (or the wildcard with `bindAny`) and joins the group. */
  static async open(
    group: string,
    port: number,
    join: { v4Interface?: string; v6Indexes?: number[]; bindAny?: boolean } = {},
  ): Promise<Collector> {
    const v6 = group.includes(":");
    const conn = Deno.listenDatagram({
      transport: "udp",
      hostname: join.bindAny ? (v6 ? "::" : "0.0.0.0") : group,
      port,
      reuseAddress: true,
    });
    if (v6) {
      for (const index of join.v6Indexes ?? [0]) await conn.joinMulticastV6(group, index);
    } else {
      await conn.joinMulticastV4(group, join.v4Interface ?? "0.0.0.0");
    }
    const collector = new Collector(conn);
    collector.#loop = collector.#receive();
    return collector;
  }

  async #receive(): Promise<void> {
    const buffer = new Uint8Array(65_536);
    try {
      while (this.datagrams.length < MAX_DATAGRAMS) {
        const [data] = await this.#conn.receive(buffer);
        this.datagrams.push(data.slice());
        this.arrivalMs.push(performance.now());
      }
    } catch (error) {
      if (!this.#closed) throw error;
    }
  }

  /** Milliseconds between the first and the last arrival. */
  spanMs(): number {
    const first = this.arrivalMs[0];
    const last = this.arrivalMs.at(-1);
    return first === undefined || last === undefined ? 0 : last - first;
  }

  /** Polls until `count` datagrams arrived or `timeoutMs` passed; returns whether they did. */
  async waitFor(count: number, timeoutMs = 5_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.datagrams.length < count && Date.now() < deadline) await delay(5);
    return this.datagrams.length >= count;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#conn.close();
    await this.#loop;
  }
}

/** The fixed header fields a test reads back. */
export interface Rtp {
  payloadType: number;
  marker: boolean;
  seq: number;
  timestamp: number;
  ssrc: number;
}

/** Reads the fixed RTP header (RFC 3550 §5.1) of a datagram the source sent: V=2, no P/X/CC. */
export function readRtp(datagram: Uint8Array): Rtp {
  const view = new DataView(datagram.buffer, datagram.byteOffset, datagram.byteLength);
  assert.equal(view.getUint8(0), 0x80, "V=2, P=0, X=0, CC=0");
  return {
    marker: (view.getUint8(1) & 0x80) !== 0,
    payloadType: view.getUint8(1) & 0x7f,
    seq: view.getUint16(2),
    timestamp: view.getUint32(4),
    ssrc: view.getUint32(8),
  };
}
