// Proves the third-party peer recipes of tests/support/peers.ts inside the test network namespace:
// VLC, ffmpeg and GStreamer send RTP (RFC 3550) to a multicast group, read here with a plain socket;
// ffprobe and VLC open SDP files (RFC 8866) for MPEG-TS (RFC 2250) and H.264 (RFC 6184) streams.

import assert from "node:assert/strict";
import { randomRtpPort } from "../../scripts/support/endpoints.ts";
import { Collector } from "../support/multicast_collector.ts";
import * as peers from "../support/peers.ts";
import { peerTest } from "../support/peer_requirements.ts";
import { waitUntil } from "../../scripts/support/poll.ts";

const GROUP = "239.0.0.1";
const TS_PACKET = 188;
const testdata = new URL("../testdata/", import.meta.url);

/** A scratch directory removed by `await using`. */
async function tempDir(): Promise<{ path: string } & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix: "peers-test-" });
  return { path, [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }) };
}

/**
 * Makes a scratch directory with a test clip of `seconds` in it (peers.makeClip); `await using`
 * removes the directory.
 */
async function clipFixture(
  seconds: number,
): Promise<{ dir: string; clip: string } & AsyncDisposable> {
  const dir = await tempDir();
  return { dir: dir.path, clip: await peers.makeClip(dir.path, { seconds }), ...dir };
}

/**
 * Streams the fixture's clip to GROUP on a random port, as MPEG-TS from VLC (PT 33, one SSRC) or
 * H.264 from ffmpeg (PT 96), with a minimal SDP file describing it; `await using` stops the peer.
 */
async function streamWithSdp(
  fixture: { dir: string; clip: string },
  kind: "mp2t" | "h264",
): Promise<{ sdpFile: string } & AsyncDisposable> {
  const port = randomRtpPort();
  const sdpFile = `${fixture.dir}/${kind}.sdp`;
  const [payloadType, rtpmap] = kind === "mp2t" ? [33, "MP2T/90000"] : [96, "H264/90000"];
  await Deno.writeTextFile(sdpFile, sdpFor(port, payloadType, rtpmap));
  const peer = kind === "mp2t"
    ? await peers.startVlcRtp({ file: fixture.clip, group: GROUP, port, soutKeep: true })
    : peers.startFfmpegH264Rtp({ file: fixture.clip, group: GROUP, port });
  return { sdpFile, [Symbol.asyncDispose]: () => peer.stop() };
}

/** Fixed RTP header fields of one received datagram, with what the tests check of its payload. */
interface ReceivedPacket {
  readonly version: number;
  readonly marker: boolean;
  readonly payloadType: number;
  readonly sequenceNumber: number;
  readonly timestamp: number;
  readonly ssrc: number;
  /** Datagram length, header included. */
  readonly length: number;
  /** performance.now() at arrival. */
  readonly arrivalMs: number;
  /** First payload byte. */
  readonly firstPayloadByte: number;
  /** The payload is whole 188-byte TS packets, each starting with the sync byte 0x47. */
  readonly wholeTsPackets: boolean;
}

/*
 * RFC 3550 §5.1 fixed header (the peers here send no CSRC, extension or padding):
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |V=2|P|X|  CC   |M|     PT      |       sequence number         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                           timestamp                           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |           synchronization source (SSRC) identifier            |
 * +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 */
function readPacket(datagram: Uint8Array, arrivalMs: number): ReceivedPacket {
  if (datagram.byteLength < 13) {
    throw new RangeError(`Datagram of ${datagram.byteLength} bytes is too short for RTP`);
  }
  const view = new DataView(datagram.buffer, datagram.byteOffset, datagram.byteLength);
  const b0 = view.getUint8(0);
  const b1 = view.getUint8(1);
  const payload = datagram.subarray(12);
  let wholeTsPackets = payload.byteLength % TS_PACKET === 0;
  for (let at = 0; wholeTsPackets && at < payload.byteLength; at += TS_PACKET) {
    wholeTsPackets = payload[at] === 0x47;
  }
  return {
    version: b0 >> 6,
    marker: (b1 & 0x80) !== 0,
    payloadType: b1 & 0x7f,
    sequenceNumber: view.getUint16(2),
    timestamp: view.getUint32(4),
    ssrc: view.getUint32(8),
    length: datagram.byteLength,
    arrivalMs,
    firstPayloadByte: payload[0]!,
    wholeTsPackets,
  };
}

/** The collector's datagrams as RTP packets (what the tests check of them). */
function packets(rtp: Collector): ReceivedPacket[] {
  return rtp.datagrams.map((d, i) => readPacket(d, rtp.arrivalMs[i]!));
}

/** Set of SSRCs the collector saw. */
function ssrcs(rtp: Collector): Set<number> {
  return new Set(packets(rtp).map((p) => p.ssrc));
}

/** Sequence numbers that do not follow their predecessor (mod 2^16). */
function sequenceBreaks(packets: readonly ReceivedPacket[]): number {
  let breaks = 0;
  for (let i = 1; i < packets.length; i++) {
    if (packets[i]!.sequenceNumber !== ((packets[i - 1]!.sequenceNumber + 1) & 0xffff)) breaks++;
  }
  return breaks;
}

/** RTP timestamp ticks per second of arrival time, from the first to the last packet. */
function timestampRate(packets: readonly ReceivedPacket[]): number {
  const first = packets[0]!;
  const last = packets.at(-1)!;
  return ((last.timestamp - first.timestamp) >>> 0) / ((last.arrivalMs - first.arrivalMs) / 1000);
}

/** A minimal SDP in RFC 8866 line order (VLC's parser rejects any other order). */
function sdpFor(port: number, payloadType: number, rtpmap: string): string {
  return [
    "v=0",
    "o=- 1 1 IN IP4 127.0.0.1",
    "s=peers_test",
    `c=IN IP4 ${GROUP}/1`,
    "t=0 0",
    `m=video ${port} RTP/AVP ${payloadType}`,
    `a=rtpmap:${payloadType} ${rtpmap}`,
    "",
  ].join("\r\n");
}

/** The SDP with its o= line and the media port made comparable across runs. */
function normaliseSdp(sdp: string, port: number): string {
  return sdp.replace(/^o=.*$/m, "o=ORIGIN").replace(
    new RegExp(`^m=(\\w+) ${port} `, "m"),
    "m=$1 PORT ",
  );
}

await peerTest({
  name: "makeClip() writes an H.264 + AAC MP4 of the asked duration in well under 2 s",
  peers: ["ffmpeg"],
  async fn() {
    await using dir = await tempDir();
    const started = performance.now();
    const clip = await peers.makeClip(dir.path, { seconds: 4 });
    const elapsed = performance.now() - started;
    const probe = await peers.ffprobeUrl(clip);
    assert.deepEqual(probe.streams.map((s) => [s.codec_type, s.codec_name]), [
      ["video", "h264"],
      ["audio", "aac"],
    ]);
    assert.equal(probe.streams[0]?.width, 320);
    assert.ok(Math.abs(Number(probe.streams[0]?.duration) - 4) < 0.1, "video lasts 4 s");
    assert.ok(elapsed < 5_000, `makeClip() took ${elapsed} ms`);
  },
});

await peerTest({
  name: "VLC's verbatim rtp sout sends 1328-byte PT 33 MPEG-TS packets from one SSRC",
  peers: ["vlc"],
  async fn() {
    await using fixture = await clipFixture(4);
    const { clip } = fixture;
    const port = randomRtpPort();
    await using rtp = await Collector.open(GROUP, port);
    const sdpFile = `${fixture.dir}/vlc.sdp`;
    await using vlc = await peers.startVlcRtp({ file: clip, group: GROUP, port, sdpFile });
    assert.equal(vlc.sout, `#rtp{dst=${GROUP},port=${port},mux=ts,sdp=file://${sdpFile}}`);
    const expected = await Deno.readTextFile(new URL("vlc_mp2t.sdp", testdata));
    assert.equal(normaliseSdp(await vlc.readSdp(), port), normaliseSdp(expected, 5004));
    // One loop pass of a 4 s clip lasts ~2.9 s; 30 packets (~1 s) stay within the first.
    await waitUntil(() => packets(rtp).length >= 30, 8_000, "30 packets from VLC");
    const first = packets(rtp).slice(0, 30);
    for (const p of first) {
      assert.equal(p.version, 2);
      assert.equal(p.payloadType, 33);
      assert.equal(p.length, 7 * TS_PACKET + 12);
      assert.ok(p.wholeTsPackets, "payload is 7 TS packets starting with 0x47");
    }
    assert.equal(new Set(first.map((p) => p.ssrc)).size, 1);
    assert.equal(sequenceBreaks(first), 0);
    const rate = timestampRate(first);
    assert.ok(rate > 70_000 && rate < 110_000, `RTP clock ~90 kHz, measured ${rate}`);
  },
});

await peerTest({
  name: "VLC --loop starts a new SSRC on every pass, --sout-keep keeps one",
  peers: ["vlc"],
  async fn() {
    await using fixture = await clipFixture(2);
    const { clip } = fixture;
    const port = randomRtpPort();
    await using plain = await Collector.open(GROUP, port);
    await using kept = await Collector.open(GROUP, port + 2);
    await using _vlc1 = await peers.startVlcRtp({ file: clip, group: GROUP, port });
    await using _vlc2 = await peers.startVlcRtp({
      file: clip,
      group: GROUP,
      port: port + 2,
      soutKeep: true,
    });
    // A pass of a 2 s clip lasts ~0.9 s.
    await waitUntil(
      () => ssrcs(plain).size >= 3 && kept.spanMs() >= 2_500,
      10_000,
      "three loop passes",
    );
    assert.equal(ssrcs(kept).size, 1);
    assert.equal(sequenceBreaks(packets(kept)), 0);
    assert.ok(ssrcs(plain).size >= 3);
  },
});

await peerTest({
  name: "ffmpeg sends H.264 as PT 96 with a 90 kHz clock, within pkt_size",
  peers: ["ffmpeg"],
  async fn(t) {
    await using fixture = await clipFixture(4);
    const { clip } = fixture;
    const cases = [
      { name: "file copied, default pkt_size", pktSize: undefined, maxLength: 1472, file: clip },
      { name: "file copied, pkt_size=1000", pktSize: 1000, maxLength: 1000, file: clip },
      { name: "lavfi encoded by libx264", pktSize: undefined, maxLength: 1472, file: undefined },
    ];
    await using stack = new AsyncDisposableStack();
    const running: {
      name: string;
      maxLength: number;
      port: number;
      rtp: Collector;
      ffmpeg: peers.FfmpegRtpSender;
    }[] = [];
    for (const [i, c] of cases.entries()) {
      const port = randomRtpPort() + 2 * i;
      const rtp = stack.use(await Collector.open(GROUP, port));
      const ffmpeg = stack.use(peers.startFfmpegH264Rtp({
        file: c.file,
        group: GROUP,
        port,
        pktSize: c.pktSize,
        ssrc: 0xdeadbeef,
        sdpFile: `${fixture.dir}/ffmpeg${i}.sdp`,
      }));
      running.push({ name: c.name, maxLength: c.maxLength, port, rtp, ffmpeg });
    }
    await waitUntil(
      () => running.every((r) => r.rtp.spanMs() >= 1_500),
      8_000,
      "1.5 s of packets from every ffmpeg",
    );
    for (const r of running) {
      await t.step(r.name, async () => {
        const sdp = await r.ffmpeg.readSdp();
        assert.match(sdp, new RegExp(`^c=IN IP4 ${GROUP}\\r?$`, "m"), "ttl=0 writes no /ttl");
        assert.match(sdp, new RegExp(`^m=video ${r.port} RTP/AVP 96\\r?$`, "m"));
        assert.match(sdp, /^a=rtpmap:96 H264\/90000\r?$/m);
        const received = packets(r.rtp);
        assert.ok(received.every((p) => p.version === 2 && p.payloadType === 96));
        assert.deepEqual([...ssrcs(r.rtp)], [0xdeadbeef]);
        assert.equal(sequenceBreaks(received), 0);
        assert.ok(Math.max(...received.map((p) => p.length)) <= r.maxLength);
        assert.ok(received.some((p) => p.marker), "marker bit ends each frame");
        // NAL unit types 1-23 single, 24 STAP-A, 28 FU-A (RFC 6184 §5.2).
        assert.ok(
          received.every((p) => [1, 5, 6, 7, 8, 24, 28].includes(p.firstPayloadByte & 0x1f)),
        );
        const rate = timestampRate(received);
        assert.ok(Math.abs(rate - 90_000) < 9_000, `RTP clock ~90 kHz, measured ${rate}`);
      });
    }
  },
});

await peerTest({
  name: "GStreamer's MPEG-TS over RTP arrives packet for packet as counted by the sender",
  peers: ["gst"],
  async fn() {
    const port = randomRtpPort();
    await using rtp = await Collector.open(GROUP, port);
    await using gst = await peers.startGstMpegTs({
      group: GROUP,
      port,
      numBuffers: 50,
      audio: true,
    });
    const { code, sentPackets } = await gst.finished({ timeoutMs: 12_000 });
    assert.equal(code, 0, gst.stderr());
    assert.ok(sentPackets > 20, `sent ${sentPackets} packets`);
    await waitUntil(() => packets(rtp).length >= sentPackets, 2_000, `${sentPackets} packets`);
    assert.equal(packets(rtp).length, sentPackets);
    assert.deepEqual([...ssrcs(rtp)], [gst.ssrc]);
    assert.equal(packets(rtp)[0]?.sequenceNumber, gst.seqnumOffset);
    assert.equal(sequenceBreaks(packets(rtp)), 0);
    for (const p of packets(rtp)) {
      assert.equal(p.payloadType, 33);
      assert.equal(p.length, 7 * TS_PACKET + 12);
      assert.ok(p.wholeTsPackets);
    }
  },
});

await peerTest({
  name: "ffprobe finds the programme's streams through an SDP file while the peer streams",
  peers: ["ffmpeg", "vlc"],
  async fn(t) {
    await using fixture = await clipFixture(4);

    await t.step("VLC MPEG-TS (PT 33): H.264 video and AAC audio", async () => {
      await using stream = await streamWithSdp(fixture, "mp2t");
      const probe = await peers.ffprobeUrl(stream.sdpFile, { timeoutS: 10 });
      const found = probe.streams.map((s) => `${s.codec_type}:${s.codec_name}`).sort();
      assert.deepEqual(found, ["audio:aac", "video:h264"]);
    });

    await t.step("ffmpeg H.264 (PT 96) with no sprop-parameter-sets: video 320x240", async () => {
      await using stream = await streamWithSdp(fixture, "h264");
      const probe = await peers.ffprobeUrl(stream.sdpFile, { timeoutS: 10 });
      assert.equal(probe.streams.length, 1);
      assert.equal(probe.streams[0]?.codec_name, "h264");
      assert.equal(probe.streams[0]?.width, 320);
      assert.equal(probe.streams[0]?.height, 240);
    });

    await t.step("nobody streaming: PeerError after the timeout", async () => {
      const sdpFile = `${fixture.dir}/silent.sdp`;
      await Deno.writeTextFile(sdpFile, sdpFor(randomRtpPort(), 33, "MP2T/90000"));
      await assert.rejects(peers.ffprobeUrl(sdpFile, { timeoutS: 2 }), peers.PeerError);
    });
  },
});

await peerTest({
  name: "vlcPlayUrl() plays an MP2T SDP file, and tells H.264 SDP and missing files apart",
  peers: ["ffmpeg", "vlc"],
  async fn(t) {
    await using fixture = await clipFixture(4);

    await t.step("MP2T SDP from a VLC sender: a picture is decoded", async () => {
      await using stream = await streamWithSdp(fixture, "mp2t");
      const result = await peers.vlcPlayUrl(stream.sdpFile, { runTimeS: 8 });
      assert.ok(result.played, result.errors.join("\n") || result.stderr.slice(-2_000));
      assert.equal(result.openFailed, false);
      assert.equal(result.code, 0);
    });

    await t.step("H.264 SDP: Debian's VLC (no live555) decodes nothing", async () => {
      await using stream = await streamWithSdp(fixture, "h264");
      const result = await peers.vlcPlayUrl(stream.sdpFile, { runTimeS: 3 });
      assert.equal(result.played, false);
      assert.equal(result.firstPictureMs, undefined);
    });

    await t.step("missing file: open failure, exit code still 0", async () => {
      const result = await peers.vlcPlayUrl(`${fixture.dir}/missing.sdp`, { runTimeS: 5 });
      assert.equal(result.openFailed, true);
      assert.equal(result.played, false);
      assert.equal(result.code, 0);
    });
  },
});
