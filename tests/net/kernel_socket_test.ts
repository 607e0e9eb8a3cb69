// Safety tests of lib/net/kernel_socket.ts (FFI to libc) through the kernel receiver: close while a
// recvmmsg() is in flight, garbage datagrams of every size (RFC 768 allows 0 to 65 507 bytes over
// IPv4) with and without truncation, option checks, and no FFI permission.
import assert from "node:assert/strict";
import { KernelReceiver } from "../../lib/net/kernel_receiver.ts";
import { KernelSocket, kernelSocketProblem } from "../../lib/net/kernel_socket.ts";
import { MulticastReceiver } from "../../lib/net/multicast_receiver.ts";
import { mulberry32 } from "../../lib/common/prng.ts";
import { Collector, kernelPath, kernelTest } from "./receiver_collector.ts";
import { randomGroup4, randomRtpPort } from "../../scripts/support/endpoints.ts";
import { pollUntil } from "../../scripts/support/poll.ts";

/** A host-only sender (TTL 0, loopback on) of arbitrary datagrams to a group. */
async function garbageSender(group: string) {
  const conn = Deno.listenDatagram({
    transport: "udp",
    hostname: "127.0.0.1",
    port: 0,
    loopback: true,
  });
  const membership = await conn.joinMulticastV4(group, "127.0.0.1");
  await membership.setTTL(0);
  return conn;
}

kernelTest({
  name: "close() during a pending receive resolves it at once, long before the idle wake-up",
  async fn(t) {
    await t.step("one receiver", async () => {
      const receiver = await KernelReceiver.open({
        group: randomGroup4(),
        port: randomRtpPort(),
        wakeMs: 10_000,
      });
      const pending = receiver.receiveBatch();
      await assert.rejects(receiver.receiveBatch(), /already pending/);
      const start = performance.now();
      await receiver.close();
      assert.equal(await pending, null);
      const took = performance.now() - start;
      assert.ok(took < 2_000, `close took ${took} ms (idle wake-up 10 000 ms)`);
      assert.equal(await receiver.receiveBatch(), null, "closed: null at once");
      await receiver.rejoin(); // a no-op once closed
      await receiver.close(); // idempotent
      assert.equal(typeof receiver.socketDrops, "number");
    });
    await t.step("eight receivers closed together, each with a call in flight", async () => {
      const port = randomRtpPort();
      const receivers = await Promise.all(
        Array.from(
          { length: 8 },
          () => KernelReceiver.open({ group: randomGroup4(), port, wakeMs: 10_000 }),
        ),
      );
      const pending = receivers.map((r) => r.receiveBatch());
      await Promise.all(receivers.map((r) => r.close()));
      assert.deepEqual(await Promise.all(pending), new Array(8).fill(null));
    });
    await t.step("close() racing the arrival of datagrams", async () => {
      const group = randomGroup4();
      const port = randomRtpPort();
      const sender = await garbageSender(group);
      try {
        for (let round = 0; round < 20; round++) {
          const receiver = await KernelReceiver.open({ group, port, windowMs: 1 });
          const collector = new Collector(receiver);
          for (let i = 0; i < 5; i++) {
            await sender.send(new Uint8Array(100), { transport: "udp", hostname: group, port });
          }
          await collector.stop();
        }
      } finally {
        sender.close();
      }
    });
  },
});

kernelTest({
  name: "garbage of every size goes through the kernel path intact, or cut and flagged",
  async fn() {
    const group = randomGroup4();
    const port = randomRtpPort();
    const random = mulberry32(0x5eed);
    const lengths = [0, 1, 11, 12, 13, 65_507, 1024, 1025];
    for (let i = 0; i < 120; i++) lengths.push(Math.floor(random() * 65_508));
    // windowMs 0: recvmmsg(MSG_WAITFORONE) returns at once with what is queued.
    const whole = new Collector(
      await KernelReceiver.open({ group, port, batch: 16, windowMs: 0 }),
    );
    const cut = new Collector(
      await KernelReceiver.open({ group, port, batch: 4, datagramBytes: 1024, windowMs: 0 }),
    );
    const deno = new Collector(await MulticastReceiver.open({ group, port }));
    const sender = await garbageSender(group);
    const sent: Uint8Array[] = [];
    try {
      for (const length of lengths) {
        const datagram = new Uint8Array(length);
        for (let j = 0; j < length; j++) datagram[j] = random() * 256;
        // Some look like RTP (V=2) so header validation and sources get exercised too.
        if (length > 0 && random() < 0.5) datagram[0] = 0x80 | (datagram[0]! & 0x3f);
        sent.push(datagram);
        await sender.send(datagram, { transport: "udp", hostname: group, port });
        // In lockstep, so no socket buffer can overflow and every datagram must arrive.
        const n = sent.length;
        assert.ok(
          await pollUntil(
            () =>
              whole.received.length >= n && cut.received.length >= n && deno.received.length >= n,
            5_000,
          ),
          `datagram ${n} of ${length} bytes arrived everywhere`,
        );
      }
    } finally {
      sender.close();
      await Promise.all([whole.stop(), cut.stop(), deno.stop()]);
    }
    sent.forEach((datagram, i) => {
      assert.deepEqual(whole.received[i]!.bytes, datagram, `datagram ${i} (${datagram.length} B)`);
      assert.equal(whole.received[i]!.truncated, false);
      assert.deepEqual(deno.received[i]!.bytes, datagram);
      assert.deepEqual(cut.received[i]!.bytes, datagram.subarray(0, 1024));
      assert.equal(cut.received[i]!.truncated, datagram.length > 1024, `cut flag of ${i}`);
    });
    // The statistics fed from either path agree on everything but time.
    const strip = (c: Collector) => {
      const snapshot = c.stats.snapshot(0);
      return {
        ...snapshot,
        sources: snapshot.sources.map(({ ssrc, packets, bytes, valid, discarded }) => ({
          ssrc,
          packets,
          bytes,
          valid,
          discarded,
        })),
      };
    };
    assert.deepEqual(strip(whole), strip(deno));
    assert.equal(whole.receiver.socketDrops, 0);
  },
});

Deno.test({
  name: "KernelSocket.open() rejects options out of range before any system call",
  ignore: !kernelPath,
  async fn(t) {
    const base = {
      family: 4 as const,
      group: new Uint8Array([239, 1, 2, 3]),
      port: 5004,
      sources: [],
      receiveBufferBytes: 0,
      batch: 8,
      slotBytes: 2048,
      wakeMs: 100,
    };
    const cases: [string, Record<string, unknown>, RegExp][] = [
      ["family 5", { family: 5 }, /family must be 4 or 6/],
      ["a 3-byte group", { group: new Uint8Array(3) }, /4-byte address/],
      ["an IPv6-sized source for IPv4", { sources: [new Uint8Array(16)] }, /4-byte address/],
      ["port 0", { port: 0 }, /port must be an integer from 1/],
      ["port 65 536", { port: 65_536 }, /port/],
      ["batch 0", { batch: 0 }, /batch/],
      ["batch 1025", { batch: 1025 }, /batch/],
      ["fractional batch", { batch: 1.5 }, /batch/],
      ["slot 8", { slotBytes: 8 }, /slotBytes/],
      ["slot 70 000", { slotBytes: 70_000 }, /slotBytes/],
      ["slot not a multiple of 8", { slotBytes: 1001 }, /multiple of 8/],
      ["wake 0", { wakeMs: 0 }, /wakeMs/],
      ["negative buffer", { receiveBufferBytes: -1 }, /receiveBufferBytes/],
      ["arena too large", { batch: 1024, slotBytes: 65_536 }, /too large/],
    ];
    for (const [name, change, pattern] of cases) {
      await t.step(name, () => {
        assert.throws(() => KernelSocket.open({ ...base, ...change } as typeof base), pattern);
      });
    }
    await t.step("the receiver's pause between drains", async () => {
      for (const windowMs of [Number.NaN, -1, 1001]) {
        await assert.rejects(
          KernelReceiver.open({ group: "239.1.2.3", port: 5004, windowMs }),
          /windowMs must be 0 to 1000/,
        );
      }
    });
  },
});

Deno.test({
  name: "kernelSocketProblem() says why without FFI permission, and KernelReceiver refuses",
  ignore: !kernelPath,
  permissions: { ffi: false, net: true, read: true, sys: true },
  async fn() {
    assert.equal(kernelSocketProblem(), "no FFI permission (--allow-ffi)");
    await assert.rejects(
      KernelReceiver.open({ group: "239.1.2.3", port: 5004 }),
      /Kernel receiver unavailable/,
    );
  },
});

Deno.test({
  name: "kernelSocketProblem() finds nothing wrong on Linux x86-64/arm64 with FFI",
  ignore: !kernelPath,
  fn() {
    assert.equal(kernelSocketProblem(), undefined);
  },
});
