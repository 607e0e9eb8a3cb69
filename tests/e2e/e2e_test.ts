// End-to-end tests against real peers nobody here wrote: VLC, ffmpeg, GStreamer, ffprobe. Run inside
// the private network namespace of scripts/netns_test.sh; ignored elsewhere.
import assert from "node:assert/strict";
import { delay } from "../../lib/common/delay.ts";
import { relayRtpStream } from "../../lib/source/relay.ts";
import { spawnClient, summaries } from "../../scripts/support/client_process.ts";
import { startClientRig } from "../../scripts/support/client_rig.ts";
import { randomRtpPort } from "../../scripts/support/endpoints.ts";
import { runToEnd } from "../../scripts/support/process.ts";
import { startServer, startStreamServer } from "../../scripts/support/server_process.ts";
import * as peers from "../support/peers.ts";
import { peerTest } from "../support/peer_requirements.ts";

let clipPromise: Promise<{ path: string; bitrate: number }> | undefined;
/** One 12 s clip for all tests (a 3 s measurement then stays inside one VLC pass and one SSRC). */
function clip() {
  clipPromise ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "gateway-e2e-" });
    const path = await peers.makeClip(dir, { seconds: 12 });
    const probe = await peers.ffprobeUrl(path);
    const format = await runToEnd("ffprobe", [
      "-v",
      "error",
      "-show_entries",
      "format=bit_rate",
      "-of",
      "default=nw=1:nk=1",
      path,
    ]);
    assert.ok(probe.streams.length >= 2);
    return { path, bitrate: Number(format.stdout.trim()) };
  })();
  return clipPromise;
}

await peerTest({
  name:
    "e2e 1: the original VLC set-up, our server with defaults, our client: PT 33, 0 lost, one SSRC",
  peers: ["vlc", "ffmpeg"],
  async fn() {
    const { path, bitrate } = await clip();
    await using server = await startServer();
    // cvlc clip.mp4 --sout '#rtp{dst=239.0.0.1,port=5004,mux=ts}' --loop (as nobody, TTL 0)
    await using vlc = await peers.startVlcRtp({
      file: path,
      group: "239.0.0.1",
      port: 5004,
      loop: true,
    });
    assert.equal(vlc.sout, "#rtp{dst=239.0.0.1,port=5004,mux=ts}");
    const result = await spawnClient([
      "--server",
      server.url,
      "--json",
      "--duration",
      "3",
      "--timeout",
      "10",
    ])
      .finished();
    assert.equal(result.code, 0, result.stderr);
    const list = summaries(result.records);
    assert.equal(list.length, 1, `one SSRC: ${JSON.stringify(list)}`);
    const [s] = list;
    assert.equal(s!.payloadType, 33);
    assert.equal(s!.lost, 0);
    assert.equal(s!.invalid, 0);
    // MPEG-TS adds 5-30 % to the media rate; VLC paces by PCR, so allow a wide but meaningful band.
    const rate = s!.bitrateBps as number;
    assert.ok(
      rate > bitrate * 0.5 && rate < bitrate * 2.5,
      `TS ${rate} bit/s vs clip ${bitrate} bit/s`,
    );
  },
});

await peerTest({
  name: "e2e 2: ffmpeg sends H.264 over RTP (PT 96); the client reports PT 96 on the 90 kHz clock",
  peers: ["ffmpeg"],
  async fn() {
    const port = randomRtpPort();
    await using server = await startStreamServer("239.20.0.2", port, [
      "--payload-type",
      "96",
      "--encoding",
      "H264/90000",
    ]);
    await using ffmpeg = peers.startFfmpegH264Rtp({ group: "239.20.0.2", port, payloadType: 96 });
    const result = await spawnClient(["--server", server.url, "--json", "--duration", "2.5"])
      .finished();
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /H264\/90000 \(PT 96\)/);
    const [s] = summaries(result.records);
    assert.equal(s!.payloadType, 96);
    assert.equal(s!.lost, 0);
    assert.equal(s!.unexpectedPayloadType, 0);
    // With the right clock a real-time (-re) sender shows jitter of a few ms, not seconds.
    assert.ok((s!.jitterMs as number) < 40, `jitter ${s!.jitterMs} ms`);
    assert.ok(ffmpeg.pid > 0);
  },
});

await peerTest({
  name: "e2e 3: GStreamer's MPEG-TS stream: the client's count equals what GStreamer sent",
  peers: ["gst"],
  async fn() {
    const port = randomRtpPort();
    await using rig = await startClientRig({
      group: "239.20.0.3",
      port,
      timeoutS: 15,
      stallAfterS: 5,
    });
    await using gst = await peers.startGstMpegTs({
      group: "239.20.0.3",
      port,
      numBuffers: 50,
      audio: true,
    });
    const sent = await gst.finished({ timeoutMs: 20_000 });
    await delay(300);
    const { result } = await rig.finish();
    assert.equal(result.code, 0, result.stderr);
    const [s] = summaries(result.records);
    assert.equal(s!.ssrc, gst.ssrc);
    assert.equal(s!.payloadType, 33);
    assert.equal(s!.packets, sent.sentPackets);
    assert.equal(s!.lost, 0);
    assert.equal(s!.duplicates, 0);
  },
});

await peerTest({
  name: "e2e 4: ffprobe and VLC open the server's .sdp URL while VLC streams",
  peers: ["vlc", "ffmpeg"],
  async fn() {
    const { path } = await clip();
    const port = randomRtpPort();
    await using server = await startStreamServer("239.20.0.4", port, ["--name", "news"]);
    await using _vlc = await peers.startVlcRtp({
      file: path,
      group: "239.20.0.4",
      port,
      loop: true,
    });
    const url = `${server.url}/streams/news.sdp`;
    const probe = await peers.ffprobeUrl(url, { timeoutS: 10 });
    const codecs = probe.streams.map((s) => s.codec_name).sort();
    assert.deepEqual(codecs, ["aac", "h264"]);
    const played = await peers.vlcPlayUrl(url, { runTimeS: 8 });
    assert.ok(played.played, `VLC did not play ${url}: ${played.errors.join("; ")}`);
  },
});

await peerTest({
  name:
    "e2e 5: an impaired relay of a VLC stream: the client's figures equal the relay's truth within 1",
  peers: ["vlc", "ffmpeg"],
  async fn() {
    const { path } = await clip();
    const vlcPort = randomRtpPort();
    const port = vlcPort + 2;
    await using rig = await startClientRig({
      group: "239.20.0.6",
      port,
      timeoutS: 15,
      stallAfterS: 5,
    });
    const stop = new AbortController();
    let ready!: () => void;
    const joined = new Promise<void>((resolve) => (ready = resolve));
    const relay = relayRtpStream({
      from: { group: "239.20.0.5", port: vlcPort },
      to: { group: "239.20.0.6", port },
      loss: 0.03,
      duplicate: 0.02,
      reorder: 0.02,
      seed: 42,
      signal: stop.signal,
      onReady: ready,
    });
    await joined;
    {
      await using _vlc = await peers.startVlcRtp({
        file: path,
        group: "239.20.0.5",
        port: vlcPort,
        loop: false,
      });
      await delay(7000);
    }
    await delay(300);
    stop.abort();
    const truth = await relay;
    await delay(300);
    const { result } = await rig.finish();
    assert.equal(result.code, 0, result.stderr);
    const [s] = summaries(result.records);
    assert.ok(truth.generated > 150, `relayed ${truth.generated}`);
    assert.ok(truth.dropped + truth.duplicated + truth.reordered > 5, "impairments happened");
    const near = (a: unknown, b: number, what: string) =>
      assert.ok(Math.abs((a as number) - b) <= 1, `${what}: client ${a}, truth ${b}`);
    near(s!.lost, truth.lost, "lost");
    near(s!.duplicates, truth.duplicated, "duplicates");
    near(s!.reordered, truth.reordered, "reordered");
  },
});
