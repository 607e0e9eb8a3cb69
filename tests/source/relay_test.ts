// Tests of lib/source/relay.ts over real UDP multicast inside the test network namespace
// (scripts/netns_test.sh): every datagram forwarded unchanged or impaired exactly as seeded, the
// truth counters against what a receiver counts, abort, and GROUP:PORT parsing.

import assert from "node:assert/strict";
import { parseEndpoint, relayRtpStream } from "../../lib/source/relay.ts";
import { sendRtpStream } from "../../lib/source/rtp_source.ts";
import { randomGroup4, randomRtpPort } from "../../scripts/support/endpoints.ts";
import { inPrivateNetns } from "../../scripts/support/netns.ts";
import { assertCountsMatch, expectedOrder } from "../support/impairment_truth.ts";
import { Collector, readRtp } from "../support/multicast_collector.ts";

Deno.test({
  name: "relayRtpStream() forwards every datagram unchanged, or impaired exactly as seeded",
  ignore: !inPrivateNetns(),
  fn: async (t) => {
    const cases = [
      { name: "unimpaired", impairment: { seed: 1 } },
      {
        name: "loss, duplicates and reordering",
        impairment: { loss: 0.1, duplicate: 0.1, reorder: 0.2, seed: 77 },
      },
    ];
    for (const { name, impairment } of cases) {
      await t.step(name, async () => {
        const from = { group: randomGroup4(), port: randomRtpPort() };
        const to = { group: randomGroup4(), port: randomRtpPort() };
        const packets = 200;
        await using atSource = await Collector.open(from.group, from.port);
        await using atOutput = await Collector.open(to.group, to.port);
        const { promise: ready, resolve } = Promise.withResolvers<void>();
        const relaying = relayRtpStream({
          from,
          to,
          send: { ttl: 0 },
          packets,
          durationS: 20,
          ...impairment,
          onReady: resolve,
        });
        await ready;
        const sourceTruth = await sendRtpStream({
          ...from,
          bitrate: 5_000_000,
          packets,
          startSeq: 0,
        });
        const truth = await relaying;
        assert.equal(sourceTruth.sent, packets);
        assert.equal(truth.generated, packets);
        assert.deepEqual(truth.from, from);
        assert.deepEqual(truth.to, to);
        assert.ok(await atSource.waitFor(packets));
        assert.ok(await atOutput.waitFor(truth.sent), `got ${atOutput.datagrams.length}`);
        const order = expectedOrder(impairment, packets);
        assert.equal(atOutput.datagrams.length, order.length);
        atOutput.datagrams.forEach((datagram, i) => {
          assert.deepEqual(datagram, atSource.datagrams[order[i]!], `datagram ${i}`);
        });
        assertCountsMatch(atOutput.datagrams.map((d) => readRtp(d).seq), truth);
      });
    }
  },
});

Deno.test({
  name: "relayRtpStream() stops on abort, and rejects relaying a group to itself",
  ignore: !inPrivateNetns(),
  fn: async () => {
    const from = { group: randomGroup4(), port: randomRtpPort() };
    const to = { group: randomGroup4(), port: randomRtpPort() };
    await using collector = await Collector.open(to.group, to.port);
    const controller = new AbortController();
    const { promise: ready, resolve } = Promise.withResolvers<void>();
    const relaying = relayRtpStream({ from, to, signal: controller.signal, onReady: resolve });
    await ready;
    await sendRtpStream({ ...from, packets: 5, bitrate: 5_000_000 });
    assert.ok(await collector.waitFor(5));
    controller.abort();
    const truth = await relaying;
    assert.equal(truth.generated, 5);
    assert.equal(truth.sent, 5);
    await assert.rejects(relayRtpStream({ from, to: from }), /is the group relayed from/);
  },
});

Deno.test("parseEndpoint() accepts GROUP:PORT and [IPV6-GROUP]:PORT and rejects the rest", () => {
  assert.deepEqual(parseEndpoint("239.0.0.1:5004", "--from"), { group: "239.0.0.1", port: 5004 });
  assert.deepEqual(parseEndpoint("[ff15::1]:5004", "--to"), { group: "ff15::1", port: 5004 });
  for (
    const [text, pattern] of [
      ["239.0.0.1", /GROUP:PORT/],
      ["ff15::1:5004", /GROUP:PORT/],
      ["10.0.0.1:5004", /not a multicast/],
      ["239.0.0.1:0", /1-65535/],
      ["239.0.0.1:70000", /1-65535/],
    ] as const
  ) {
    assert.throws(() => parseEndpoint(text, "--from"), pattern);
  }
});
