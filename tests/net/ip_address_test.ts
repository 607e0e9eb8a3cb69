import assert from "node:assert/strict";
import { isIPv4, isIPv6 } from "node:net";
import { formatIpAddress, parseIpAddress } from "../../lib/net/ip_address.ts";
import { mulberry32 } from "../../lib/common/prng.ts";

Deno.test("parseIpAddress() reads IPv4 and IPv6 literals into network-order bytes", async (t) => {
  const cases: [string, 4 | 6, number[]][] = [
    ["239.0.0.1", 4, [239, 0, 0, 1]],
    ["0.0.0.0", 4, [0, 0, 0, 0]],
    ["255.255.255.255", 4, [255, 255, 255, 255]],
    ["ff15::1", 6, [0xff, 0x15, ...new Array(13).fill(0), 1]],
    ["[fd00:6a7::2]", 6, [0xfd, 0, 0x06, 0xa7, ...new Array(11).fill(0), 2]],
    ["::ffff:192.0.2.1", 6, [...new Array(10).fill(0), 0xff, 0xff, 192, 0, 2, 1]],
    ["1:2:3:4:5:6:7:8", 6, [0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8]],
    ["::", 6, new Array(16).fill(0)],
  ];
  for (const [text, family, bytes] of cases) {
    await t.step(text, () => {
      assert.deepEqual(parseIpAddress(text), { family, bytes: new Uint8Array(bytes) });
    });
  }
});

Deno.test("parseIpAddress() refuses what is not an address literal", () => {
  for (
    const text of [
      "",
      "239.0.0",
      "239.0.0.256",
      "239.0.0.1.2",
      " 239.0.0.1",
      "a.b.c.d",
      "1::2::3",
      "1:2:3:4:5:6:7:8:9",
      "1:2:3:4:5:6:7",
      "ff15::1%gw0",
      "12345::1",
      "::1.2.3",
      "host.example",
    ]
  ) {
    assert.equal(parseIpAddress(text), undefined, text);
  }
});

Deno.test("formatIpAddress() writes RFC 5952 text that parses back to the same bytes", () => {
  assert.equal(formatIpAddress(6, parseIpAddress("FD00:06A7:0:0:0:0:0:1")!.bytes), "fd00:6a7::1");
  assert.equal(formatIpAddress(6, parseIpAddress("1:0:0:2:0:0:0:3")!.bytes), "1:0:0:2::3");
  assert.equal(formatIpAddress(6, parseIpAddress("1:0:2:3:4:5:6:7")!.bytes), "1:0:2:3:4:5:6:7");
  assert.equal(formatIpAddress(6, parseIpAddress("1:0:0:2:0:0:3:4")!.bytes), "1::2:0:0:3:4");
  for (
    const [text, canonical] of [
      ["::", "::"],
      ["ff0e::2:7ffe", "ff0e::2:7ffe"],
      ["FF05:0:0:0:0:0:2:7FFE", "ff05::2:7ffe"],
      ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
      ["::ffff:192.0.2.1", "::ffff:c000:201"],
    ]
  ) {
    assert.equal(formatIpAddress(6, parseIpAddress(text!)!.bytes), canonical, text);
  }
  assert.equal(formatIpAddress(4, new Uint8Array([0, 0, 127, 0, 0, 1]), 2), "127.0.0.1");
  assert.throws(() => formatIpAddress(6, new Uint8Array(15)), RangeError);
  assert.throws(() => formatIpAddress(4, new Uint8Array(4), 1), RangeError);
  const random = mulberry32(7);
  for (let i = 0; i < 2000; i++) {
    const bytes = new Uint8Array(16);
    // Sparse words, so runs of zeros of every length occur.
    for (let w = 0; w < 8; w++) {
      if (random() < 0.5) {
        bytes[2 * w] = random() * 256;
        bytes[2 * w + 1] = random() * 256;
      }
    }
    const text = formatIpAddress(6, bytes);
    assert.ok(isIPv6(text), text);
    assert.deepEqual(parseIpAddress(text)?.bytes, bytes, text);
    const v4 = bytes.subarray(0, 4);
    const quad = formatIpAddress(4, v4);
    assert.ok(isIPv4(quad));
    assert.deepEqual(parseIpAddress(quad)?.bytes, v4);
  }
});
