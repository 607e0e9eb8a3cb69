// Tests of lib/ts/health.ts: the TR 101 290 health line for the terminal view.

import assert from "node:assert/strict";
import { TsAnalyser } from "../../lib/ts/analyser.ts";
import { formatTsHealth } from "../../lib/ts/health.ts";
import { muxRun } from "../support/ts_packets.ts";

Deno.test("formatTsHealth() says TS OK for a clean stream and names failing indicators", () => {
  const clean = muxRun({ bitrate: 1_000_000 }, 2);
  const a = new TsAnalyser();
  clean.datagrams.forEach((d, i) => a.feed(d, clean.timesMs[i]!));
  assert.equal(formatTsHealth(a.snapshot(2000)), "TS OK");
  const faulty = muxRun({
    bitrate: 1_000_000,
    faults: { ccSkips: { atMs: 100, count: 3 }, patGaps: [{ atMs: 500, durationMs: 800 }] },
  }, 2);
  const b = new TsAnalyser();
  faulty.datagrams.forEach((d, i) => b.feed(d, faulty.timesMs[i]!, i === 50));
  assert.equal(formatTsHealth(b.snapshot(2000)), "TS 1.3 PAT 1, 1.4 CC 3 (3 upstream)");
  const udp = new TsAnalyser({ transport: "udp" });
  faulty.datagrams.forEach((d, i) => udp.feed(d, faulty.timesMs[i]!));
  assert.equal(formatTsHealth(udp.snapshot(2000)), "TS 1.3 PAT 1, 1.4 CC 3");
});
