// Tests of lib/rtp_packet.ts: RTP header parsing (RFC 3550 §5.1, §5.3.1) on hand-built byte
// vectors, every truncation of a packet with CSRC + extension + padding, and seeded random input.

import assert from "node:assert/strict";
import { RtpParseError } from "../../lib/common/errors.ts";
import {
  createRtpHeaderFields,
  parseRtpPacket,
  readRtpHeader,
  RtpHeaderStatus,
} from "../../lib/rtp/packet.ts";
import { mulberry32 } from "../../lib/common/prng.ts";

function hex(text: string): Uint8Array {
  const clean = text.replace(/\s+/g, "");
  return Uint8Array.from(clean.match(/../g) ?? [], (byte) => parseInt(byte, 16));
}

/**
 * V=2 P=1 X=1 CC=2 M=1 PT=96 seq 0x1234 ts 0xDEADBEEF ssrc 0xCAFEBABE, CSRC 1 and 2, extension
 * profile 0xBEDE with 2 words, 5 payload bytes 0xAA, 3 padding bytes (00 00 03): 40 bytes.
 * Payload bytes are 0xAA (170) so that no truncation ends on a plausible padding count.
 */
const FULL = hex(`
  b2 e0 12 34  de ad be ef  ca fe ba be
  00 00 00 01  00 00 00 02
  be de 00 02  11 11 11 11  11 11 11 11
  aa aa aa aa aa
  00 00 03
`);

function assertParseError(u8: Uint8Array, offset: number, pattern?: RegExp): void {
  assert.throws(
    () => parseRtpPacket(u8),
    (error: unknown) => {
      assert.ok(error instanceof RtpParseError, `expected RtpParseError, got ${error}`);
      assert.equal(error.name, "RtpParseError");
      assert.equal(error.offset, offset, `offset for ${u8.byteLength} bytes: ${error.message}`);
      if (pattern) assert.match(error.message, pattern);
      return true;
    },
  );
}

Deno.test("parseRtpPacket() reads a minimal MP2T packet without marker", () => {
  const u8 = hex("80 21 00 01 00 00 00 64 12 34 56 78  47 1f ff 10");
  const packet = parseRtpPacket(u8);
  assert.equal(packet.version, 2);
  assert.equal(packet.padding, false);
  assert.equal(packet.extension, false);
  assert.equal(packet.marker, false);
  assert.equal(packet.payloadType, 33);
  assert.equal(packet.sequenceNumber, 1);
  assert.equal(packet.timestamp, 100);
  assert.equal(packet.ssrc, 0x12345678);
  assert.deepEqual(packet.csrc, []);
  assert.equal(packet.extensionProfile, undefined);
  assert.equal(packet.extensionData, undefined);
  assert.equal(packet.paddingLength, 0);
  assert.deepEqual([...packet.payload], [0x47, 0x1f, 0xff, 0x10]);
});

Deno.test("parseRtpPacket() reads the marker bit and unsigned 32-bit fields", () => {
  const packet = parseRtpPacket(hex("80 e0 ff ff ff ff ff ff ff ff ff fe"));
  assert.equal(packet.marker, true);
  assert.equal(packet.payloadType, 96);
  assert.equal(packet.sequenceNumber, 65535);
  assert.equal(packet.timestamp, 0xffffffff);
  assert.equal(packet.ssrc, 0xfffffffe);
  assert.equal(packet.payload.byteLength, 0);
});

Deno.test("parseRtpPacket() reads CSRC list, extension and padding", () => {
  const packet = parseRtpPacket(FULL);
  assert.equal(packet.padding, true);
  assert.equal(packet.extension, true);
  assert.equal(packet.marker, true);
  assert.equal(packet.payloadType, 96);
  assert.equal(packet.sequenceNumber, 0x1234);
  assert.equal(packet.timestamp, 0xdeadbeef);
  assert.equal(packet.ssrc, 0xcafebabe);
  assert.deepEqual(packet.csrc, [1, 2]);
  assert.equal(packet.extensionProfile, 0xbede);
  assert.deepEqual([...(packet.extensionData ?? [])], [
    0x11,
    0x11,
    0x11,
    0x11,
    0x11,
    0x11,
    0x11,
    0x11,
  ]);
  assert.equal(packet.paddingLength, 3);
  assert.deepEqual([...packet.payload], [0xaa, 0xaa, 0xaa, 0xaa, 0xaa]);
});

Deno.test("parseRtpPacket() accepts an empty extension and padding that fills all after the header", () => {
  // X=1 with length 0; P=1 with count 4 covering the 4 bytes after the header: empty payload.
  const packet = parseRtpPacket(
    hex("b0 21 00 07 00 00 00 00 00 00 00 09  10 00 00 00  00 00 00 04"),
  );
  assert.equal(packet.extensionProfile, 0x1000);
  assert.equal(packet.extensionData?.byteLength, 0);
  assert.equal(packet.paddingLength, 4);
  assert.equal(packet.payload.byteLength, 0);
});

Deno.test("parseRtpPacket() returns zero-copy views and honours byteOffset", () => {
  const backing = new Uint8Array(100).fill(0x55);
  backing.set(FULL, 30);
  const u8 = backing.subarray(30, 30 + FULL.byteLength);
  const packet = parseRtpPacket(u8);
  assert.equal(packet.ssrc, 0xcafebabe);
  assert.deepEqual(packet.csrc, [1, 2]);
  assert.equal(packet.extensionProfile, 0xbede);
  assert.equal(packet.payload.buffer, backing.buffer);
  assert.equal(packet.payload.byteOffset, 30 + 32);
  assert.equal(packet.extensionData?.byteOffset, 30 + 24);
  backing[30 + 32] = 0x47;
  assert.equal(packet.payload[0], 0x47, "payload is a view, not a copy");
});

Deno.test("parseRtpPacket() rejects every truncation with RtpParseError at the bad element", async (t) => {
  // Truncated length → offset of the element that does not fit.
  const expectedOffset = (length: number): number => {
    if (length < 12) return 0; // fixed header
    if (length < 20) return 12; // CSRC list (2 × 4 bytes)
    if (length < 24) return 20; // extension header
    if (length < 32) return 24; // extension data (2 words)
    return length - 1; // padding count byte (0x11, 0xaa or 0x00: never valid)
  };
  for (let length = 0; length < FULL.byteLength; length++) {
    await t.step(`${length} bytes`, () => {
      const u8 = FULL.subarray(0, length);
      assertParseError(u8, expectedOffset(length));
      assert.notEqual(readRtpHeader(u8, createRtpHeaderFields()), RtpHeaderStatus.OK);
    });
  }
});

Deno.test("parseRtpPacket() names the problem in its message", async (t) => {
  const cases: {
    name: string;
    bytes: Uint8Array;
    offset: number;
    message: RegExp;
    status: number;
  }[] = [
    {
      name: "too short",
      bytes: hex("80 21 00"),
      offset: 0,
      message: /3 bytes is shorter than the 12-byte fixed header/,
      status: RtpHeaderStatus.TOO_SHORT,
    },
    {
      name: "version 0",
      bytes: hex("00 21 00 01 00 00 00 64 12 34 56 78"),
      offset: 0,
      message: /version 0/,
      status: RtpHeaderStatus.BAD_VERSION,
    },
    {
      name: "version 1",
      bytes: hex("40 21 00 01 00 00 00 64 12 34 56 78"),
      offset: 0,
      message: /version 1/,
      status: RtpHeaderStatus.BAD_VERSION,
    },
    {
      name: "version 3",
      bytes: hex("c0 21 00 01 00 00 00 64 12 34 56 78"),
      offset: 0,
      message: /version 3/,
      status: RtpHeaderStatus.BAD_VERSION,
    },
    {
      name: "CSRC list of 15 past the end",
      bytes: hex("8f 21 00 01 00 00 00 64 12 34 56 78 00 00 00 01"),
      offset: 12,
      message: /CSRC list of 15 entries needs 72 bytes, packet has 16/,
      status: RtpHeaderStatus.BAD_CSRC,
    },
    {
      name: "extension length past the end",
      bytes: hex("90 21 00 01 00 00 00 64 12 34 56 78 be de 00 03 01 02 03 04"),
      offset: 16,
      message: /extension at offset 16 needs 28 bytes, packet has 20/,
      status: RtpHeaderStatus.BAD_EXTENSION,
    },
    {
      name: "padding count 0",
      bytes: hex("a0 21 00 01 00 00 00 64 12 34 56 78 47 00"),
      offset: 13,
      message: /padding count is 0/,
      status: RtpHeaderStatus.BAD_PADDING,
    },
    {
      name: "padding count larger than the bytes after the header",
      bytes: hex("a0 21 00 01 00 00 00 64 12 34 56 78 47 03"),
      offset: 13,
      message: /padding count 3 exceeds the 2 bytes after the header/,
      status: RtpHeaderStatus.BAD_PADDING,
    },
    {
      name: "padding with nothing after the header",
      bytes: hex("a0 21 00 01 00 00 00 64 12 34 56 01"),
      offset: 11,
      message: /padding count 1 exceeds the 0 bytes/,
      status: RtpHeaderStatus.BAD_PADDING,
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      assertParseError(c.bytes, c.offset, c.message);
      assert.equal(readRtpHeader(c.bytes, createRtpHeaderFields()), c.status);
    });
  }
});

Deno.test("readRtpHeader() fills the caller's fields without a payload copy", () => {
  const fields = createRtpHeaderFields();
  assert.equal(readRtpHeader(FULL, fields), RtpHeaderStatus.OK);
  assert.deepEqual(fields, {
    payloadType: 96,
    marker: true,
    sequenceNumber: 0x1234,
    timestamp: 0xdeadbeef,
    ssrc: 0xcafebabe,
    payloadOffset: 32,
    payloadLength: 5,
  });
  // The same object is reused for the next datagram.
  assert.equal(readRtpHeader(hex("80 21 00 02 00 00 00 c8 00 00 00 07 47"), fields), 0);
  assert.equal(fields.sequenceNumber, 2);
  assert.equal(fields.marker, false);
  assert.equal(fields.payloadOffset, 12);
  assert.equal(fields.payloadLength, 1);
});

Deno.test("parseRtpPacket() and readRtpHeader() agree on random input and throw only RtpParseError", () => {
  const random = mulberry32(0x5eed3550);
  const fields = createRtpHeaderFields();
  const seen = new Set<number>();
  for (let i = 0; i < 5000; i++) {
    const u8 = new Uint8Array(Math.floor(random() * 64));
    for (let j = 0; j < u8.length; j++) u8[j] = Math.floor(random() * 256);
    // Bias towards version 2 and short CSRC lists so that the deeper checks are reached.
    if (u8.length > 0 && random() < 0.8) u8[0] = (u8[0]! & 0x3f) | 0x80;
    if (u8.length > 0 && random() < 0.6) u8[0] = u8[0]! & 0xf3;
    if (u8.length > 15 && random() < 0.5) u8[14] = 0;
    if (u8.length > 0 && random() < 0.3) u8[u8.length - 1] = u8[u8.length - 1]! & 0x07;

    const status = readRtpHeader(u8, fields);
    seen.add(status);
    let packet;
    try {
      packet = parseRtpPacket(u8);
    } catch (error) {
      assert.ok(error instanceof RtpParseError, `case ${i}: ${error}`);
      assert.ok(
        error.offset >= 0 && error.offset <= u8.length,
        `case ${i}: offset ${error.offset}`,
      );
      assert.notEqual(status, RtpHeaderStatus.OK, `case ${i}: readRtpHeader accepted`);
      continue;
    }
    assert.equal(status, RtpHeaderStatus.OK, `case ${i}: readRtpHeader rejected (${status})`);
    assert.equal(packet.payloadType, fields.payloadType);
    assert.equal(packet.marker, fields.marker);
    assert.equal(packet.sequenceNumber, fields.sequenceNumber);
    assert.equal(packet.timestamp, fields.timestamp);
    assert.equal(packet.ssrc, fields.ssrc);
    assert.equal(packet.payload.byteOffset, fields.payloadOffset);
    assert.equal(packet.payload.byteLength, fields.payloadLength);
    assert.equal(fields.payloadOffset + fields.payloadLength + packet.paddingLength, u8.length);
    assert.equal(packet.csrc.length * 4 + 12 <= fields.payloadOffset, true);
  }
  // The generator reached every branch, or this test proves little.
  assert.deepEqual([...seen].sort(), [0, 1, 2, 3, 4, 5]);
});
