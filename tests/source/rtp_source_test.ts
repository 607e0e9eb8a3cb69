// Tests of lib/rtp_source.ts, scripts/source.ts and scripts/impair.ts over real UDP multicast inside
// the test network namespace (scripts/netns_test.sh): what a plain receiver gets (RFC 3550 header,
// RFC 2250 payload, 90 kHz timestamps), exact truth counters, the relay, and the CLIs.

import assert from "node:assert/strict";
import { ConfigError } from "../../lib/common/errors.ts";
import {
  createImpairPlan,
  Impairer,
  type ImpairmentCounters,
} from "../../lib/source/impairment.ts";
import {
  MP2T_RTP,
  parseBitrate,
  parseEndpoint,
  relayRtpStream,
  type RtpSourceOptions,
  sendRtpStream,
} from "../../lib/source/rtp_source.ts";
import {
  parseIntegerFlag,
  parseProbabilityFlag,
  parseSecondsFlag,
} from "../../lib/common/flags.ts";
import { parseRtpPacket } from "../../lib/rtp/packet.ts";
import { writeRtpHeader } from "../../lib/rtp/writer.ts";

const inNetns = Deno.env.get("GATEWAY_NETNS") === "1";
const root = new URL("../../", import.meta.url);

function randomInt(min: number, max: number): number {
  return min + Math.floor(Math.random() * (max - min + 1));
}

function randomPort(): number {
  return randomInt(20_000, 60_000);
}

function randomGroup4(): string {
  return `239.${randomInt(1, 254)}.${randomInt(1, 254)}.${randomInt(1, 254)}`;
}

function randomGroup6(prefix: string): string {
  return `${prefix}::${randomInt(1, 0xfffe).toString(16)}:${randomInt(1, 0xfffe).toString(16)}`;
}

/** A plain Deno socket bound to the group (reuseAddress) that copies every datagram it gets. */
class Collector implements AsyncDisposable {
  readonly datagrams: Uint8Array[] = [];
  readonly #conn: Deno.DatagramConn;
  #closed = false;
  #loop: Promise<void> = Promise.resolve();

  private constructor(conn: Deno.DatagramConn) {
    this.#conn = conn;
  }

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
      while (true) {
        const [data] = await this.#conn.receive(buffer);
        this.datagrams.push(data.slice());
      }
    } catch (error) {
      if (!this.#closed) throw error;
    }
  }

  /** Polls until `count` datagrams arrived or `timeoutMs` passed; returns whether they did. */
  async waitFor(count: number, timeoutMs = 5_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.datagrams.length < count && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    return this.datagrams.length >= count;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#conn.close();
    await this.#loop;
  }
}

interface Rtp {
  payloadType: number;
  marker: boolean;
  seq: number;
  timestamp: number;
  ssrc: number;
}

/** Reads the fixed RTP header (RFC 3550 §5.1) of a datagram the source sent: V=2, no P/X/CC. */
function readRtp(datagram: Uint8Array): Rtp {
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

/** What a receiver counts from arrivals (indices from the first sequence number). */
function receiverCounts(indices: number[]) {
  const seen = new Set<number>();
  let highest = -1;
  let duplicates = 0;
  let late = 0;
  for (const k of indices) {
    if (seen.has(k)) {
      duplicates++;
      continue;
    }
    seen.add(k);
    if (k < highest) late++;
    highest = Math.max(highest, k);
  }
  const expected = seen.size === 0 ? 0 : highest - Math.min(...seen) + 1;
  return { unique: seen.size, duplicates, late, lost: expected - seen.size };
}

function assertCountsMatch(indices: number[], truth: ImpairmentCounters): void {
  const counts = receiverCounts(indices);
  assert.equal(indices.length, truth.sent, "datagrams received = sent");
  assert.equal(counts.unique, truth.generated - truth.dropped);
  assert.equal(counts.duplicates, truth.duplicated);
  assert.equal(counts.late, truth.reordered);
  assert.equal(counts.lost, truth.lost);
}

/** Arrival order (packet indices) the impairer produces for `count` packets: the expectation. */
function expectedOrder(options: ConstructorParameters<typeof Impairer>[0], count: number) {
  const impairer = new Impairer(options);
  const plan = createImpairPlan();
  const order: number[] = [];
  let held = -1;
  for (let k = 0; k < count; k++) {
    impairer.decide(plan);
    for (let i = 0; i < plan.currentCopies; i++) order.push(k);
    for (let i = 0; i < plan.heldCopies; i++) order.push(held);
    if (plan.hold) held = k;
  }
  for (let i = impairer.flush(); i > 0; i--) order.push(held);
  return order;
}

Deno.test({
  name: "sendRtpStream() sends paced PT 33 datagrams with 90 kHz timestamps to an IPv4 group",
  ignore: !inNetns,
  fn: async () => {
    const group = randomGroup4();
    const port = randomPort();
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
  ignore: !inNetns,
  fn: async () => {
    const group = randomGroup4();
    const port = randomPort();
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
  ignore: !inNetns,
  fn: async (t) => {
    await t.step("site-scope group with TTL 1, joined on gw0 and gw1", async () => {
      const group = randomGroup6("ff15");
      const port = randomPort();
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
      const port = randomPort();
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
  ignore: !inNetns,
  fn: async () => {
    const group = randomGroup4();
    const port = randomPort();
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
  ignore: !inNetns,
  fn: async () => {
    const truth = await sendRtpStream({
      group: randomGroup4(),
      port: randomPort(),
      bitrate: 2_000_000,
      durationS: 0.2,
    });
    assert.equal(truth.generated, Math.ceil((0.2 * 2_000_000) / 10_528));
    assert.ok(truth.durationS >= 0.18 && truth.durationS < 2, `${truth.durationS} s`);
  },
});

Deno.test({
  name: "sendRtpStream() rejects bad options with a ConfigError naming the field",
  ignore: !inNetns,
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

Deno.test("writeRtpHeader() writes a fixed header that parseRtpPacket() reads back", async (t) => {
  const cases = [
    { payloadType: 33, marker: false, sequenceNumber: 0, timestamp: 0, ssrc: 0 },
    {
      payloadType: 96,
      marker: true,
      sequenceNumber: 0xffff,
      timestamp: 0xffff_ffff,
      ssrc: 2 ** 32 - 1,
    },
    {
      payloadType: 127,
      marker: false,
      sequenceNumber: 0x1234,
      timestamp: 0x8000_0001,
      ssrc: 0xcafebabe,
    },
  ];
  for (const header of cases) {
    await t.step(JSON.stringify(header), () => {
      const datagram = new Uint8Array(12 + 3).fill(0xee);
      assert.equal(writeRtpHeader(datagram, header), 12);
      const packet = parseRtpPacket(datagram);
      assert.deepEqual(
        {
          payloadType: packet.payloadType,
          marker: packet.marker,
          sequenceNumber: packet.sequenceNumber,
          timestamp: packet.timestamp,
          ssrc: packet.ssrc,
        },
        header,
      );
      assert.equal(packet.version, 2);
      assert.deepEqual(packet.csrc, []);
      assert.equal(packet.extension || packet.padding, false);
      assert.deepEqual([...packet.payload], [0xee, 0xee, 0xee]);
    });
  }
  await t.step("timestamps wrap modulo 2^32, sequence numbers modulo 2^16", () => {
    const datagram = new Uint8Array(12);
    writeRtpHeader(datagram, {
      payloadType: 33,
      marker: false,
      sequenceNumber: 0x1_0005,
      timestamp: 2 ** 32 + 7,
      ssrc: 1,
    });
    assert.equal(parseRtpPacket(datagram).sequenceNumber, 5);
    assert.equal(parseRtpPacket(datagram).timestamp, 7);
  });
  await t.step("rejects a short buffer and a payload type above 127", () => {
    const header = { payloadType: 33, marker: false, sequenceNumber: 0, timestamp: 0, ssrc: 0 };
    assert.throws(() => writeRtpHeader(new Uint8Array(11), header), /needs 12 bytes/);
    assert.throws(
      () => writeRtpHeader(new Uint8Array(12), { ...header, payloadType: 128 }),
      /0-127/,
    );
  });
});

Deno.test("flag parsers accept the documented forms and reject the rest", async (t) => {
  await t.step("parseBitrate()", () => {
    for (const [text, value] of [["2000000", 2e6], ["2M", 2e6], ["500k", 5e5], ["1.5M", 1.5e6]]) {
      assert.equal(parseBitrate(text as string), value);
    }
    for (const text of ["fast", "2G", "-1", "", "1.0000005M", "2 M"]) {
      assert.throws(() => parseBitrate(text, "--bitrate"), /--bitrate: expected bit\/s/);
    }
  });
  await t.step("parseEndpoint()", () => {
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
  await t.step("parseIntegerFlag(), parseProbabilityFlag(), parseSecondsFlag()", () => {
    assert.equal(parseIntegerFlag("0xdeadbeef", "--ssrc", 0, 0xffff_ffff), 0xdeadbeef);
    assert.equal(parseIntegerFlag("42", "--seed", 0, 100), 42);
    assert.throws(() => parseIntegerFlag("1e3", "--packets", 1, 10_000), /--packets: expected/);
    assert.throws(() => parseIntegerFlag("101", "--seed", 0, 100), /0 to 100/);
    assert.equal(parseProbabilityFlag("0.25", "--loss"), 0.25);
    assert.equal(parseProbabilityFlag("1", "--loss"), 1);
    for (const text of ["1.01", "-0.1", "abc", "NaN", ""]) {
      assert.throws(() => parseProbabilityFlag(text, "--loss"), /--loss: expected a probability/);
    }
    assert.equal(parseSecondsFlag("2.5", "--duration"), 2.5);
    for (const text of ["0", "-1", "Infinity", "1s"]) {
      assert.throws(() => parseSecondsFlag(text, "--duration"), /--duration: expected seconds/);
    }
  });
});

Deno.test({
  name: "relayRtpStream() forwards every datagram unchanged, or impaired exactly as seeded",
  ignore: !inNetns,
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
        const from = { group: randomGroup4(), port: randomPort() };
        const to = { group: randomGroup4(), port: randomPort() };
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
  ignore: !inNetns,
  fn: async () => {
    const from = { group: randomGroup4(), port: randomPort() };
    const to = { group: randomGroup4(), port: randomPort() };
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

async function runScript(
  script: string,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", "--allow-net", script, ...args],
    cwd: root,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return { code, stdout: decoder.decode(stdout), stderr: decoder.decode(stderr) };
}

Deno.test({
  name: "scripts/source.ts prints the truth as one JSON line and exits 0",
  ignore: !inNetns,
  fn: async () => {
    const group = randomGroup4();
    const port = randomPort();
    await using collector = await Collector.open(group, port);
    const result = await runScript("scripts/source.ts", [
      "--group",
      group,
      "--port",
      String(port),
      "--packets",
      "50",
      "--bitrate",
      "5M",
      "--loss",
      "0.1",
      "--seed",
      "5",
      "--start-seq",
      "100",
      "--json",
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, "");
    const lines = result.stdout.trimEnd().split("\n");
    assert.equal(lines.length, 1);
    const truth = JSON.parse(lines[0]!);
    assert.equal(truth.generated, 50);
    assert.equal(truth.seed, 5);
    assert.equal(truth.bitrate, 5_000_000);
    assert.equal(truth.firstSeq, 100);
    assert.equal(truth.sent, 50 - truth.dropped);
    assert.ok(await collector.waitFor(truth.sent));
    assertCountsMatch(collector.datagrams.map((d) => readRtp(d).seq - 100), truth);
  },
});

Deno.test({
  name: "scripts/source.ts stops on SIGTERM, prints the truth and exits 0",
  ignore: !inNetns,
  fn: async () => {
    const group = randomGroup4();
    const port = randomPort();
    await using collector = await Collector.open(group, port);
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--no-prompt",
        "--allow-net",
        "scripts/source.ts",
        "--group",
        group,
        "--port",
        String(port),
        "--duration",
        "30",
      ],
      cwd: root,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const output = child.output();
    let stopped = false;
    try {
      // Without --json a start line and a summary line go to stderr.
      assert.ok(await collector.waitFor(5, 10_000), "the source is sending");
      child.kill("SIGTERM");
      stopped = true;
    } finally {
      if (!stopped) child.kill("SIGKILL");
    }
    const { code, stderr } = await output;
    assert.equal(code, 0);
    const text = new TextDecoder().decode(stderr);
    assert.match(text, /^rtp-source: sending 1328-byte MP2T\/RTP datagrams to/);
    assert.match(text, /rtp-source: generated \d+, sent \d+ datagrams to/);
  },
});

Deno.test({
  name: "scripts/source.ts and scripts/impair.ts reject bad flags with one line and exit 2",
  ignore: !inNetns,
  fn: async (t) => {
    const cases: [string, string[], RegExp][] = [
      ["scripts/source.ts", ["--loss", "2"], /--loss: expected a probability/],
      ["scripts/source.ts", ["--bitrate", "fast"], /--bitrate: expected bit\/s/],
      ["scripts/source.ts", ["--group", "10.0.0.1"], /not a multicast address/],
      ["scripts/source.ts", ["--port", "0"], /--port: expected an integer from 1/],
      ["scripts/source.ts", ["--bogus"], /Unknown option '--bogus'/],
      ["scripts/source.ts", ["extra"], /positional/],
      ["scripts/source.ts", ["--group", "ff15::1"], /IPv6 hop limit/],
      ["scripts/impair.ts", ["--from", "239.0.0.1:5004"], /--to GROUP:PORT is required/],
      ["scripts/impair.ts", ["--from", "239.0.0.1", "--to", "239.0.0.2:1"], /--from: expected/],
      [
        "scripts/impair.ts",
        ["--from", "239.0.0.1:5004", "--to", "239.0.0.1:5004"],
        /is the group relayed from/,
      ],
    ];
    for (const [script, args, pattern] of cases) {
      await t.step(`${script} ${args.join(" ")}`, async () => {
        const result = await runScript(script, args);
        assert.equal(result.code, 2, result.stderr);
        assert.equal(result.stdout, "");
        assert.match(result.stderr, /^rtp-(source|impair): [^\n]+\n$/);
        assert.match(result.stderr, pattern);
      });
    }
    await t.step("--help explains every flag and exits 0", async () => {
      for (
        const [script, flags] of [
          ["scripts/source.ts", [
            "--group",
            "--port",
            "--ttl",
            "--bitrate",
            "--ssrc",
            "--start-seq",
            "--packets",
            "--duration",
            "--loss",
            "--duplicate",
            "--reorder",
            "--seed",
            "--interface",
            "--json",
          ]],
          ["scripts/impair.ts", [
            "--from",
            "--to",
            "--ttl",
            "--interface",
            "--packets",
            "--duration",
            "--loss",
            "--duplicate",
            "--reorder",
            "--seed",
            "--json",
          ]],
        ] as const
      ) {
        const result = await runScript(script, ["--help"]);
        assert.equal(result.code, 0);
        for (const flag of flags) assert.match(result.stdout, new RegExp(`^  ${flag} `, "m"));
      }
    });
  },
});

Deno.test({
  name: "scripts/impair.ts relays a source to another group and prints its truth",
  ignore: !inNetns,
  fn: async () => {
    const from = { group: randomGroup4(), port: randomPort() };
    const to = { group: randomGroup4(), port: randomPort() };
    await using collector = await Collector.open(to.group, to.port);
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--no-prompt",
        "--allow-net",
        "scripts/impair.ts",
        "--from",
        `${from.group}:${from.port}`,
        "--to",
        `${to.group}:${to.port}`,
        "--packets",
        "30",
        "--duplicate",
        "0.2",
        "--seed",
        "3",
        "--json",
      ],
      cwd: root,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const stdout = new Response(child.stdout).text();
    const stderr = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
    let seen = "";
    while (!seen.includes("\n")) {
      const { done, value } = await stderr.read();
      if (done) break;
      seen += value;
    }
    assert.match(seen, /^rtp-impair: relaying [0-9.]+:\d+ -> [0-9.]+:\d+\n/);
    await sendRtpStream({ ...from, packets: 30, bitrate: 5_000_000 });
    const { code } = await child.status;
    await stderr.cancel();
    assert.equal(code, 0);
    const truth = JSON.parse(await stdout);
    assert.equal(truth.generated, 30);
    assert.equal(truth.seed, 3);
    assert.equal(truth.sent, 30 + truth.duplicated);
    assert.ok(truth.duplicated > 0);
    assert.ok(await collector.waitFor(truth.sent));
    assert.equal(collector.datagrams.length, truth.sent);
  },
});
