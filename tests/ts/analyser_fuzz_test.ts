// Fuzz slice for lib/ts/analyser.ts: random datagrams and mutated test-source streams (bit flips,
// adaptation field and section lengths past the end, pointer fields, 0x47 in payloads, truncation,
// odd arrival times). The analyser must never throw, never hang, and keep its figures sane.

import assert from "node:assert/strict";
import { mulberry32 } from "../../lib/common/prng.ts";
import { TsAnalyser } from "../../lib/ts/analyser.ts";
import type { TsSnapshot } from "../../lib/ts/ts_report.ts";
import { muxRun } from "../support/ts_packets.ts";

function assertSane(s: TsSnapshot, maxPids: number): void {
  const json = JSON.parse(JSON.stringify(s));
  for (const [key, value] of Object.entries(json)) {
    if (typeof value === "number") {
      assert.ok(Number.isFinite(value) && value >= 0, `${key} = ${value}`);
    }
  }
  assert.ok(s.syncByteErrors <= s.packets && s.nullPackets <= s.packets && s.ccErrors <= s.packets);
  assert.ok(s.ccErrorsWithoutRtpLoss === null || s.ccErrorsWithoutRtpLoss <= s.ccErrors);
  assert.ok(s.pids.length <= maxPids);
  for (const p of s.pids) {
    assert.ok(p.pid >= 0 && p.pid < 0x2000 && p.packets >= 0 && p.ccErrors >= 0);
  }
  assert.ok(s.services.length <= 256);
}

Deno.test("TsAnalyser survives random datagrams", () => {
  const random = mulberry32(101_290);
  const analyser = new TsAnalyser({ maxPids: 64 });
  const buffer = new Uint8Array(1600);
  let now = 0;
  for (let i = 0; i < 20_000; i++) {
    const length = random() < 0.7 ? 1316 : (random() * 1600) | 0;
    const d = buffer.subarray(0, length);
    for (let k = 0; k < length; k++) d[k] = (random() * 256) | 0;
    if (random() < 0.8) { for (let at = 0; at < length; at += 188) d[at] = 0x47; }
    now += random() * 20;
    analyser.feed(d, now, random() < 0.1);
    if (i % 1000 === 0) assertSane(analyser.takeInterval(now), 64);
  }
  const s = analyser.snapshot(now);
  assertSane(s, 64);
  assert.equal(s.pids.length, 64, "random PIDs fill the cap, and no more");
  assert.ok(s.untrackedPackets > 0 && s.malformedPackets > 0 && s.partialPackets > 0);
});

Deno.test("TsAnalyser survives mutated streams of the test source", () => {
  const random = mulberry32(13_818);
  const run = muxRun({
    bitrate: 2_000_000,
    faults: { ccSkips: { atMs: 300, count: 5 }, pcrJumps: [{ atMs: 900, jumpMs: 400 }] },
  }, 6);
  const analyser = new TsAnalyser();
  let sections = 0;
  for (let pass = 0; pass < 6; pass++) {
    run.datagrams.forEach((original, i) => {
      const d = original.slice();
      const r = random();
      if (r < 0.2) {
        for (let k = 0; k < 3; k++) d[(random() * d.length) | 0]! ^= 1 << ((random() * 8) | 0);
      } else if (r < 0.3) {
        // adaptation field lengths, pointer fields and section lengths past the end
        const at = ((random() * 7) | 0) * 188;
        d[at + 4] = 0xb8 + ((random() * 0x48) | 0);
        d[at + 5] = 0xff;
        d[at + 6] = 0xff;
        d[at + 7] = 0xff;
      } else if (r < 0.35) {
        d.fill(0x47, ((random() * 7) | 0) * 188 + 4, ((random() * 7) | 0) * 188 + 188);
      } else if (r < 0.4) {
        d.copyWithin(0, 188 * ((random() * 6) | 0) + ((random() * 188) | 0));
      }
      const length = random() < 0.05 ? (random() * d.length) | 0 : d.length;
      const time = random() < 0.01
        ? [Number.NaN, -1e15, 1e15, 0][(random() * 4) | 0]!
        : run.timesMs[i]!;
      analyser.feed(d.subarray(0, length), time, random() < 0.05);
    });
    const s = analyser.takeInterval(run.timesMs.at(-1)!);
    assertSane(s, 512);
    sections += s.services.length;
  }
  const s = analyser.snapshot(run.timesMs.at(-1)!);
  assertSane(s, 512);
  assert.ok(sections > 0, "the programme map still forms through the damage");
  assert.ok(s.crcErrors > 0 && s.ccErrors > 0 && s.malformedPackets > 0);
});
