// Tests of lib/ts/raw_ts.ts: raw MPEG-TS over UDP (ISO/IEC 13818-1 packets) told apart from RTP
// (RFC 3550 §5.1 version 2) by the first byte, the length and every packet's sync byte.

import assert from "node:assert/strict";
import { isRawTsDatagram } from "../../lib/ts/raw_ts.ts";
import { createRtpHeaderFields, readRtpHeader, RtpHeaderStatus } from "../../lib/rtp/packet.ts";
import { muxRun } from "../support/ts_packets.ts";

Deno.test("isRawTsDatagram() accepts whole TS packets and nothing RTP could be", async (t) => {
  const ts = muxRun({ bitrate: 1_000_000 }, 0.1).datagrams[0]!;
  await t.step("7 packets, 1 packet", () => {
    assert.ok(isRawTsDatagram(ts));
    assert.ok(isRawTsDatagram(ts.subarray(0, 188)));
  });
  await t.step("never a valid RTP header: 0x47 has version 1", () => {
    assert.notEqual(readRtpHeader(ts, createRtpHeaderFields()), RtpHeaderStatus.OK);
  });
  await t.step("RTP carrying TS is not raw TS", () => {
    const rtp = new Uint8Array(12 + ts.length);
    rtp.set([0x80, 33, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1]);
    rtp.set(ts, 12);
    assert.ok(!isRawTsDatagram(rtp));
  });
  await t.step("lengths that are not whole packets, and empty", () => {
    for (const n of [0, 187, 189, 1315, 1317]) {
      const d = new Uint8Array(n).fill(0x47);
      assert.equal(isRawTsDatagram(d), false, `${n} bytes`);
    }
  });
  await t.step("a later packet without its sync byte", () => {
    const bad = ts.slice();
    bad[188 * 4] = 0x46;
    assert.ok(!isRawTsDatagram(bad));
  });
});
