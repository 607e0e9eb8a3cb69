// Tests lib/sap/inflate.ts: bounded zlib inflate (deflate bombs stopped at the limit, cut and
// extended streams refused) against node:zlib's output, and the ADLER32 it checks.
import assert from "node:assert/strict";
import { deflateSync } from "node:zlib";
import { mulberry32 } from "../../lib/common/prng.ts";
import { adler32, deflate, inflateBounded } from "../../lib/sap/inflate.ts";
import { SapParseError } from "../../lib/sap/packet.ts";

const SDP = "v=0\r\no=- 1 2 IN IP4 192.0.2.1\r\ns=news\r\nc=IN IP4 239.255.0.1/1\r\nt=0 0\r\n" +
  "m=video 5004 RTP/AVP 33\r\n";
const bytes = (text: string) => new TextEncoder().encode(text);

Deno.test("inflateBounded() stops a deflate bomb at the limit and inflates what fits", async () => {
  const zeros = new Uint8Array(1 << 20);
  const bomb = await deflate(zeros);
  assert.ok(bomb.length < 2_000, `a 1 MiB bomb is ${bomb.length} bytes`);
  await assert.rejects(
    inflateBounded(bomb, 4096),
    (e: unknown) => e instanceof SapParseError && e.problem === "deflateBomb",
  );
  assert.deepEqual(
    await inflateBounded(await deflate(zeros.subarray(0, 4096)), 4096),
    zeros.subarray(0, 4096),
  );
  await assert.rejects(
    inflateBounded(bomb.subarray(0, bomb.length - 6), 1 << 21),
    (e: unknown) => e instanceof SapParseError && e.problem === "badCompression",
  );
  await assert.rejects(
    inflateBounded(new Uint8Array(0)),
    (e: unknown) => e instanceof SapParseError && e.problem === "badCompression",
  );
});

Deno.test("adler32() matches the trailer node:zlib writes", () => {
  assert.equal(adler32(bytes("Wikipedia")), 0x11e60398);
  const random = mulberry32(1950);
  const data = Uint8Array.from({ length: 20_000 }, () => Math.floor(random() * 256));
  const z = deflateSync(data);
  assert.equal(adler32(data), new DataView(z.buffer, z.byteOffset + z.length - 4).getUint32(0));
});

Deno.test("inflateBounded() inflates node:zlib's output and refuses it cut or extended", async () => {
  const sdp = bytes(`application/sdp\0${SDP}`);
  const z = new Uint8Array(deflateSync(sdp));
  assert.deepEqual(await inflateBounded(z), sdp);
  for (const cut of [1, 4, 6, z.length - 2]) {
    await assert.rejects(
      inflateBounded(z.subarray(0, z.length - cut)),
      (e: unknown) => e instanceof SapParseError && e.problem === "badCompression",
    );
  }
  await assert.rejects(
    inflateBounded(Uint8Array.of(...z, 0)),
    (e: unknown) => e instanceof SapParseError && e.problem === "badCompression",
  );
});
