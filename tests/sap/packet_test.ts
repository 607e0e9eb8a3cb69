// Tests lib/sap/packet.ts and message.ts (the whole decoding of a datagram): RFC 2974 headers written
// and read back, the packets ffmpeg 5.1 and VLC 3.0 really send (tests/testdata/sap_*.bin, captured
// in a private namespace from `ffmpeg -f sap` and `#rtp{...,sap}`), every kind of bad packet named.
import assert from "node:assert/strict";
import { deflate, MAX_SAP_INFLATED_BYTES } from "../../lib/sap/inflate.ts";
import { decodeSapMessage } from "../../lib/sap/message.ts";
import {
  encodeSapPacket,
  MAX_SAP_PACKET_BYTES,
  parseSapHeader,
  SAP_PROBLEMS,
  SapParseError,
  type SapProblem,
} from "../../lib/sap/packet.ts";
import { mulberry32 } from "../../lib/common/prng.ts";

const testdata = new URL("../testdata/", import.meta.url);
const fixture = (name: string) => Deno.readFileSync(new URL(name, testdata));
const SDP = "v=0\r\no=- 1 2 IN IP4 192.0.2.1\r\ns=news\r\nc=IN IP4 239.255.0.1/1\r\nt=0 0\r\n" +
  "m=video 5004 RTP/AVP 33\r\n";
const bytes = (text: string) => new TextEncoder().encode(text);

async function problemOf(datagram: Uint8Array): Promise<SapProblem | "ok"> {
  try {
    await decodeSapMessage(datagram);
    return "ok";
  } catch (error) {
    if (error instanceof SapParseError) return error.problem;
    throw error;
  }
}

Deno.test("encodeSapPacket() and parseSapHeader() round-trip every flag and both origins", async (t) => {
  for (const origin of ["192.0.2.1", "2001:db8::7"]) {
    for (const messageType of ["announce", "delete"] as const) {
      await t.step(`${origin} ${messageType}`, async () => {
        const packet = encodeSapPacket({
          messageType,
          hash: 0xbeef,
          origin,
          payloadType: "application/sdp",
          payload: bytes(SDP),
          authentication: new Uint8Array(8).fill(7),
        });
        const header = parseSapHeader(packet);
        assert.equal(packet[0]! >> 5, 1);
        assert.equal(header.messageType, messageType);
        assert.equal(header.addressType, origin.includes(":") ? 6 : 4);
        assert.equal(header.origin, origin);
        assert.equal(header.hash, 0xbeef);
        assert.equal(header.authentication.length, 8);
        assert.equal(header.compressed, false);
        const message = await decodeSapMessage(packet);
        assert.equal(message.sdp, SDP);
        assert.equal(message.messageType, messageType);
      });
    }
  }
  await t.step("the body is a view into the datagram (zero-copy)", () => {
    const packet = encodeSapPacket({
      messageType: "announce",
      hash: 1,
      origin: "192.0.2.1",
      payload: bytes(SDP),
    });
    const header = parseSapHeader(packet);
    assert.equal(header.body.buffer, packet.buffer);
    assert.equal(header.bodyOffset, 8);
  });
});

Deno.test("decodeSapMessage() reads the packets ffmpeg and VLC send", async (t) => {
  await t.step("ffmpeg 5.1 announcement: V=1, IPv4, application/sdp", async () => {
    const message = await decodeSapMessage(fixture("sap_ffmpeg_announce.bin"));
    assert.equal(message.messageType, "announce");
    assert.equal(message.origin, "127.0.0.1");
    assert.equal(message.hash, 0x3a13);
    assert.match(message.sdp, /^v=0\r\no=- 0 0 IN IP4 127\.0\.0\.1\r\ns=ffnews\r\n/);
    assert.match(message.sdp, /a=tool:libavformat/);
  });
  await t.step("ffmpeg 5.1 deletion: the T bit, the same hash and SDP", async () => {
    const message = await decodeSapMessage(fixture("sap_ffmpeg_delete.bin"));
    assert.equal(message.messageType, "delete");
    assert.equal(message.hash, 0x3a13);
    assert.equal(message.sdp, (await decodeSapMessage(fixture("sap_ffmpeg_announce.bin"))).sdp);
  });
  await t.step("VLC 3.0 announcement with i= and a=charset", async () => {
    const message = await decodeSapMessage(fixture("sap_vlc_announce.bin"));
    assert.equal(message.messageType, "announce");
    assert.equal(message.hash, 0x4d2b);
    assert.match(message.sdp, /s=vlcnews\r\ni=hello\r\n/);
    assert.match(message.sdp, /a=charset:UTF-8/);
  });
  await t.step("a packet re-encoded from a fixture's fields is byte-identical", async () => {
    const raw = fixture("sap_vlc_announce.bin");
    const message = await decodeSapMessage(raw);
    const again = encodeSapPacket({
      messageType: "announce",
      hash: message.hash,
      origin: message.origin,
      payloadType: "application/sdp",
      payload: bytes(message.sdp),
    });
    assert.deepEqual(again, raw);
  });
});

Deno.test("decodeSapMessage() accepts zlib-compressed payloads and SAPv1 packets without a type", async () => {
  const compressed = encodeSapPacket({
    messageType: "announce",
    hash: 9,
    origin: "192.0.2.1",
    compressed: true,
    payload: await deflate(bytes(`application/sdp\0${SDP}`)),
  });
  const message = await decodeSapMessage(compressed);
  assert.equal(message.compressed, true);
  assert.equal(message.sdp, SDP);
  const untyped = encodeSapPacket({
    messageType: "announce",
    hash: 9,
    origin: "192.0.2.1",
    payload: bytes(SDP),
  });
  assert.equal((await decodeSapMessage(untyped)).sdp, SDP);
});

Deno.test("decodeSapMessage() names each kind of bad packet, with its offset", async (t) => {
  const good = encodeSapPacket({
    messageType: "announce",
    hash: 5,
    origin: "192.0.2.1",
    payloadType: "application/sdp",
    payload: bytes(SDP),
  });
  const bomb = await deflate(new Uint8Array(10 * MAX_SAP_INFLATED_BYTES));
  const cases: { name: string; packet: Uint8Array; problem: SapProblem; offset?: number }[] = [
    { name: "version 0", packet: Uint8Array.of(0x00, ...good.slice(1)), problem: "wrongVersion" },
    { name: "version 2", packet: Uint8Array.of(0x40, ...good.slice(1)), problem: "wrongVersion" },
    {
      name: "an RTP packet (V=2)",
      packet: Uint8Array.of(0x80, 0x21, 0, 1),
      problem: "wrongVersion",
    },
    { name: "empty", packet: new Uint8Array(0), problem: "truncated", offset: 0 },
    { name: "3 bytes", packet: good.slice(0, 3), problem: "truncated", offset: 3 },
    { name: "inside the origin", packet: good.slice(0, 6), problem: "truncated", offset: 6 },
    {
      name: "inside the IPv6 origin",
      packet: Uint8Array.of(0x30, 0, 0, 1, ...new Uint8Array(10)),
      problem: "truncated",
      offset: 14,
    },
    {
      name: "inside the authentication data",
      packet: Uint8Array.of(0x20, 4, 0, 1, 192, 0, 2, 1, 1, 2, 3),
      problem: "truncated",
      offset: 11,
    },
    { name: "no payload", packet: good.slice(0, 8), problem: "truncated" },
    { name: "payload type without NUL", packet: good.slice(0, 20), problem: "truncated" },
    {
      name: "huge",
      packet: Uint8Array.of(...good, ...new Uint8Array(MAX_SAP_PACKET_BYTES)),
      problem: "huge",
    },
    {
      name: "encrypted",
      packet: encodeSapPacket({
        messageType: "announce",
        hash: 5,
        origin: "192.0.2.1",
        encrypted: true,
        payload: new Uint8Array(40).fill(0xaa),
      }),
      problem: "encrypted",
    },
    {
      name: "a deflate bomb",
      packet: encodeSapPacket({
        messageType: "announce",
        hash: 5,
        origin: "192.0.2.1",
        compressed: true,
        payload: bomb,
      }),
      problem: "deflateBomb",
      offset: MAX_SAP_INFLATED_BYTES,
    },
    {
      name: "corrupt zlib",
      packet: encodeSapPacket({
        messageType: "announce",
        hash: 5,
        origin: "192.0.2.1",
        compressed: true,
        payload: Uint8Array.of(0x78, 0x9c, 0xff, 0xff, 0xff, 0x00),
      }),
      problem: "badCompression",
    },
    {
      name: "another payload type",
      packet: encodeSapPacket({
        messageType: "announce",
        hash: 5,
        origin: "192.0.2.1",
        payloadType: "text/plain",
        payload: bytes("hello"),
      }),
      problem: "notSdp",
      offset: 8,
    },
    {
      name: "neither v=0 nor a payload type",
      packet: encodeSapPacket({
        messageType: "announce",
        hash: 5,
        origin: "192.0.2.1",
        payload: bytes("x".repeat(200)),
      }),
      problem: "notSdp",
    },
    {
      name: "not UTF-8",
      packet: encodeSapPacket({
        messageType: "announce",
        hash: 5,
        origin: "192.0.2.1",
        payloadType: "application/sdp",
        payload: Uint8Array.of(0x76, 0x3d, 0x30, 0xff, 0xfe),
      }),
      problem: "invalidSdp",
      offset: 24,
    },
  ];
  for (const c of cases) {
    await t.step(c.name, async () => {
      await assert.rejects(decodeSapMessage(c.packet), (error: unknown) => {
        assert.ok(error instanceof SapParseError);
        assert.equal(error.problem, c.problem);
        if (c.offset !== undefined) assert.equal(error.offset, c.offset);
        return true;
      });
    });
  }
  await t.step("every problem kind is exercised", () => {
    const seen = new Set(cases.map((c) => c.problem));
    assert.deepEqual(SAP_PROBLEMS.filter((p) => !seen.has(p)), []);
  });
});

Deno.test("decodeSapMessage() never throws anything but SapParseError on random input", async () => {
  const random = mulberry32(2974);
  const base = fixture("sap_vlc_announce.bin");
  const counts = new Map<string, number>();
  for (let i = 0; i < 3000; i++) {
    let packet: Uint8Array;
    if (i % 3 === 0) {
      packet = new Uint8Array(Math.floor(random() * 64));
      for (let j = 0; j < packet.length; j++) packet[j] = Math.floor(random() * 256);
    } else {
      packet = base.slice(0, Math.floor(random() * (base.length + 1)));
      for (let flips = 0; flips < 3; flips++) {
        const at = Math.floor(random() * packet.length);
        if (packet.length > 0) packet[at] = Math.floor(random() * 256);
      }
    }
    const result = await problemOf(packet);
    counts.set(result, (counts.get(result) ?? 0) + 1);
  }
  assert.ok((counts.get("truncated") ?? 0) > 0 && (counts.get("wrongVersion") ?? 0) > 0);
});
