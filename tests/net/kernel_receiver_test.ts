// Tests of lib/net/kernel_receiver.ts (and kernel_socket.ts under it) over real multicast inside the
// test network namespace: the same figures as the Deno path on one impaired stream (RFC 3550 A.1,
// A.3, A.8), source-specific joins (RFC 4607), kernel drop counts, IPv6 over the veth pair, re-join.
import assert from "node:assert/strict";
import { KernelReceiver } from "../../lib/net/kernel_receiver.ts";
import { MulticastReceiver } from "../../lib/net/multicast_receiver.ts";
import { SourceFilter } from "../../lib/net/source_filter.ts";
import type { SourceSnapshot } from "../../lib/rtp/source_stats.ts";
import { sendRtpStream } from "../../lib/source/rtp_source.ts";
import { Collector, kernelTest } from "./receiver_collector.ts";
import { randomGroup4, randomGroup6, randomRtpPort } from "../../scripts/support/endpoints.ts";
import { readUdpCounters } from "../../scripts/support/proc_counters.ts";
import { delay } from "../../lib/common/delay.ts";

/** The counters both paths must agree on exactly (everything but timing). */
function counts(source: SourceSnapshot | undefined) {
  assert.ok(source !== undefined, "a source was seen");
  const { ssrc, packets, bytes, expected, lost, duplicates, reordered, discarded, restarts } =
    source;
  return { ssrc, packets, bytes, expected, lost, duplicates, reordered, discarded, restarts };
}

/**
 * Jitter tolerance between the paths: kernel arrival times lack the user-space scheduling delay
 * the Deno path adds, so the kernel figure may be lower; both see the same send bursts. Equal
 * within 0.5 ms or 50 % of the Deno figure, whichever is larger, and never above the Deno figure
 * by more than 0.1 ms.
 */
function assertJitterClose(kernelMs: number, denoMs: number): void {
  const tolerance = Math.max(0.5, denoMs * 0.5);
  assert.ok(
    Math.abs(kernelMs - denoMs) <= tolerance && kernelMs <= denoMs + 0.1,
    `jitter kernel ${kernelMs} ms vs Deno ${denoMs} ms (tolerance ${tolerance} ms)`,
  );
}

kernelTest({
  name: "kernel and Deno receivers give equal figures on the same impaired stream",
  async fn() {
    const group = randomGroup4();
    const port = randomRtpPort();
    await using kernel = new Collector(await KernelReceiver.open({ group, port }));
    await using deno = new Collector(await MulticastReceiver.open({ group, port }));
    const truth = await sendRtpStream({
      group,
      port,
      packets: 1500,
      bitrate: 16_000_000,
      loss: 0.03,
      duplicate: 0.03,
      reorder: 0.03,
      seed: 20261201,
    });
    assert.ok(await kernel.waitFor(truth.sent), `kernel got ${kernel.received.length}`);
    assert.ok(await deno.waitFor(truth.sent), `deno got ${deno.received.length}`);
    const now = performance.now();
    const k = kernel.stats.snapshot(now).sources[0];
    const d = deno.stats.snapshot(now).sources[0];
    assert.deepEqual(counts(k), counts(d));
    assert.deepEqual(
      [k!.ssrc, k!.lost, k!.duplicates, k!.reordered, k!.packets],
      [truth.ssrc, truth.lost, truth.duplicated, truth.reordered, truth.sent],
      "and both agree with the source's truth",
    );
    assertJitterClose(k!.jitterMs, d!.jitterMs);
    assert.ok(kernel.largestBatch > 1, "the kernel path received in batches");
    assert.equal(kernel.receiver.socketDrops, 0);
    assert.equal(deno.receiver.socketDrops, undefined);
  },
});

kernelTest({
  name: "kernel arrival times come before the Deno path sees the same datagram, on its time base",
  async fn() {
    const group = randomGroup4();
    const port = randomRtpPort();
    await using kernel = new Collector(await KernelReceiver.open({ group, port }));
    await using deno = new Collector(await MulticastReceiver.open({ group, port }));
    const before = performance.now();
    const truth = await sendRtpStream({ group, port, packets: 300, bitrate: 8_000_000 });
    assert.ok(await kernel.waitFor(truth.sent) && await deno.waitFor(truth.sent));
    const after = performance.now();
    const seq = (r: { bytes: Uint8Array }) => (r.bytes[2]! << 8) | r.bytes[3]!;
    const denoBySeq = new Map(deno.received.map((r) => [seq(r), r.arrivalMs]));
    for (const r of kernel.received) {
      assert.ok(r.arrivalMs >= before && r.arrivalMs <= after, `${r.arrivalMs} in the run`);
      // 0.05 ms: the clock calibration's bracket (kernel_receiver.ts).
      assert.ok(r.arrivalMs <= denoBySeq.get(seq(r))! + 0.05, "the kernel stamped it first");
      assert.equal(r.source, "127.0.0.1");
    }
  },
});

kernelTest({
  name: "a source-specific kernel join never delivers another sender's packets (IPv4)",
  async fn() {
    const group = randomGroup4();
    const port = randomRtpPort();
    const wanted = "127.0.0.2";
    await using kernel = new Collector(
      await KernelReceiver.open({ group, port, sources: [wanted] }),
    );
    await using deno = new Collector(await MulticastReceiver.open({ group, port }));
    assert.equal(kernel.receiver.filtersSources, true);
    assert.equal(deno.receiver.filtersSources, false);
    // The other sender first, then the named one: anything of the first would arrive before.
    const other = await sendRtpStream({ group, port, packets: 200, bitrate: 8_000_000 });
    const named = await sendRtpStream({
      group,
      port,
      packets: 200,
      bitrate: 8_000_000,
      interfaceAddress: wanted,
    });
    assert.ok(await deno.waitFor(other.sent + named.sent), "the host got both senders");
    assert.ok(await kernel.waitFor(named.sent));
    const now = performance.now();
    assert.deepEqual(
      deno.stats.snapshot(now).sources.map((s) => [s.ssrc, s.packets]).sort(),
      [[other.ssrc, other.sent], [named.ssrc, named.sent]].sort(),
    );
    assert.deepEqual(kernel.stats.snapshot(now).sources.map((s) => [s.ssrc, s.packets]), [
      [named.ssrc, named.sent],
    ]);
    assert.deepEqual(new Set(kernel.received.map((r) => r.source)), new Set([wanted]));
    assert.equal(kernel.received.length, named.sent, "nothing more was delivered");
    // A user-space filter on the kernel path therefore drops nothing.
    const filter = new SourceFilter([wanted]);
    assert.equal(filter.size, 1);
  },
});

kernelTest({
  name: "socketDrops equals the growth of RcvbufErrors when the receiver is starved",
  async fn() {
    const group = randomGroup4();
    const port = randomRtpPort();
    const receiver = await KernelReceiver.open({ group, port, receiveBufferBytes: 2048 });
    const before = readUdpCounters().rcvbufErrors;
    // A burst while nobody reads: the tiny queue holds a few datagrams, the rest are dropped.
    const truth = await sendRtpStream({ group, port, packets: 300, bitrate: 100_000_000 });
    const grown = readUdpCounters().rcvbufErrors - before;
    assert.ok(grown > 200, `RcvbufErrors grew by ${grown}`);
    assert.equal(receiver.socketDrops, grown);
    await using collector = new Collector(receiver);
    assert.ok(await collector.waitFor(truth.sent - grown), `got ${collector.received.length}`);
    assert.equal(collector.received.length + grown, truth.sent);
    assert.equal(receiver.socketDrops, grown, "reading does not change the count");
    // Datagrams queued after the drops carry SO_RXQ_OVFL: the count stays consistent.
    const more = await sendRtpStream({ group, port, packets: 3, bitrate: 1_000_000 });
    assert.ok(await collector.waitFor(truth.sent - grown + more.sent));
    assert.equal(receiver.socketDrops, readUdpCounters().rcvbufErrors - before);
  },
});

/** The veth end (gw0) of the test namespace that IPv6 multicast is sent from. */
const sender = "fd00:6a7::1";

/** Sends 200 packets to `group`:`port` from {@link sender}, hop limit 1, across the veth pair. */
function sendOverVeth(group: string, port: number) {
  return sendRtpStream({
    group,
    port,
    ttl: 1,
    interfaceAddress: sender,
    packets: 200,
    bitrate: 8_000_000,
  });
}

kernelTest({
  name: "kernel receiver joins an IPv6 group on gw1, any-source and source-specific",
  async fn(t) {
    await t.step("any-source on the interface named by name", async () => {
      const group = randomGroup6("ff15");
      const port = randomRtpPort();
      await using kernel = new Collector(
        await KernelReceiver.open({ group, port, interface: "gw1" }),
      );
      const truth = await sendOverVeth(group, port);
      assert.ok(await kernel.waitFor(truth.sent));
      assert.equal(kernel.receiver.ipVersion, 6);
      assert.deepEqual(new Set(kernel.received.map((r) => r.source)), new Set([sender]));
      const source = kernel.stats.snapshot(performance.now()).sources[0];
      assert.deepEqual([source?.ssrc, source?.packets, source?.lost], [truth.ssrc, 200, 0]);
    });
    await t.step("source-specific: only the named sender is delivered", async () => {
      const group = randomGroup6("ff15");
      const port = randomRtpPort();
      await using nobody = new Collector(
        await KernelReceiver.open({ group, port, interface: "gw1", sources: ["fd00:6a7::99"] }),
      );
      await using named = new Collector(
        await KernelReceiver.open({ group, port, interface: "gw1", sources: [sender] }),
      );
      await using deno = new Collector(
        await MulticastReceiver.open({ group, port, interface: "gw1" }),
      );
      const truth = await sendOverVeth(group, port);
      assert.ok(await deno.waitFor(truth.sent) && await named.waitFor(truth.sent));
      assert.equal(named.received.length, truth.sent);
      assert.equal(nobody.received.length, 0, "MCAST_JOIN_SOURCE_GROUP filtered the sender");
    });
  },
});

kernelTest({
  name: "rejoin() on the same socket keeps the datagrams already queued (both paths)",
  async fn(t) {
    for (const open of [KernelReceiver.open, MulticastReceiver.open]) {
      await t.step(open === KernelReceiver.open ? "kernel" : "deno", async () => {
        const group = randomGroup4();
        const port = randomRtpPort();
        const receiver = await open({ group, port });
        const first = await sendRtpStream({ group, port, packets: 40, bitrate: 8_000_000 });
        await receiver.rejoin();
        await receiver.rejoin();
        const second = await sendRtpStream({
          group,
          port,
          packets: 40,
          bitrate: 8_000_000,
          ssrc: first.ssrc,
          startSeq: (first.lastSeq! + 1) & 0xffff,
          startTimestamp: first.startTimestamp,
        });
        await using collector = new Collector(receiver);
        assert.ok(await collector.waitFor(first.sent + second.sent));
        const source = collector.stats.snapshot(performance.now()).sources[0];
        assert.deepEqual([source?.packets, source?.lost, source?.reordered], [80, 0, 0]);
      });
    }
  },
});

kernelTest({
  name: "two kernel receivers on one port and two groups never mix",
  async fn() {
    const port = randomRtpPort();
    const groups = [randomGroup4(), randomGroup4()];
    await using a = new Collector(await KernelReceiver.open({ group: groups[0]!, port }));
    await using b = new Collector(await KernelReceiver.open({ group: groups[1]!, port }));
    const [ta, tb] = await Promise.all(
      groups.map((group, i) =>
        sendRtpStream({ group, port, packets: 50 + i * 10, bitrate: 4_000_000 })
      ),
    );
    assert.ok(await a.waitFor(ta!.sent) && await b.waitFor(tb!.sent));
    await delay(50); // let any stray datagram arrive
    const ssrcs = (c: Collector) => c.stats.snapshot(0).sources.map((s) => [s.ssrc, s.packets]);
    assert.deepEqual(ssrcs(a), [[ta!.ssrc, 50]]);
    assert.deepEqual(ssrcs(b), [[tb!.ssrc, 60]]);
  },
});
