// Proves the third-party peer recipes of tests/support/peers.ts inside the test network namespace:
// VLC, ffmpeg and GStreamer send RTP (RFC 3550) to a multicast group, read here with a plain socket;
// ffprobe and VLC open SDP files (RFC 8866) for MPEG-TS (RFC 2250) and H.264 (RFC 6184) streams.

import assert from "node:assert/strict";
import { skipWithout } from "../support/peer_requirements.ts";
import {
  type FfmpegRtpSender,
  ffprobeUrl,
  makeClip,
  PeerError,
  peersAvailable,
  startFfmpegH264Rtp,
  startGstMpegTs,
  startVlcRtp,
  vlcPlayUrl,
} from "../support/peers.ts";

const inNetns = Deno.env.get("GATEWAY_NETNS") === "1";
const GROUP = "239.0.0.1";
const TS_PACKET = 188;
const testdata = new URL("../testdata/", import.meta.url);

/** Fails plainly when a peer is not installed: a missing peer is a set-up defect, not a skip. */
async function requirePeer(peer: "vlc" | "ffmpeg" | "gst"): Promise<void> {
  const available = await peersAvailable();
  const hints = {
    vlc: "VLC (apt-get install vlc)",
    ffmpeg: "ffmpeg and ffprobe (apt-get install ffmpeg)",
    gst: "GStreamer with videotestsrc, h264parse, mpegtsmux, rtpmp2tpay, udpsink and x264enc or " +
      "openh264enc (apt-get install gstreamer1.0-tools gstreamer1.0-plugins-good " +
      "gstreamer1.0-plugins-bad)",
  } as const;
  if (!available[peer]) throw new Error(`${hints[peer]} is not available here`);
}

/** An even port in 20000-59998 (RTP on even, RTCP on the next odd port). */
function randomPort(): number {
  return 20_000 + 2 * (crypto.getRandomValues(new Uint16Array(1))[0]! % 20_000);
}

/** A scratch directory removed by `await using`. */
async function tempDir(): Promise<{ path: string } & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix: "peers-test-" });
  return { path, [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }) };
}

/** Polls `condition` every 20 ms until it holds; throws naming `what` after `timeoutMs`. */
async function waitUntil(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() >= deadline) throw new Error(`Timed out after ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
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

/** Receives RTP on GROUP:port through a socket bound to the group (reuseAddress, joined). */
class RtpCollector implements AsyncDisposable {
  readonly packets: ReceivedPacket[] = [];
  #conn: Deno.DatagramConn;
  #closed = false;
  #loop: Promise<void>;

  private constructor(conn: Deno.DatagramConn) {
    this.#conn = conn;
    this.#loop = this.#receive();
  }

  static async open(group: string, port: number): Promise<RtpCollector> {
    const conn = Deno.listenDatagram({
      transport: "udp",
      hostname: group,
      port,
      reuseAddress: true,
    });
    await conn.joinMulticastV4(group, "0.0.0.0");
    return new RtpCollector(conn);
  }

  async #receive(): Promise<void> {
    const buffer = new Uint8Array(65_536);
    // Bounded: a few seconds of any peer here is far below this.
    while (this.packets.length < 100_000) {
      let datagram: Uint8Array;
      try {
        [datagram] = await this.#conn.receive(buffer);
      } catch (error) {
        if (this.#closed) return;
        throw error;
      }
      this.packets.push(readPacket(datagram, performance.now()));
    }
  }

  /** Set of SSRCs seen. */
  ssrcs(): Set<number> {
    return new Set(this.packets.map((p) => p.ssrc));
  }

  /** Milliseconds between the first and the last arrival. */
  spanMs(): number {
    const first = this.packets[0];
    const last = this.packets.at(-1);
    return first === undefined || last === undefined ? 0 : last.arrivalMs - first.arrivalMs;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.#closed = true;
    this.#conn.close();
    await this.#loop;
  }
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

Deno.test({
  name: "makeClip() writes an H.264 + AAC MP4 of the asked duration in well under 2 s",
  ignore: !inNetns || await skipWithout("ffmpeg"),
  async fn() {
    await requirePeer("ffmpeg");
    await using dir = await tempDir();
    const started = performance.now();
    const clip = await makeClip(dir.path, { seconds: 4 });
    const elapsed = performance.now() - started;
    const probe = await ffprobeUrl(clip);
    assert.deepEqual(probe.streams.map((s) => [s.codec_type, s.codec_name]), [
      ["video", "h264"],
      ["audio", "aac"],
    ]);
    assert.equal(probe.streams[0]?.width, 320);
    assert.ok(Math.abs(Number(probe.streams[0]?.duration) - 4) < 0.1, "video lasts 4 s");
    assert.ok(elapsed < 5_000, `makeClip() took ${elapsed} ms`);
  },
});

Deno.test({
  name: "VLC's verbatim rtp sout sends 1328-byte PT 33 MPEG-TS packets from one SSRC",
  ignore: !inNetns || await skipWithout("vlc", "ffmpeg"),
  async fn() {
    await requirePeer("vlc");
    await using dir = await tempDir();
    const clip = await makeClip(dir.path, { seconds: 4 });
    const port = randomPort();
    await using rtp = await RtpCollector.open(GROUP, port);
    const sdpFile = `${dir.path}/vlc.sdp`;
    await using vlc = await startVlcRtp({ file: clip, group: GROUP, port, sdpFile });
    assert.equal(vlc.sout, `#rtp{dst=${GROUP},port=${port},mux=ts,sdp=file://${sdpFile}}`);
    const expected = await Deno.readTextFile(new URL("vlc_mp2t.sdp", testdata));
    assert.equal(normaliseSdp(await vlc.readSdp(), port), normaliseSdp(expected, 5004));
    // One loop pass of a 4 s clip lasts ~2.9 s; 30 packets (~1 s) stay within the first.
    await waitUntil(() => rtp.packets.length >= 30, 8_000, "30 packets from VLC");
    const packets = rtp.packets.slice(0, 30);
    for (const p of packets) {
      assert.equal(p.version, 2);
      assert.equal(p.payloadType, 33);
      assert.equal(p.length, 7 * TS_PACKET + 12);
      assert.ok(p.wholeTsPackets, "payload is 7 TS packets starting with 0x47");
    }
    assert.equal(new Set(packets.map((p) => p.ssrc)).size, 1);
    assert.equal(sequenceBreaks(packets), 0);
    const rate = timestampRate(packets);
    assert.ok(rate > 70_000 && rate < 110_000, `RTP clock ~90 kHz, measured ${rate}`);
  },
});

Deno.test({
  name: "VLC --loop starts a new SSRC on every pass, --sout-keep keeps one",
  ignore: !inNetns || await skipWithout("vlc", "ffmpeg"),
  async fn() {
    await requirePeer("vlc");
    await using dir = await tempDir();
    const clip = await makeClip(dir.path, { seconds: 2 });
    const port = randomPort();
    await using plain = await RtpCollector.open(GROUP, port);
    await using kept = await RtpCollector.open(GROUP, port + 2);
    await using _vlc1 = await startVlcRtp({ file: clip, group: GROUP, port });
    await using _vlc2 = await startVlcRtp({
      file: clip,
      group: GROUP,
      port: port + 2,
      soutKeep: true,
    });
    // A pass of a 2 s clip lasts ~0.9 s.
    await waitUntil(
      () => plain.ssrcs().size >= 3 && kept.spanMs() >= 2_500,
      10_000,
      "three loop passes",
    );
    assert.equal(kept.ssrcs().size, 1);
    assert.equal(sequenceBreaks(kept.packets), 0);
    assert.ok(plain.ssrcs().size >= 3);
  },
});

Deno.test({
  name: "ffmpeg sends H.264 as PT 96 with a 90 kHz clock, within pkt_size",
  ignore: !inNetns || await skipWithout("ffmpeg"),
  async fn(t) {
    await requirePeer("ffmpeg");
    await using dir = await tempDir();
    const clip = await makeClip(dir.path, { seconds: 4 });
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
      rtp: RtpCollector;
      ffmpeg: FfmpegRtpSender;
    }[] = [];
    for (const [i, c] of cases.entries()) {
      const port = randomPort() + 2 * i;
      const rtp = stack.use(await RtpCollector.open(GROUP, port));
      const ffmpeg = stack.use(startFfmpegH264Rtp({
        file: c.file,
        group: GROUP,
        port,
        pktSize: c.pktSize,
        ssrc: 0xdeadbeef,
        sdpFile: `${dir.path}/ffmpeg${i}.sdp`,
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
        const packets = r.rtp.packets;
        assert.ok(packets.every((p) => p.version === 2 && p.payloadType === 96));
        assert.deepEqual([...r.rtp.ssrcs()], [0xdeadbeef]);
        assert.equal(sequenceBreaks(packets), 0);
        assert.ok(Math.max(...packets.map((p) => p.length)) <= r.maxLength);
        assert.ok(packets.some((p) => p.marker), "marker bit ends each frame");
        // NAL unit types 1-23 single, 24 STAP-A, 28 FU-A (RFC 6184 §5.2).
        assert.ok(
          packets.every((p) => [1, 5, 6, 7, 8, 24, 28].includes(p.firstPayloadByte & 0x1f)),
        );
        const rate = timestampRate(packets);
        assert.ok(Math.abs(rate - 90_000) < 9_000, `RTP clock ~90 kHz, measured ${rate}`);
      });
    }
  },
});

Deno.test({
  name: "GStreamer's MPEG-TS over RTP arrives packet for packet as counted by the sender",
  ignore: !inNetns || await skipWithout("gst"),
  async fn() {
    await requirePeer("gst");
    const port = randomPort();
    await using rtp = await RtpCollector.open(GROUP, port);
    await using gst = await startGstMpegTs({ group: GROUP, port, numBuffers: 50, audio: true });
    const { code, sentPackets } = await gst.finished({ timeoutMs: 12_000 });
    assert.equal(code, 0, gst.stderr());
    assert.ok(sentPackets > 20, `sent ${sentPackets} packets`);
    await waitUntil(() => rtp.packets.length >= sentPackets, 2_000, `${sentPackets} packets`);
    assert.equal(rtp.packets.length, sentPackets);
    assert.deepEqual([...rtp.ssrcs()], [gst.ssrc]);
    assert.equal(rtp.packets[0]?.sequenceNumber, gst.seqnumOffset);
    assert.equal(sequenceBreaks(rtp.packets), 0);
    for (const p of rtp.packets) {
      assert.equal(p.payloadType, 33);
      assert.equal(p.length, 7 * TS_PACKET + 12);
      assert.ok(p.wholeTsPackets);
    }
  },
});

Deno.test({
  name: "ffprobe finds the programme's streams through an SDP file while the peer streams",
  ignore: !inNetns || await skipWithout("vlc", "ffmpeg"),
  async fn(t) {
    await requirePeer("ffmpeg");
    await requirePeer("vlc");
    await using dir = await tempDir();
    const clip = await makeClip(dir.path, { seconds: 4 });

    await t.step("VLC MPEG-TS (PT 33): H.264 video and AAC audio", async () => {
      const port = randomPort();
      const sdpFile = `${dir.path}/mp2t.sdp`;
      await Deno.writeTextFile(sdpFile, sdpFor(port, 33, "MP2T/90000"));
      await using _vlc = await startVlcRtp({ file: clip, group: GROUP, port, soutKeep: true });
      const probe = await ffprobeUrl(sdpFile, { timeoutS: 10 });
      const found = probe.streams.map((s) => `${s.codec_type}:${s.codec_name}`).sort();
      assert.deepEqual(found, ["audio:aac", "video:h264"]);
    });

    await t.step("ffmpeg H.264 (PT 96) with no sprop-parameter-sets: video 320x240", async () => {
      const port = randomPort();
      const sdpFile = `${dir.path}/h264.sdp`;
      await Deno.writeTextFile(sdpFile, sdpFor(port, 96, "H264/90000"));
      await using _ffmpeg = startFfmpegH264Rtp({ file: clip, group: GROUP, port });
      const probe = await ffprobeUrl(sdpFile, { timeoutS: 10 });
      assert.equal(probe.streams.length, 1);
      assert.equal(probe.streams[0]?.codec_name, "h264");
      assert.equal(probe.streams[0]?.width, 320);
      assert.equal(probe.streams[0]?.height, 240);
    });

    await t.step("nobody streaming: PeerError after the timeout", async () => {
      const sdpFile = `${dir.path}/silent.sdp`;
      await Deno.writeTextFile(sdpFile, sdpFor(randomPort(), 33, "MP2T/90000"));
      await assert.rejects(ffprobeUrl(sdpFile, { timeoutS: 2 }), PeerError);
    });
  },
});

Deno.test({
  name: "vlcPlayUrl() plays an MP2T SDP file, and tells H.264 SDP and missing files apart",
  ignore: !inNetns || await skipWithout("vlc", "ffmpeg"),
  async fn(t) {
    await requirePeer("ffmpeg");
    await requirePeer("vlc");
    await using dir = await tempDir();
    const clip = await makeClip(dir.path, { seconds: 4 });

    await t.step("MP2T SDP from a VLC sender: a picture is decoded", async () => {
      const port = randomPort();
      const sdpFile = `${dir.path}/mp2t.sdp`;
      await Deno.writeTextFile(sdpFile, sdpFor(port, 33, "MP2T/90000"));
      await using _vlc = await startVlcRtp({ file: clip, group: GROUP, port, soutKeep: true });
      const result = await vlcPlayUrl(sdpFile, { runTimeS: 8 });
      assert.ok(result.played, result.errors.join("\n") || result.stderr.slice(-2_000));
      assert.equal(result.openFailed, false);
      assert.equal(result.code, 0);
    });

    await t.step("H.264 SDP: Debian's VLC (no live555) decodes nothing", async () => {
      const port = randomPort();
      const sdpFile = `${dir.path}/h264.sdp`;
      await Deno.writeTextFile(sdpFile, sdpFor(port, 96, "H264/90000"));
      await using _ffmpeg = startFfmpegH264Rtp({ file: clip, group: GROUP, port });
      const result = await vlcPlayUrl(sdpFile, { runTimeS: 3 });
      assert.equal(result.played, false);
      assert.equal(result.firstPictureMs, undefined);
    });

    await t.step("missing file: open failure, exit code still 0", async () => {
      const result = await vlcPlayUrl(`${dir.path}/missing.sdp`, { runTimeS: 5 });
      assert.equal(result.openFailed, true);
      assert.equal(result.played, false);
      assert.equal(result.code, 0);
    });
  },
});
