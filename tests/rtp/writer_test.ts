// Tests of lib/rtp/writer.ts: the fixed RTP header (RFC 3550 §5.1) it writes, read back by the
// library's own parser, with wrap-around and bad input.
import assert from "node:assert/strict";
import { parseRtpPacket } from "../../lib/rtp/packet.ts";
import { writeRtpHeader } from "../../lib/rtp/writer.ts";

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
