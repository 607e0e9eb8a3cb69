// The real server (server.ts under its permission set) against real peers inside the test namespace:
// ffprobe's SAP demuxer opens what `--sap` announces (and the deletion comes at shutdown); with
// `--sap-listen` the catalog lists what VLC (`#rtp{...,sap}`, `#std{access=udp,...,sap}`) and
// `ffmpeg -f sap` announce, serves their .sdp and answers offers; VLC plays the first entry of
// /playlist.m3u and a raw-UDP stream from its .sdp (`m=video PORT udp mpeg`).
import assert from "node:assert/strict";
import type { DirectoryEvent } from "../../lib/sap/directory.ts";
import { SapListener } from "../../lib/sap/listener.ts";
import { buildOffer } from "../../lib/sdp/offer.ts";
import { parseSdp } from "../../lib/sdp/parse.ts";
import { readReceiveTarget } from "../../lib/sdp/receive_target.ts";
import { sendRtpStream } from "../../lib/source/rtp_source.ts";
import { randomRtpPort } from "../../scripts/support/endpoints.ts";
import { waitUntil } from "../../scripts/support/poll.ts";
import { Child, runToEnd } from "../../scripts/support/process.ts";
import { startServer, startStreamServer } from "../../scripts/support/server_process.ts";
import { peerStep, peerTest } from "../support/peer_requirements.ts";
import {
  ffprobeUrl,
  makeClip,
  startFfmpegMpegTsUdp,
  startVlcRtp,
  startVlcSapDiscovery,
  startVlcUdp,
  vlcPlayUrl,
} from "../support/peers.ts";

let clipPromise: Promise<string> | undefined;
/** A 12 s H.264 + AAC clip shared by the tests of this file (left for the OS to clean). */
function clip(): Promise<string> {
  clipPromise ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "discovery-peers-" });
    return await makeClip(dir, { seconds: 12 });
  })();
  return clipPromise;
}

/** Writes a catalog file of `streams` (default the first) and returns its path. */
async function catalogFile(streams: readonly Record<string, unknown>[]): Promise<string> {
  const path = await Deno.makeTempFile({ prefix: "discovery-catalog-", suffix: ".json" });
  await Deno.writeTextFile(path, JSON.stringify({ streams }));
  return path;
}

/** The test source's MPEG-TS over RTP to group:port until disposed. */
function startSource(group: string, port: number): AsyncDisposable {
  const stop = new AbortController();
  const sending = sendRtpStream({ group, port, ttl: 0, durationS: 60, signal: stop.signal });
  return {
    async [Symbol.asyncDispose]() {
      stop.abort();
      await sending;
    },
  };
}

/** A stream of GET /streams. */
interface CatalogStream {
  name: string;
  description: string;
  address: string;
  port: number;
  transport: string;
  origin: string;
  announcedBy?: string;
  formats: { payloadType: number; encoding: string }[];
}

async function catalogOf(url: string): Promise<Map<string, CatalogStream>> {
  const body = await (await fetch(`${url}/streams`)).json() as { streams: CatalogStream[] };
  return new Map(body.streams.map((s) => [s.name, s]));
}

await peerTest({
  name:
    "ffprobe sap://224.2.127.254 opens the stream the real server announces with --sap; it is deleted at shutdown",
  peers: ["ffmpeg"],
  async fn() {
    const port = randomRtpPort();
    await using _source = startSource("239.0.0.1", port);
    const events: DirectoryEvent[] = [];
    await using observer = await SapListener.open({ onEvent: (e) => events.push(e) });
    const server = await startStreamServer("239.0.0.1", port, ["--sap", "--sap-interval", "1"]);
    try {
      const { streams } = await ffprobeUrl("sap://224.2.127.254", { timeoutS: 15 });
      // The test source: one MPEG audio stream, 48 kHz mono.
      assert.equal(streams.length, 1, JSON.stringify(streams));
      assert.equal(streams[0]!.codec_type, "audio");
      assert.equal(streams[0]!.sample_rate, "48000");
      const [session] = observer.snapshot().sessions;
      assert.equal(session?.name, "default");
      assert.equal(session?.origin, "127.0.0.1", "the origin is the server's --host");
      assert.equal(session?.port, port);
      assert.match(session?.tool ?? "", /^rtp-multicast-gateway/);
      assert.ok(
        server.logs.some((r) => /RFC 2974 gives it no SAP group/.test(String(r.message))),
        "the 239.0.0.0/8 fallback is logged",
      );
    } finally {
      const status = await server.stop("SIGTERM");
      assert.equal(status.code, 0);
    }
    await waitUntil(() => events.some((e) => e.type === "deleted"), 3000, "the deletion");
    assert.equal(observer.snapshot().sessions.length, 0);
  },
});

await peerTest({
  name:
    "--sap-listen: the real server lists what VLC (RTP and raw UDP) and ffmpeg -f sap announce, serves their .sdp, answers offers",
  peers: ["vlc", "ffmpeg"],
  async fn(t) {
    const [rtpPort, udpPort, ffPort] = [randomRtpPort(), randomRtpPort(), randomRtpPort()];
    await using server = await startServer(["--sap-listen"]);
    await using _vlc = await startVlcRtp({
      file: await clip(),
      group: "239.255.0.51",
      port: rtpPort,
      sap: { name: "vlcnews", description: "From VLC" },
    });
    await using _vlcRaw = await startVlcUdp({
      file: await clip(),
      group: "239.255.0.52",
      port: udpPort,
      sap: { name: "vlcraw", description: "Raw TS from VLC" },
    });
    const ffmpeg = new Child("ffmpeg", [
      ...["-hide_banner", "-nostdin", "-loglevel", "error", "-re"],
      ...["-f", "lavfi", "-i", "testsrc=size=160x120:rate=10", "-t", "60"],
      ...["-c:v", "libx264", "-preset", "ultrafast", "-metadata", "title=ffcam"],
      ...["-f", "sap", `sap://239.255.0.53:${ffPort}?ttl=1`],
    ], { stdout: "null", stderr: "null" });
    try {
      let catalog = new Map<string, CatalogStream>();
      await waitUntil(
        async () => {
          catalog = await catalogOf(server.url);
          return ["vlcnews", "vlcraw", "ffcam"].every((n) => catalog.has(n));
        },
        20_000,
        "the three announced sessions in GET /streams",
      );
      const vlcnews = catalog.get("vlcnews")!;
      assert.deepEqual(
        [vlcnews.origin, vlcnews.transport, vlcnews.address, vlcnews.port, vlcnews.description],
        ["sap", "rtp", "239.255.0.51", rtpPort, "From VLC"],
      );
      assert.deepEqual(vlcnews.formats.map((f) => f.encoding), ["MP2T"]);
      const vlcraw = catalog.get("vlcraw")!;
      assert.deepEqual([vlcraw.origin, vlcraw.transport, vlcraw.port], ["sap", "udp", udpPort]);
      const ffcam = catalog.get("ffcam")!;
      assert.deepEqual([ffcam.origin, ffcam.address, ffcam.port], ["sap", "239.255.0.53", ffPort]);
      assert.deepEqual(ffcam.formats.map((f) => [f.payloadType, f.encoding]), [[96, "H264"]]);
      assert.equal(catalog.get("default")!.origin, "config");

      await t.step("their .sdp is served like a configured stream's", async () => {
        const raw = parseSdp(await (await fetch(`${server.url}/streams/vlcraw.sdp`)).text());
        assert.deepEqual(
          [raw.media[0]!.port, raw.media[0]!.protocol, raw.media[0]!.formatTokens],
          [udpPort, "udp", ["mpeg"]],
        );
        const news = readReceiveTarget(
          await (await fetch(`${server.url}/streams/vlcnews.sdp`)).text(),
        );
        assert.deepEqual([news.group, news.port], ["239.255.0.51", rtpPort]);
      });
      await peerStep(t, {
        name: "ffprobe opens VLC's stream from the server's .sdp of it",
        peers: ["ffmpeg"],
        async fn() {
          const { streams } = await ffprobeUrl(`${server.url}/streams/vlcnews.sdp`, {
            timeoutS: 15,
          });
          assert.deepEqual(streams.map((s) => s.codec_type).sort(), ["audio", "video"]);
        },
      });
      await t.step("offers for them are answered with the announced group and port", async () => {
        const offer = buildOffer({
          formats: [{ payloadType: 96, encoding: "H264", clockRate: 90000 }],
          group: "239.0.0.1",
          port: 5004,
        });
        const response = await fetch(`${server.url}/streams/ffcam/offer`, {
          method: "POST",
          body: offer,
          headers: { "content-type": "application/sdp" },
        });
        assert.equal(response.status, 200);
        const answer = readReceiveTarget(await response.text());
        assert.deepEqual([answer.group, answer.port], ["239.255.0.53", ffPort]);
      });
    } finally {
      await ffmpeg.stop("SIGINT");
    }
    // ffmpeg sends a deletion as it exits: the stream leaves the catalog.
    await waitUntil(
      async () => !(await catalogOf(server.url)).has("ffcam"),
      5000,
      "ffcam gone after ffmpeg's deletion",
    );
    assert.ok(
      server.logs.some((r) =>
        /Discovered stream \{name\}|Discovered stream vlcnews/.test(String(r.message))
      ),
      JSON.stringify(server.logs.slice(-5)),
    );
  },
});

await peerTest({
  name:
    "VLC's SAP discovery lists every stream the real server announces with --sap, one added by SIGHUP too",
  peers: ["vlc"],
  async fn() {
    // One stream per SAP group VLC listens on for IPv4: 239.0.0.1 has no RFC 2974 scope and is
    // announced on 224.2.127.254 (global), 239.255/16 on 239.255.255.255, 239.192/14 on
    // 239.195.255.255. No media is needed: VLC lists a session from its announcement alone.
    const streams = [
      { name: "news", category: "tv.news", address: "239.0.0.1", port: randomRtpPort() },
      { name: "local", address: "239.255.0.56", port: randomRtpPort() },
      { name: "org", address: "239.192.0.56", port: randomRtpPort() },
    ].map((s) => ({ ...s, description: `${s.name} for VLC`, formats: [{ payloadType: 33 }] }));
    const late = {
      name: "late",
      description: "Added by SIGHUP",
      address: "239.255.0.57",
      port: randomRtpPort(),
      formats: [{ payloadType: 33 }],
    };
    const config = await catalogFile(streams);
    try {
      await using vlc = await startVlcSapDiscovery();
      await using server = await startServer(["--config", config, "--sap", "--sap-interval", "1"]);
      const names = () => [...new Set(vlc.added)].sort();
      await waitUntil(
        () => names().length >= 3,
        15_000,
        "VLC to list news, local and org",
      );
      assert.deepEqual(names(), ["local", "news", "org"]);
      await Deno.writeTextFile(config, JSON.stringify({ streams: [...streams, late] }));
      server.process.kill("SIGHUP");
      await waitUntil(
        () => vlc.added.includes("late"),
        15_000,
        "VLC to list the stream added by SIGHUP",
      );
      assert.deepEqual(names(), ["late", "local", "news", "org"], "each listed once");
      assert.equal(vlc.exited, false, vlc.stderr().slice(-2000));
    } finally {
      await Deno.remove(config);
    }
  },
});

await peerTest({
  name: "VLC opens the real server's /playlist.m3u and plays its first entry",
  peers: ["vlc"],
  async fn() {
    const port = randomRtpPort();
    const config = await catalogFile([
      {
        name: "news",
        description: "News from VLC",
        category: "tv.news",
        address: "239.255.0.54",
        port,
        formats: [{ payloadType: 33 }],
      },
      { name: "raw", address: "239.255.0.55", port: randomRtpPort(), transport: "udp" },
    ]);
    try {
      await using server = await startServer(["--config", config]);
      await using _vlc = await startVlcRtp({ file: await clip(), group: "239.255.0.54", port });
      const playlist = await (await fetch(`${server.url}/playlist.m3u`)).text();
      assert.match(playlist, new RegExp(`^rtp://@239\\.255\\.0\\.54:${port}$`, "m"));
      assert.match(playlist, /^udp:\/\/@239\.255\.0\.55:\d+$/m);
      const result = await vlcPlayUrl(`${server.url}/playlist.m3u`, { runTimeS: 20 });
      assert.ok(result.played, result.errors.join("\n") || result.stderr.slice(-2000));
      assert.match(result.stderr, new RegExp(`rtp://@239\\.255\\.0\\.54:${port}`));
    } finally {
      await Deno.remove(config);
    }
  },
});

await peerTest({
  name:
    "VLC plays a raw-UDP stream (ffmpeg -f mpegts udp://) from the real server's .sdp: m=video PORT udp mpeg",
  peers: ["vlc", "ffmpeg"],
  async fn(t) {
    const port = randomRtpPort();
    await using server = await startServer([
      ...["--multicast-address", "239.255.0.56", "--multicast-port", String(port)],
      ...["--transport", "udp", "--name", "raw"],
    ]);
    await using _ffmpeg = startFfmpegMpegTsUdp({ file: await clip(), group: "239.255.0.56", port });
    const sdp = await (await fetch(`${server.url}/streams/raw.sdp`)).text();
    assert.match(sdp, new RegExp(`^m=video ${port} udp mpeg\\r$`, "m"));
    const result = await vlcPlayUrl(`${server.url}/streams/raw.sdp`, { runTimeS: 20 });
    assert.ok(result.played, result.errors.join("\n") || result.stderr.slice(-2000));
    assert.match(result.stderr, new RegExp(`udp://@239\\.255\\.0\\.56:${port}`));

    await peerStep(t, {
      name:
        "ffprobe reads raw UDP from an SDP only as udp 33 (tests/testdata/udp_mpegts_for_ffmpeg.sdp), VLC's udp mpeg as PCMU",
      peers: ["ffmpeg"],
      async fn() {
        const dir = await Deno.makeTempDir({ prefix: "ffprobe-udp-sdp-" });
        try {
          const fixture = await Deno.readTextFile(
            new URL("../testdata/udp_mpegts_for_ffmpeg.sdp", import.meta.url),
          );
          const forFfmpeg = `${dir}/for_ffmpeg.sdp`;
          await Deno.writeTextFile(
            forFfmpeg,
            fixture.replace("239.255.0.58", "239.255.0.56").replace(" 1234 ", ` ${port} `),
          );
          const read = await ffprobeUrl(forFfmpeg, { timeoutS: 15 });
          assert.deepEqual(read.streams.map((s) => s.codec_type).sort(), ["audio", "video"]);
          const vlcForm = `${dir}/vlc_form.sdp`;
          await Deno.writeTextFile(vlcForm, sdp);
          const misread = await ffprobeUrl(vlcForm, { timeoutS: 15 });
          assert.deepEqual(misread.streams.map((s) => s.codec_name), ["pcm_mulaw"]);
        } finally {
          await Deno.remove(dir, { recursive: true });
        }
      },
    });
    await peerStep(t, {
      name: "ffmpeg writes no SDP for -f mpegts udp:// (so the raw-UDP fixture is VLC's)",
      peers: ["ffmpeg"],
      async fn() {
        const dir = await Deno.makeTempDir({ prefix: "ffmpeg-udp-sdp-" });
        try {
          const output = await runToEnd("ffmpeg", [
            ...["-hide_banner", "-nostdin", "-loglevel", "info", "-i", await clip(), "-t", "1"],
            ...["-c", "copy", "-f", "mpegts", "-sdp_file", `${dir}/out.sdp`],
            `udp://239.255.0.57:${randomRtpPort()}?ttl=0`,
          ], { stdout: "null", timeoutMs: 30_000 });
          assert.notEqual(output.code, 0);
          assert.match(output.stderr, /No output streams in the SDP/);
          await assert.rejects(Deno.stat(`${dir}/out.sdp`), Deno.errors.NotFound);
        } finally {
          await Deno.remove(dir, { recursive: true });
        }
      },
    });
  },
});
