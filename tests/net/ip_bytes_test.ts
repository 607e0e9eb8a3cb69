// Tests lib/net/ip_bytes.ts: address literals to network-order bytes and back (RFC 5952 text).
import assert from "node:assert/strict";
import { bytesToIp, ipToBytes } from "../../lib/net/ip_bytes.ts";

Deno.test("ipToBytes() and bytesToIp() round-trip IPv4 and IPv6 in RFC 5952 form", async (t) => {
  const cases: [string, string][] = [
    ["192.0.2.10", "192.0.2.10"],
    ["::", "::"],
    ["ff0e::2:7ffe", "ff0e::2:7ffe"],
    ["FF05:0:0:0:0:0:2:7FFE", "ff05::2:7ffe"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
    ["fd00:6a7::1", "fd00:6a7::1"],
    ["::ffff:192.0.2.1", "::ffff:c000:201"],
    ["1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"],
  ];
  for (const [text, canonical] of cases) {
    await t.step(text, () => {
      const raw = ipToBytes(text);
      assert.equal(raw.length, text.includes(":") ? 16 : 4);
      assert.equal(bytesToIp(raw), canonical);
    });
  }
  assert.throws(() => ipToBytes("not-an-ip"), RangeError);
  assert.throws(() => bytesToIp(new Uint8Array(5)), RangeError);
});
