// CI slice of scripts/fuzz_client.ts: the garbage generator's datagrams are invalid RTP by
// construction (RFC 3550 §5.1, §5.3.1), and a real client fed 20 000 of them beside a valid stream,
// inside the private network namespace of scripts/netns_test.sh, counts both exactly.
import assert from "node:assert/strict";
import { inPrivateNetns } from "../../scripts/support/netns.ts";
import { randomRtpPort } from "../../scripts/support/endpoints.ts";
import { RtpParseError } from "../../lib/common/errors.ts";
import { parseRtpPacket } from "../../lib/rtp/packet.ts";
import { GARBAGE_REASONS, GarbageGenerator, runClientFuzz } from "../../scripts/fuzz_client.ts";

/** The header rule each reason breaks, checked on the bytes without the library's validator. */
function breaksRule(reason: string, u8: Uint8Array): boolean {
  const length = u8.length;
  const b0 = u8[0] ?? 0;
  const offset = 12 + (b0 & 0x0f) * 4;
  switch (reason) {
    case "tooShort":
      return length < 12;
    case "badVersion":
      return length >= 12 && b0 >>> 6 !== 2;
    case "badCsrc":
      return length >= 12 && b0 >>> 6 === 2 && offset > length;
    case "badExtension": {
      if (length < 12 || b0 >>> 6 !== 2 || (b0 & 0x10) === 0 || offset > length) return false;
      if (offset + 4 > length) return true;
      return offset + 4 + ((u8[offset + 2]! << 8) | u8[offset + 3]!) * 4 > length;
    }
    case "badPadding":
      return length >= 12 && b0 >>> 6 === 2 && (b0 & 0x20) !== 0 && offset <= length;
    default:
      return false;
  }
}

Deno.test("GarbageGenerator builds only datagrams that break the header rule of their reason", () => {
  const generator = new GarbageGenerator({
    seed: 99,
    ssrc: 0x1234,
    startSeq: 65_000,
    seqSpan: 900,
  });
  const byReason = new Map<string, number>();
  let mutated = 0;
  let empty = 0;
  let longest = 0;
  for (let i = 0; i < 30_000; i++) {
    const datagram = generator.next();
    const reason = generator.lastReason;
    assert.ok(breaksRule(reason, datagram), `${reason}: ${datagram.subarray(0, 24)}`);
    assert.throws(() => parseRtpPacket(datagram), RtpParseError);
    byReason.set(reason, (byReason.get(reason) ?? 0) + 1);
    if (generator.lastMutated) mutated++;
    if (datagram.length === 0) empty++;
    longest = Math.max(longest, datagram.length);
  }
  assert.deepEqual([...byReason.keys()].sort(), [...GARBAGE_REASONS].sort());
  for (const [reason, count] of byReason) assert.ok(count > 5000, `${reason}: ${count}`);
  assert.ok(mutated > 10_000 && mutated < 14_000, `mutated ${mutated}`);
  assert.ok(empty > 0, "zero-length datagrams too");
  assert.ok(longest > 1328, "longer than a stream datagram too");
});

Deno.test("GarbageGenerator gives the same datagrams for the same seed", () => {
  const options = { seed: 7, ssrc: 1, startSeq: 0, seqSpan: 100 };
  const a = new GarbageGenerator(options);
  const b = new GarbageGenerator(options);
  const c = new GarbageGenerator({ ...options, seed: 8 });
  let differs = false;
  for (let i = 0; i < 2000; i++) {
    const x = a.next().slice();
    assert.deepEqual(b.next(), x);
    const y = c.next();
    differs ||= y.length !== x.length || y.some((v, j) => v !== x[j]);
  }
  assert.ok(differs, "another seed gives other datagrams");
});

Deno.test({
  name:
    "client counts 20 000 invalid datagrams beside a valid stream: one source, every packet, no loss",
  ignore: !inPrivateNetns(),
  async fn() {
    const report = await runClientFuzz({
      datagrams: 20_000,
      rate: 10_000,
      bitrate: 8_000_000,
      seed: 20261124,
      group: "239.77.1.1",
      port: randomRtpPort(),
    });
    const text = JSON.stringify(report);
    assert.equal(report.garbage.sent, 20_000, text);
    assert.ok(report.garbage.mutated > 0, text);
    assert.ok(report.kernel.drained, text);
    assert.equal(report.client.exitCode, 0, text);
    assert.equal(report.client.sources, 1, text);
    assert.equal(report.client.ssrc, report.stream.ssrc, text);
    assert.equal(report.client.duplicates, 0, text);
    assert.equal(report.client.reordered, 0, text);
    assert.ok(report.stream.sent > 1000, text);
    // Every datagram is accounted for: read by the client, or dropped by the kernel at its socket.
    assert.ok(report.balanced, text);
    // The socket buffer holds ~10 ms of this flood; a CPU-starved client can overflow it. Then the
    // counts are exact up to the socket's own drop counter, which is checked above.
    if (report.kernel.socketDrops === 0) {
      assert.equal(report.client.packets, report.stream.sent, text);
      assert.equal(report.client.lost, 0, text);
      assert.equal(report.client.invalid, report.garbage.sent, text);
      assert.ok(report.ok, text);
    } else {
      console.warn(`kernel dropped ${report.kernel.socketDrops} datagrams at the client's socket`);
      assert.ok(report.client.invalid <= report.garbage.sent, text);
      assert.ok(report.client.packets <= report.stream.sent, text);
    }
  },
});

Deno.test({
  name:
    "client keeps a valid stream exact beside 10 000 packets/s of junk SSRCs in pairs (issue 11, item 10)",
  ignore: !inPrivateNetns(),
  async fn() {
    const report = await runClientFuzz({
      datagrams: 20_000,
      rate: 10_000,
      bitrate: 8_000_000,
      junkRate: 10_000,
      seed: 20261201,
      group: "239.77.1.2",
      port: randomRtpPort(),
    });
    const text = JSON.stringify(report);
    assert.ok(report.junk.sent > 10_000, text);
    assert.equal(report.client.exitCode, 0, text);
    assert.equal(report.client.ssrc, report.stream.ssrc, "the stream is in the summary");
    assert.ok(report.client.sources <= 64, text);
    assert.ok(report.client.untrackedPackets > 0, text);
    if (report.kernel.socketDrops === 0) {
      assert.equal(report.client.packets, report.stream.sent, text);
      assert.equal(report.client.lost, 0, text);
      assert.ok(report.ok, text);
    } else {
      console.warn(`kernel dropped ${report.kernel.socketDrops} datagrams at the client's socket`);
    }
  },
});
