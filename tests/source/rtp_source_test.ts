// Tests of lib/source/rtp_source.ts over real UDP multicast inside the test network namespace
// (scripts/netns_test.sh): what a plain receiver gets (RFC 3550 header, RFC 2250 payload, 90 kHz
// timestamps), exact truth counters, limits and option checks.

import assert from "node:assert/strict";
import { ConfigError } from "../../lib/common/errors.ts";
import {
  MP2T_RTP,
  parseBitrate,
  type RtpSourceOptions,
  sendRtpStream,
} from "../../lib/source/rtp_source.ts";
import { randomGroup4, randomGroup6, randomRtpPort } from "../../scripts/support/endpoints.ts";
import { inPrivateNetns } from "../../scripts/support/netns.ts";
import { assertCountsMatch, expectedOrder } from "../support/impairment_truth.ts";
import { Collector, readRtp } from "../support/multicast_collector.ts";

Deno.test({
  name: "sendRtpStream() sends paced PT 33 datagrams with 90 kHz timestamps to an IPv4 group",
  ignore: !inPrivateNetns(),
  fn: async () => {
    const group = randomGroup4();
    const port = randomRtpPort();
    await using collector = await Collector.open(group, port);
    const bitrate = 5_000_000;
    const packets = 300;
    const truth = await sendRtpStream({
      group,
      port,
      ttl: 0,
      bitrate,
      packets,
      ssrc: 0x12345678,
      startSeq: 65_400,
      startTimestamp: 0xffff_f000,
    });
    assert.deepEqual(
      { ...truth, seed: 0, durationS: 0 },
      {
        generated: packets,
        sent: packets,
        dropped: 0,
        duplicated: 0,
        reordered: 0,
        lost: 0,
        firstSeq: 65_400,
        lastSeq: (65_400 + packets - 1) & 0xffff,
        ssrc: 0x12345678,
        startTimestamp: 0xffff_f000,
        seed: 0,
        group,
        port,
        bitrate,
        payloadType: 33,
        durationS: 0,
        transport: "rtp",
        ts: {
          packets: packets * 7,
          ccErrors: 0,
          transportErrors: 0,
          crcErrors: 0,
          patErrors: 0,
          pmtErrors: 0,
          pidErrors: 0,
          pcrRepetitionErrors: 0,
          pcrDiscontinuityErrors: 0,
          ptsErrors: 0,
        },
      },
    );
    // Paced: the last datagram is due at (packets - 1) × 10 528 / bitrate seconds.
    const lastDue = ((packets - 1) * MP2T_RTP.PAYLOAD_BYTES * 8) / bitrate;
    assert.ok(truth.durationS >= lastDue - 0.002, `${truth.durationS} s < ${lastDue} s`);
    assert.ok(truth.durationS < lastDue + 2, `took ${truth.durationS} s`);

    assert.ok(await collector.waitFor(packets), `got ${collector.datagrams.length}`);
    assert.equal(collector.datagrams.length, packets);
    const audioCc: number[] = [];
    collector.datagrams.forEach((datagram, n) => {
      assert.equal(datagram.length, 1328);
      const rtp = readRtp(datagram);
      assert.equal(rtp.payloadType, 33);
      assert.equal(rtp.marker, false);
      assert.equal(rtp.ssrc, 0x12345678);
      assert.equal(rtp.seq, (65_400 + n) & 0xffff, `sequence number of datagram ${n}`);
      const ticks = Math.floor((n * 1316 * 8 * 90_000) / bitrate);
      assert.equal(rtp.timestamp, (0xffff_f000 + ticks) >>> 0, `timestamp of datagram ${n}`);
      for (let j = 0; j < 7; j++) {
        const at = 12 + j * 188;
        assert.equal(datagram[at], 0x47, `sync byte of TS packet ${j} in datagram ${n}`);
        const pid = ((datagram[at + 1]! & 0x1f) << 8) | datagram[at + 2]!;
        if (pid === 0x100 && datagram[at + 3]! & 0x10) audioCc.push(datagram[at + 3]! & 0x0f);
      }
    });
    // The TS runs on across datagrams: audio continuity counters never skip.
    assert.ok(audioCc.length > 10);
    audioCc.forEach((cc, i) => i === 0 || assert.equal(cc, (audioCc[i - 1]! + 1) & 0x0f));
  },
});

Deno.test({
  name: "sendRtpStream() truth counters equal what a receiver counts on the wire",
  ignore: !inPrivateNetns(),
  fn: async () => {
    const group = randomGroup4();
    const port = randomRtpPort();
    // 5 Mbit/s: a burst after a stalled timer stays well inside the 212 992-byte socket buffer.
    await using collector = await Collector.open(group, port);
    const options = { loss: 0.1, duplicate: 0.1, reorder: 0.2, seed: 1234 };
    const startSeq = 65_500;
    const truth = await sendRtpStream({
      group,
      port,
      bitrate: 5_000_000,
      packets: 300,
      startSeq,
      ...options,
    });
    assert.equal(truth.seed, 1234);
    assert.equal(truth.generated, 300);
    assert.ok(truth.dropped > 0 && truth.duplicated > 0 && truth.reordered > 0);
    assert.ok(await collector.waitFor(truth.sent), `got ${collector.datagrams.length}`);
    const indices = collector.datagrams.map((d) => (readRtp(d).seq - startSeq) & 0xffff);
    assertCountsMatch(indices, truth);
    assert.deepEqual(indices, expectedOrder(options, 300), "the seeded decisions, in order");
  },
});

Deno.test({
  name: "sendRtpStream() reaches an IPv6 group across the veth pair",
  ignore: !inPrivateNetns(),
  fn: async (t) => {
    await t.step("site-scope group with TTL 1, joined on gw0 and gw1", async () => {
      const group = randomGroup6("ff15");
      const port = randomRtpPort();
      const indexes = Deno.networkInterfaces()
        .filter((i) => i.family === "IPv6" && i.address.startsWith("fe80") && i.name !== "lo")
        .map((i) => i.scopeid!);
      assert.ok(indexes.length >= 2, "gw0 and gw1 have link-local addresses");
      await using collector = await Collector.open(group, port, { v6Indexes: indexes });
      const truth = await sendRtpStream({
        group,
        port,
        ttl: 1,
        loopback: false,
        bitrate: 5_000_000,
        packets: 50,
        startSeq: 10,
      });
      assert.equal(truth.sent, 50);
      assert.ok(await collector.waitFor(50));
      assert.deepEqual(
        collector.datagrams.map((d) => [d.length, readRtp(d).payloadType, readRtp(d).seq]),
        Array.from({ length: 50 }, (_, n) => [1328, 33, 10 + n]),
      );
    });
    await t.step("interface-local group with TTL 0 stays on the host", async () => {
      const group = randomGroup6("ff01");
      const port = randomRtpPort();
      await using collector = await Collector.open(group, port, { bindAny: true });
      const truth = await sendRtpStream({ group, port, ttl: 0, packets: 20, bitrate: 5_000_000 });
      assert.equal(truth.sent, 20);
      assert.ok(await collector.waitFor(20));
      assert.equal(collector.datagrams.length, 20);
    });
  },
});

Deno.test({
  name: "sendRtpStream() stops on abort and still reports the truth",
  ignore: !inPrivateNetns(),
  fn: async () => {
    const group = randomGroup4();
    const port = randomRtpPort();
    await using collector = await Collector.open(group, port);
    const controller = new AbortController();
    const running = sendRtpStream({ group, port, bitrate: 5_000_000, signal: controller.signal });
    assert.ok(await collector.waitFor(20));
    controller.abort();
    const truth = await running;
    assert.ok(truth.generated >= 20);
    assert.ok(await collector.waitFor(truth.sent));
    assert.equal(collector.datagrams.length, truth.sent);
    assert.equal(truth.lastSeq, (truth.firstSeq! + truth.generated - 1) & 0xffff);
  },
});

Deno.test({
  name: "sendRtpStream() stops after --duration seconds of schedule",
  ignore: !inPrivateNetns(),
  fn: async () => {
    const truth = await sendRtpStream({
      group: randomGroup4(),
      port: randomRtpPort(),
      bitrate: 2_000_000,
      durationS: 0.2,
    });
    assert.equal(truth.generated, Math.ceil((0.2 * 2_000_000) / 10_528));
    assert.ok(truth.durationS >= 0.18 && truth.durationS < 2, `${truth.durationS} s`);
  },
});

Deno.test({
  name: "sendRtpStream() rejects bad options with a ConfigError naming the field",
  ignore: !inPrivateNetns(),
  fn: async (t) => {
    const base: RtpSourceOptions = { group: "239.1.2.3", port: 5004, packets: 0 };
    const cases: [string, Partial<RtpSourceOptions>, string, RegExp][] = [
      ["unicast group", { group: "10.0.0.1" }, "group", /not a multicast address/],
      ["not an address", { group: "example" }, "group", /not an IPv4 or IPv6/],
      ["port 0", { port: 0 }, "port", /1 to 65535/],
      ["TTL 256", { ttl: 256 }, "ttl", /0 to 255/],
      ["bitrate below the TS minimum", { bitrate: 100_000 }, "bitrate", /250000/],
      ["loss above 1", { loss: 1.5 }, "loss", /probability/],
      ["SSRC above 32 bits", { ssrc: 2 ** 32 }, "ssrc", /4294967295/],
      ["start sequence above 16 bits", { startSeq: 70_000 }, "startSeq", /65535/],
      ["IPv6 site group with TTL 0", { group: "ff15::1", ttl: 0 }, "ttl", /interface-local/],
      ["IPv6 group with TTL 2", { group: "ff15::1", ttl: 2 }, "ttl", /hop limit/],
      ["interface of the other family", { interfaceAddress: "::1" }, "interface", /IPv4/],
      ["negative duration", { durationS: -1 }, "duration", /seconds/],
    ];
    for (const [name, change, field, pattern] of cases) {
      await t.step(name, async () => {
        await assert.rejects(sendRtpStream({ ...base, ...change }), (error: unknown) => {
          assert.ok(error instanceof ConfigError, String(error));
          assert.equal(error.field, field);
          assert.match(error.message, pattern);
          return true;
        });
      });
    }
  },
});

Deno.test("parseBitrate() accepts the documented forms and rejects the rest", () => {
  for (const [text, value] of [["2000000", 2e6], ["2M", 2e6], ["500k", 5e5], ["1.5M", 1.5e6]]) {
    assert.equal(parseBitrate(text as string), value);
  }
  for (const text of ["fast", "2G", "-1", "", "1.0000005M", "2 M"]) {
    assert.throws(() => parseBitrate(text, "--bitrate"), /--bitrate: expected bit\/s/);
  }
});

Deno.test({
  name:
    "sendRtpStream() rawUdp sends the 7 TS packets without an RTP header, with TS faults' truth",
  ignore: !inPrivateNetns(),
  fn: async () => {
    const group = randomGroup4();
    const port = randomRtpPort();
    await using collector = await Collector.open(group, port);
    const truth = await sendRtpStream({
      group,
      port,
      ttl: 0,
      rawUdp: true,
      packets: 200,
      bitrate: 2_000_000,
      tsFaults: { ccSkips: { atMs: 50, count: 3, everyMs: 100 } },
    });
    assert.deepEqual([truth.transport, truth.firstSeq, truth.lastSeq], ["udp", null, null]);
    assert.deepEqual([truth.ts.ccErrors, truth.ts.packets], [3, 200 * 7]);
    assert.ok(await collector.waitFor(200), `got ${collector.datagrams.length}`);
    const skips = [];
    let last = -1;
    for (const datagram of collector.datagrams) {
      assert.equal(datagram.length, 1316);
      for (let j = 0; j < 7; j++) {
        const at = j * 188;
        assert.equal(datagram[at], 0x47, "a TS packet at every 188 bytes from the start");
        const pid = ((datagram[at + 1]! & 0x1f) << 8) | datagram[at + 2]!;
        if (pid !== 0x100 || !(datagram[at + 3]! & 0x10)) continue;
        const cc = datagram[at + 3]! & 0x0f;
        if (last >= 0 && cc !== ((last + 1) & 0x0f)) skips.push(cc);
        last = cc;
      }
    }
    assert.equal(skips.length, 3, "the continuity skips are on the wire, as the truth says");
  },
});
