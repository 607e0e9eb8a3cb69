// lib/ts/analyser.ts against parsers someone else wrote: ffmpeg's MPEG-TS demuxer (`-loglevel debug`
// "Continuity check failed" and "TEI flag" lines, one per error) and ffprobe's programme list with
// the SDT names (ETSI EN 300 468), on transport streams the test source wrote, faults and loss included.

import assert from "node:assert/strict";
import { mulberry32 } from "../../lib/common/prng.ts";
import { TsAnalyser } from "../../lib/ts/analyser.ts";
import { TS_LAYOUT } from "../../lib/source/ts_tables.ts";
import { muxRun } from "../support/ts_packets.ts";
import { peerTest } from "../support/peer_requirements.ts";
import { runToEnd } from "../../scripts/support/process.ts";
import { ffprobeUrl } from "../support/peers.ts";

/** ffmpeg's debug log of demuxing `ts` from a pipe (a pipe is read once; a file is read twice). */
async function ffmpegDebugLog(ts: Uint8Array): Promise<string> {
  const { success, stderr: log } = await runToEnd("ffmpeg", [
    "-hide_banner",
    "-nostdin",
    "-loglevel",
    "debug",
    "-f",
    "mpegts",
    "-i",
    "pipe:0",
    "-f",
    "null",
    "-",
  ], { input: ts, stdout: "null", timeoutMs: 60_000 });
  assert.ok(success, log.slice(-2000));
  return log;
}

function count(log: string, needle: string): number {
  return log.split("\n").filter((line) => line.includes(needle)).length;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

await peerTest({
  name: "ffmpeg and the analyser agree on continuity and transport errors of an impaired stream",
  peers: ["ffmpeg"],
  netns: false,
  async fn() {
    const run = muxRun({
      bitrate: 1_500_000,
      faults: {
        ccSkips: { atMs: 800, count: 23, everyMs: 190 },
        transportErrors: { atMs: 900, count: 11, everyMs: 310 },
      },
    }, 8);
    // RTP loss on top: whole datagrams of 7 packets dropped, the analyser told of each gap.
    const random = mulberry32(2250);
    const kept: Uint8Array[] = [];
    const analyser = new TsAnalyser();
    let gap = false;
    run.datagrams.forEach((d, i) => {
      if (i > 10 && random() < 0.03) {
        gap = true;
        return;
      }
      kept.push(d);
      analyser.feed(d, run.timesMs[i]!, gap);
      gap = false;
    });
    const s = analyser.snapshot(run.timesMs.at(-1)!);
    const log = await ffmpegDebugLog(concat(kept));
    const ffmpegCc = count(log, "Continuity check failed");
    const ffmpegTei = count(log, "TEI flag set");
    assert.ok(
      ffmpegCc > run.truth.ccErrors,
      `loss added errors: ${ffmpegCc} > ${run.truth.ccErrors}`,
    );
    assert.equal(s.ccErrors, ffmpegCc, "1.4 Continuity_count_error");
    assert.ok(s.ccErrorsWithoutRtpLoss! <= run.truth.ccErrors && s.ccErrorsWithoutRtpLoss! > 0);
    // TEI packets lost with their datagram are seen by neither.
    assert.equal(s.transportErrors, ffmpegTei, "2.1 Transport_error");
    assert.ok(ffmpegTei > 0);
  },
});

await peerTest({
  name: "ffmpeg counts exactly the injected continuity faults when nothing is lost",
  peers: ["ffmpeg"],
  netns: false,
  async fn() {
    const run = muxRun({
      bitrate: 2_000_000,
      faults: { ccSkips: { atMs: 500, count: 32, everyMs: 120 } },
    }, 5);
    const analyser = new TsAnalyser();
    run.datagrams.forEach((d, i) => analyser.feed(d, run.timesMs[i]!));
    const s = analyser.snapshot(5000);
    const log = await ffmpegDebugLog(concat(run.datagrams));
    assert.equal(count(log, "Continuity check failed"), 32);
    assert.equal(run.truth.ccErrors, 32);
    assert.equal(s.ccErrors, 32);
    assert.equal(s.ccErrorsWithoutRtpLoss, 32);
  },
});

await peerTest({
  name: "ffprobe -show_programs and the analyser agree on the services and their names",
  peers: ["ffmpeg"],
  netns: false,
  async fn() {
    const serviceName = "Café Télé 24";
    const providerName = "Ünïcode Broadcasting";
    const run = muxRun({ bitrate: 1_000_000, sdt: { serviceName, providerName } }, 3);
    const analyser = new TsAnalyser();
    run.datagrams.forEach((d, i) => analyser.feed(d, run.timesMs[i]!));
    const services = analyser.snapshot(3000).services;
    const path = await Deno.makeTempFile({ suffix: ".ts" });
    try {
      await Deno.writeFile(path, concat(run.datagrams));
      const { programs } = await ffprobeUrl(path, { programs: true });
      assert.deepEqual(
        services.map((s) => [s.number, s.pmtPid, s.pcrPid, s.name, s.provider]),
        programs.map((
          p,
        ) => [p.program_num, p.pmt_pid, p.pcr_pid, p.tags?.service_name, p.tags?.service_provider]),
      );
      assert.deepEqual(services.map((s) => s.name), [serviceName]);
      assert.equal(services[0]!.pmtPid, TS_LAYOUT.PMT_PID);
    } finally {
      await Deno.remove(path);
    }
  },
});
