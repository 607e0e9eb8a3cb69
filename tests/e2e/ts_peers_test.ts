// The client's MPEG-TS analysis (ETSI TR 101 290, ISO/IEC 13818-1) against real peers inside the
// test namespace: clean streams from VLC (RTP, RFC 2250, and raw UDP) and ffmpeg (raw UDP) show no
// priority 1 error once the programme is known, with the programme map ffprobe reads; on impaired
// streams (the test source's, with TS faults, and VLC's through the impairing relay) ffmpeg's
// demuxer and the client count the same continuity errors, PID by PID.
//
// Why ffmpeg reads RTP through a pipe here: given the SDP, ffmpeg's own RTP input (rtpdec with
// rtpdec_mpegts, which keeps the rest of a datagram between calls) feeds its TS demuxer packets out
// of order once its reorder queue gives up on a lost packet ("max delay reached"): one run logged
// "expected 11 got 12" then "expected 12 got 13" on one PID, 17 errors against the client's 13.
// Fed the payloads in arrival order through a pipe, the same demuxer agrees with the client PID by
// PID, so the difference is in that RTP layer. Raw UDP ffmpeg reads from the group itself.

import assert from "node:assert/strict";
import { delay } from "../../lib/common/delay.ts";
import { relayRtpStream } from "../../lib/source/relay.ts";
import { sendRtpStream } from "../../lib/source/rtp_source.ts";
import type { TsFaultOptions } from "../../lib/source/ts_faults.ts";
import { STREAM_TYPE } from "../../lib/ts/constants.ts";
import { TR101290_INDICATORS } from "../../lib/ts/tr101290.ts";
import type { TsSnapshot } from "../../lib/ts/ts_report.ts";
import { type ClientResult, spawnClient, summaries } from "../../scripts/support/client_process.ts";
import { randomRtpPort } from "../../scripts/support/endpoints.ts";
import { waitUntil } from "../../scripts/support/poll.ts";
import { FfmpegTsDemux, RtpPayloadRelay } from "../support/ffmpeg_ts_oracle.ts";
import { peerTest } from "../support/peer_requirements.ts";
import {
  type FfprobeResult,
  ffprobeUrl,
  makeClip,
  type PeerProcess,
  startFfmpegMpegTsUdp,
  startVlcRtp,
  startVlcUdp,
} from "../support/peers.ts";

/** The JSON keys of the priority 1 indicators (1.1 to 1.6). */
const PRIORITY_1 = TR101290_INDICATORS.filter((i) => i.priority === 1).map((i) => i.key);

type Priority1 = Record<typeof PRIORITY_1[number], number>;

/** Seconds the client watches each clean peer (the clip lasts longer: no loop seam). */
const WATCH_S = 5;
/** Seconds the client that joins mid-stream watches. */
const LATE_WATCH_S = 3;
const CLIP_S = 10;

/** ISO/IEC 13818-1 Table 2-34 stream_type of ADTS AAC audio (ISO/IEC 13818-7). */
const AAC_ADTS = 0x0f;

/** A scratch directory with a CLIP_S H.264 + AAC clip; `await using` removes it. */
async function clipFixture(): Promise<{ dir: string; clip: string } & AsyncDisposable> {
  const dir = await Deno.makeTempDir({ prefix: "ts-peers-" });
  const remove = () => Deno.remove(dir, { recursive: true });
  try {
    return { dir, clip: await makeClip(dir, { seconds: CLIP_S }), [Symbol.asyncDispose]: remove };
  } catch (error) {
    await remove();
    throw error;
  }
}

/** An SDP file for the client: RTP/AVP 33 (MP2T) or raw MPEG-TS over UDP as VLC writes it. */
async function sdpFile(
  dir: string,
  group: string,
  port: number,
  transport: "rtp" | "udp",
): Promise<string> {
  const media = transport === "rtp"
    ? [`m=video ${port} RTP/AVP 33`, "a=rtpmap:33 MP2T/90000"]
    : [`m=video ${port} udp mpeg`];
  const path = `${dir}/${transport}-${port}.sdp`;
  await Deno.writeTextFile(
    path,
    ["v=0", "o=- 1 1 IN IP4 127.0.0.1", "s=tspeers", `c=IN IP4 ${group}/1`, "t=0 0", ...media, ""]
      .join("\r\n"),
  );
  return path;
}

/** The priority 1 counts of a `ts` object. */
function priority1(ts: TsSnapshot): Priority1 {
  return Object.fromEntries(PRIORITY_1.map((key) => [key, ts[key]])) as Priority1;
}

function sum(counts: readonly Priority1[]): Priority1 {
  return Object.fromEntries(
    PRIORITY_1.map((key) => [key, counts.reduce((n, c) => n + c[key], 0)]),
  ) as Priority1;
}

/** What one clean-peer run showed. */
interface CleanRun {
  /** Index of the first stats record with packets whose PID table has an elementary stream. */
  readonly firstPmtInterval: number;
  readonly intervals: number;
  /** Priority 1 counts of the intervals up to and including the first PMT's. */
  readonly beforeFirstPmt: Priority1;
  /** Priority 1 counts after it: the summary's minus {@link beforeFirstPmt}. */
  readonly afterFirstPmt: Priority1;
  readonly summary: Record<string, unknown>;
  readonly ts: TsSnapshot;
}

/**
 * "After the first PAT/PMT", precisely: a client's stats records (one per --interval, interval
 * figures) are split at the first one whose PID table holds an elementary stream (a video or audio
 * role, which only a parsed PMT gives, and a PMT only follows a PAT). That record and those before
 * it may hold start-up errors (a client joining mid-stream sees packets before the tables); the
 * summary's priority 1 totals minus theirs (every later interval, and the stretch after the last
 * stats record) must be zero. `watchS`: the client's --duration.
 */
function cleanRun(result: ClientResult, transport: "rtp" | "udp", watchS: number): CleanRun {
  assert.equal(result.code, 0, result.stderr);
  const [summary, ...others] = summaries(result.records);
  assert.ok(summary !== undefined && others.length === 0, `one summary: ${result.stdout}`);
  const stats = result.records.filter((r) => r.type === "stats" && (r.packets as number) > 0);
  for (const record of [...stats, summary]) {
    assert.equal(record.transport, transport, `"transport" of ${JSON.stringify(record)}`);
    assert.ok(record.ts !== undefined, `"ts" in ${JSON.stringify(record)}`);
  }
  const tsOf = (r: Record<string, unknown>) => r.ts as TsSnapshot;
  const firstPmtInterval = stats.findIndex((r) =>
    tsOf(r).pids.some((p) => p.role === "video" || p.role === "audio")
  );
  assert.ok(firstPmtInterval >= 0, "a PMT was seen");
  const before = sum(stats.slice(0, firstPmtInterval + 1).map((r) => priority1(tsOf(r))));
  assert.ok(stats.length - firstPmtInterval - 1 >= watchS - 2, "several intervals after the PMT");
  const ts = tsOf(summary);
  // The summary's totals minus the intervals up to the first PMT: the later intervals and the
  // stretch after the last stats record.
  const totals = priority1(ts);
  const after = Object.fromEntries(
    PRIORITY_1.map((key) => [key, totals[key] - before[key]]),
  ) as Priority1;
  return {
    firstPmtInterval,
    intervals: stats.length,
    beforeFirstPmt: before,
    afterFirstPmt: after,
    summary,
    ts,
  };
}

const ZERO: Priority1 = Object.fromEntries(PRIORITY_1.map((k) => [k, 0])) as Priority1;

/**
 * The programme map against ffprobe's reading of the same stream: one service with ffprobe's
 * program number, PMT PID and PCR PID; an H.264 video PID (stream_type 0x1B) and an AAC audio PID
 * (0x0F, ADTS), with ffprobe's stream ids where it gives them (raw UDP; through an SDP, RTP, it
 * gives none).
 */
function assertProgrammeMap(ts: TsSnapshot, probe: FfprobeResult): void {
  const pidOf = (codec: string, role: string) => {
    const stream = probe.streams.find((s) => s.codec_name === codec);
    assert.ok(stream !== undefined, `ffprobe found ${codec}: ${JSON.stringify(probe.streams)}`);
    const ours = ts.pids.find((p) => p.role === role);
    assert.ok(ours !== undefined, `a ${role} PID: ${JSON.stringify(ts.pids)}`);
    return stream.id === undefined ? ours.pid : Number(stream.id);
  };
  const [videoPid, audioPid] = [pidOf("h264", "video"), pidOf("aac", "audio")];
  const streams = ts.pids
    .filter((p) => p.role === "video" || p.role === "audio")
    .map((p) => [p.pid, p.role, p.streamTypeId, p.streamType, p.ccErrors, p.scrambled]);
  assert.deepEqual(
    streams,
    [
      [videoPid, "video", STREAM_TYPE.H264_VIDEO, "H.264 video", 0, false],
      [audioPid, "audio", AAC_ADTS, "AAC audio (ADTS)", 0, false],
    ].sort((a, b) => (a[0] as number) - (b[0] as number)),
  );
  assert.deepEqual(
    ts.services.map((s) => [s.number, s.pmtPid, s.pcrPid]),
    probe.programs.map((p) => [p.program_num, p.pmt_pid, p.pcr_pid]),
  );
  assert.equal(ts.pids.find((p) => p.role === "PMT")?.pid, ts.services[0]?.pmtPid);
  assert.deepEqual(ts.pids.filter((p) => p.pcr).map((p) => p.pid), [ts.services[0]?.pcrPid]);
}

/**
 * Runs the client on `transport`'s SDP for WATCH_S seconds while `start` sends the clip to
 * group:port (the client joins first), a second client that joins mid-stream, once the first one
 * reports packets, for LATE_WATCH_S, and ffprobe on the same stream (`probeUrl`, or the SDP file).
 */
async function watchPeer(options: {
  group: string;
  transport: "rtp" | "udp";
  start: (clip: string, port: number) => Promise<PeerProcess> | PeerProcess;
  probeUrl?: (port: number) => string;
}): Promise<{ run: CleanRun; late: CleanRun; probe: FfprobeResult }> {
  await using fixture = await clipFixture();
  const { dir, clip: file } = fixture;
  const port = randomRtpPort();
  const sdp = await sdpFile(dir, options.group, port, options.transport);
  const joined = new RegExp(`Joined ${options.group.replaceAll(".", "\\.")}`);
  const clients = [spawnClient(["--sdp", sdp, "--json", "--duration", String(WATCH_S)])];
  try {
    await clients[0]!.waitForLog(joined);
    await using _peer = await options.start(file, port);
    // Settled at once, so a failure waits for its await without being an unhandled rejection.
    const probe = ffprobeUrl(options.probeUrl?.(port) ?? sdp, { programs: true, timeoutS: 10 })
      .then((value) => ({ value }), (error: unknown) => ({ error }));
    await waitUntil(
      () => clients[0]!.child.stdout.includes('"state":"receiving"'),
      10_000,
      "the first client receives",
    );
    clients.push(spawnClient(["--sdp", sdp, "--json", "--duration", String(LATE_WATCH_S)]));
    const [result, lateResult] = await Promise.all(clients.map((c) => c.finished()));
    const probed = await probe;
    if ("error" in probed) throw probed.error;
    return {
      run: cleanRun(result!, options.transport, WATCH_S),
      late: cleanRun(lateResult!, options.transport, LATE_WATCH_S),
      probe: probed.value,
    };
  } finally {
    for (const client of clients) {
      client.child.kill("SIGKILL");
      await client.child.status;
    }
  }
}

/** Logs what a clean run saw, for the record of the test run. */
function logRun(name: string, run: CleanRun): void {
  console.log(
    `${name}: first PMT in interval ${run.firstPmtInterval + 1} of ${run.intervals}; ` +
      `P1 up to it ${JSON.stringify(run.beforeFirstPmt)}, after it ${
        JSON.stringify(run.afterFirstPmt)
      }; ts packets ${run.ts.packets}, P2 PCR repetition ${run.ts.pcrRepetitionErrors}`,
  );
}

await peerTest({
  name: "VLC #rtp{mux=ts}: no TR 101 290 priority 1 error after the first PMT, H.264 + AAC mapped",
  peers: ["vlc", "ffmpeg"],
  async fn() {
    const { run, late, probe } = await watchPeer({
      group: "239.31.2.1",
      transport: "rtp",
      start: (file, port) =>
        startVlcRtp({ file, group: "239.31.2.1", port, loop: false, soutKeep: true }),
    });
    logRun("VLC RTP", run);
    logRun("VLC RTP, joined mid-stream", late);
    assert.deepEqual(run.afterFirstPmt, ZERO);
    assert.deepEqual(late.afterFirstPmt, ZERO);
    assert.equal(run.summary.payloadType, 33);
    assert.equal(run.summary.lost, 0);
    assert.equal(typeof run.ts.ccErrorsWithoutRtpLoss, "number", "RTP: attribution is counted");
    assertProgrammeMap(run.ts, probe);
    assertProgrammeMap(late.ts, probe);
  },
});

await peerTest({
  name:
    "VLC #std{access=udp,mux=ts}: raw UDP, no priority 1 error after the first PMT, H.264 + AAC mapped",
  peers: ["vlc", "ffmpeg"],
  async fn() {
    const group = "239.31.2.2";
    const { run, late, probe } = await watchPeer({
      group,
      transport: "udp",
      start: (file, port) => startVlcUdp({ file, group, port, loop: false }),
      probeUrl: (port) => `udp://${group}:${port}`,
    });
    logRun("VLC raw UDP", run);
    logRun("VLC raw UDP, joined mid-stream", late);
    assert.deepEqual(run.afterFirstPmt, ZERO);
    assert.deepEqual(late.afterFirstPmt, ZERO);
    assert.deepEqual([run.summary.ssrc, run.summary.invalid], [null, 0]);
    assert.equal(run.ts.ccErrorsWithoutRtpLoss, null, "raw UDP: no RTP to attribute to");
    assertProgrammeMap(run.ts, probe);
    assertProgrammeMap(late.ts, probe);
  },
});

await peerTest({
  name:
    "ffmpeg -re -f mpegts udp://...?pkt_size=1316: no priority 1 error after the first PMT, mapped",
  peers: ["ffmpeg"],
  async fn() {
    const group = "239.31.2.3";
    const { run, late, probe } = await watchPeer({
      group,
      transport: "udp",
      start: (file, port) => startFfmpegMpegTsUdp({ file, group, port }),
      probeUrl: (port) => `udp://${group}:${port}`,
    });
    logRun("ffmpeg raw UDP", run);
    logRun("ffmpeg raw UDP, joined mid-stream", late);
    assert.deepEqual(run.afterFirstPmt, ZERO);
    assert.deepEqual(late.afterFirstPmt, ZERO);
    assert.deepEqual([run.summary.ssrc, run.summary.invalid], [null, 0]);
    assertProgrammeMap(run.ts, probe);
    assertProgrammeMap(late.ts, probe);
  },
});

/**
 * The impaired stream: continuity counter skips on the audio PID (1.4) and transport error
 * indicators (2.1) in the first 0.8 s, then random datagram loss and reordering (a datagram sent
 * after the next: "wrong order" where both carry a PID) after a clean 200-datagram lead-in
 * (~1.05 s at 2 Mbit/s), so no fault shares a continuity window with an impairment and the truth's
 * upstream count is exact. No duplicates: the client skips RTP duplicates (RFC 3550 A.1), the pipe
 * relay to ffmpeg does not, and ffmpeg counts a packet repeated once as a continuity error where
 * TR 101 290 allows one repeat.
 */
const IMPAIRED = {
  bitrate: 2_000_000,
  durationS: 4,
  tsFaults: {
    ccSkips: { atMs: 300, count: 8, everyMs: 60 },
    transportErrors: { atMs: 330, count: 5, everyMs: 70 },
  } satisfies TsFaultOptions,
  warmup: 200,
  loss: 0.05,
  reorder: 0.02,
} as const;

/** Continuity errors by PID of a `ts` object (PIDs with none left out). */
function ccByPid(ts: TsSnapshot): [number, number][] {
  return ts.pids.filter((p) => p.ccErrors > 0).map((p) => [p.pid, p.ccErrors]);
}

/** UDP sockets of this namespace bound to `port` (/proc/net/udp, local port in hex). */
function socketsOnPort(port: number): number {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  return Deno.readTextFileSync("/proc/net/udp").split("\n").slice(1)
    .filter((line) => line.trim().split(/\s+/)[1]?.endsWith(hex)).length;
}

/** Stops the client with SIGINT once the last datagram had time to arrive; returns its summary. */
async function stopClient(
  client: ReturnType<typeof spawnClient>,
): Promise<Record<string, unknown>> {
  await delay(300);
  client.process.kill("SIGINT");
  const result = await client.finished();
  assert.equal(result.code, 0, result.stderr);
  const [summary, ...others] = summaries(result.records);
  assert.ok(summary !== undefined && others.length === 0, result.stdout);
  return summary;
}

await peerTest({
  name: "ffmpeg (through a pipe) and the client count the same continuity errors of an impaired " +
    "RTP stream; the client puts exactly the injected ones upstream",
  peers: ["ffmpeg"],
  async fn() {
    const group = "239.31.2.4";
    const port = randomRtpPort();
    const dir = await Deno.makeTempDir({ prefix: "ts-peers-cc-" });
    const client = spawnClient(["--sdp", await sdpFile(dir, group, port, "rtp"), "--json"]);
    try {
      await using ffmpeg = new FfmpegTsDemux("pipe:0");
      await client.waitForLog(new RegExp(`Joined ${group.replaceAll(".", "\\.")}`));
      const relay = await RtpPayloadRelay.open(group, port, ffmpeg);
      let truth;
      try {
        truth = await sendRtpStream({ group, port, ...IMPAIRED, seed: 2250 });
        await waitUntil(() => relay.relayed >= truth!.sent, 3_000, `${truth.sent} relayed`);
      } finally {
        await relay.close();
      }
      await ffmpeg.end();
      const [summary, oracle] = await Promise.all([stopClient(client), ffmpeg.finished(15_000)]);
      const ts = summary.ts as TsSnapshot;
      console.log(
        `RTP: truth ${truth.ts.ccErrors} CC faults, ${truth.ts.transportErrors} TEI, ${truth.lost} ` +
          `of ${truth.generated} datagrams lost, ${truth.reordered} late; ffmpeg ` +
          `${oracle.ccErrors} CC, ${oracle.transportErrors} TEI; client ${ts.ccErrors} CC (` +
          `${ts.ccErrorsWithoutRtpLoss} ` +
          `without RTP loss), ${ts.transportErrors} TEI, by PID ${JSON.stringify(ccByPid(ts))}`,
      );
      assert.equal(oracle.code, 0, oracle.tail);
      assert.deepEqual(
        [truth.ts.ccErrors, truth.ts.transportErrors, truth.duplicated],
        [8, 5, 0],
        "the faults happened",
      );
      assert.ok(
        truth.lost >= 10 && truth.reordered >= 3,
        `${truth.lost} lost, ${truth.reordered} late`,
      );
      assert.deepEqual(
        [summary.transport, summary.packets, summary.lost, summary.reordered],
        ["rtp", truth.sent, truth.lost, truth.reordered],
        "every datagram sent reached the client (no socket drops)",
      );
      assert.equal(ts.ccErrors, oracle.ccErrors, "1.4 Continuity_count_error: client = ffmpeg");
      assert.deepEqual(ccByPid(ts), [...oracle.ccErrorsByPid].sort((a, b) => a[0] - b[0]));
      assert.equal(ts.ccErrorsWithoutRtpLoss, truth.ts.ccErrors, "upstream: exactly the faults");
      assert.ok(ts.ccErrors > truth.ts.ccErrors, "the loss broke continuity too (network)");
      assert.deepEqual(
        [ts.transportErrors, oracle.transportErrors],
        [truth.ts.transportErrors, truth.ts.transportErrors],
        "2.1 Transport_error",
      );
    } finally {
      client.child.kill("SIGKILL");
      await client.child.status;
      await Deno.remove(dir, { recursive: true });
    }
  },
});

await peerTest({
  name: "ffmpeg (reading udp:// itself) and the client count the same continuity errors of an " +
    "impaired raw-UDP stream",
  peers: ["ffmpeg"],
  async fn() {
    const group = "239.31.2.5";
    const port = randomRtpPort();
    const dir = await Deno.makeTempDir({ prefix: "ts-peers-cc-" });
    const client = spawnClient(["--sdp", await sdpFile(dir, group, port, "udp"), "--json"]);
    try {
      await client.waitForLog(new RegExp(`Joined ${group.replaceAll(".", "\\.")}`));
      // timeout (µs): ffmpeg ends 2 s after the last datagram.
      await using ffmpeg = new FfmpegTsDemux(`udp://${group}:${port}?timeout=2000000`);
      await waitUntil(() => socketsOnPort(port) >= 2, 5_000, "ffmpeg's socket beside the client's");
      const truth = await sendRtpStream({ group, port, rawUdp: true, ...IMPAIRED, seed: 2251 });
      const [summary, oracle] = await Promise.all([stopClient(client), ffmpeg.finished(15_000)]);
      const ts = summary.ts as TsSnapshot;
      console.log(
        `raw UDP: truth ${truth.ts.ccErrors} CC faults, ${truth.lost} of ${truth.generated} ` +
          `datagrams lost, ${truth.reordered} late; ffmpeg ${oracle.ccErrors} CC, ` +
          `${oracle.transportErrors} TEI (exit ${oracle.code}); client ${ts.ccErrors} CC, ` +
          `${ts.transportErrors} TEI, ${ts.estimatedLostPackets} TS packets estimated lost`,
      );
      assert.equal(oracle.code, 0, oracle.tail);
      assert.deepEqual([truth.ts.ccErrors, truth.ts.transportErrors], [8, 5], "faults happened");
      assert.ok(
        truth.lost >= 10 && truth.reordered >= 3,
        `${truth.lost} lost, ${truth.reordered} late`,
      );
      assert.deepEqual(
        [summary.transport, summary.packets],
        ["udp", truth.sent],
        "every datagram sent reached the client (no socket drops)",
      );
      assert.equal(ts.ccErrors, oracle.ccErrors, "1.4 Continuity_count_error: client = ffmpeg");
      assert.deepEqual(ccByPid(ts), [...oracle.ccErrorsByPid].sort((a, b) => a[0] - b[0]));
      assert.ok(ts.ccErrors > truth.ts.ccErrors, "the loss broke continuity too");
      assert.equal(ts.ccErrorsWithoutRtpLoss, null, "raw UDP: no RTP to attribute to");
      assert.deepEqual([ts.transportErrors, oracle.transportErrors], [5, 5], "2.1");
    } finally {
      client.child.kill("SIGKILL");
      await client.child.status;
      await Deno.remove(dir, { recursive: true });
    }
  },
});

await peerTest({
  name: "ffmpeg (through a pipe) and the client count the same continuity errors of VLC's " +
    "H.264 + AAC stream impaired by the relay; the client puts every one on the network",
  peers: ["vlc", "ffmpeg"],
  async fn() {
    const [vlcGroup, group] = ["239.31.2.6", "239.31.2.7"];
    const [vlcPort, port] = [randomRtpPort(), randomRtpPort()];
    await using fixture = await clipFixture();
    const client = spawnClient(["--sdp", await sdpFile(fixture.dir, group, port, "rtp"), "--json"]);
    try {
      await using ffmpeg = new FfmpegTsDemux("pipe:0");
      await client.waitForLog(new RegExp(`Joined ${group.replaceAll(".", "\\.")}`));
      const pipe = await RtpPayloadRelay.open(group, port, ffmpeg);
      let truth;
      try {
        const { promise: ready, resolve } = Promise.withResolvers<void>();
        // About 5 s of VLC's ~25 datagrams/s; the same seed drops the same datagram indexes.
        const relaying = relayRtpStream({
          from: { group: vlcGroup, port: vlcPort },
          to: { group, port },
          loss: 0.06,
          reorder: 0.02,
          seed: 290,
          packets: 120,
          durationS: 15,
          onReady: resolve,
        });
        relaying.catch(() => {}); // awaited below; no unhandled rejection meanwhile
        await Promise.race([ready, relaying]);
        await using _vlc = await startVlcRtp({
          file: fixture.clip,
          group: vlcGroup,
          port: vlcPort,
          loop: false,
          soutKeep: true,
        });
        truth = await relaying;
        await waitUntil(() => pipe.relayed >= truth!.sent, 3_000, `${truth.sent} relayed`);
      } finally {
        await pipe.close();
      }
      await ffmpeg.end();
      const [summary, oracle] = await Promise.all([stopClient(client), ffmpeg.finished(15_000)]);
      const ts = summary.ts as TsSnapshot;
      console.log(
        `VLC relayed: ${truth.lost} of ${truth.generated} datagrams lost, ${truth.reordered} ` +
          `late; ffmpeg ${oracle.ccErrors} CC; client ${ts.ccErrors} CC ` +
          `(${ts.ccErrorsWithoutRtpLoss} without RTP loss), by PID ${JSON.stringify(ccByPid(ts))}`,
      );
      assert.equal(oracle.code, 0, oracle.tail);
      assert.ok(truth.generated === 120 && truth.lost >= 3, `${truth.lost} of 120 lost`);
      assert.deepEqual(
        [summary.transport, summary.packets, summary.lost, summary.reordered],
        ["rtp", truth.sent, truth.lost, truth.reordered],
        "every datagram relayed reached the client (no socket drops)",
      );
      assert.equal(ts.ccErrors, oracle.ccErrors, "1.4 Continuity_count_error: client = ffmpeg");
      assert.deepEqual(ccByPid(ts), [...oracle.ccErrorsByPid].sort((a, b) => a[0] - b[0]));
      assert.ok(ts.ccErrors > 0, "the loss broke continuity");
      assert.equal(ts.ccErrorsWithoutRtpLoss, 0, "VLC's stream is clean upstream: all network");
    } finally {
      client.child.kill("SIGKILL");
      await client.child.status;
    }
  },
});
