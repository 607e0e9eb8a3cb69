// The client's SAP side (RFC 2974) end to end inside the private network namespace: `--sap NAME`
// joins what the real server (`--sap`), VLC (`#rtp{...,sap,name=...}`, `#std{...,sap}`) and
// `ffmpeg -f sap` announce, with no server asked; an unheard name is exit 3 naming the groups;
// `--discover` lists them and counts the bad packets it ignores.
import assert from "node:assert/strict";
import { deflate } from "../lib/sap/inflate.ts";
import { encodeSapPacket, MAX_SAP_PACKET_BYTES } from "../lib/sap/packet.ts";
import { sendRtpStream } from "../lib/source/rtp_source.ts";
import { runClient, spawnClient, summaries } from "../scripts/support/client_process.ts";
import { randomRtpPort } from "../scripts/support/endpoints.ts";
import { inPrivateNetns } from "../scripts/support/netns.ts";
import { Child } from "../scripts/support/process.ts";
import { startStreamServer } from "../scripts/support/server_process.ts";
import { peerTest } from "./support/peer_requirements.ts";
import { makeClip, startVlcRtp, startVlcUdp } from "./support/peers.ts";

let clipPromise: Promise<string> | undefined;
/** One clip for the VLC tests of this file (left for the OS to clean). */
function clip(): Promise<string> {
  clipPromise ??=
    (async () =>
      await makeClip(await Deno.makeTempDir({ prefix: "client-sap-" }), { seconds: 10 }))();
  return clipPromise;
}

Deno.test({
  name: "--sap NAME joins a stream the real server announces with --sap, no server asked",
  ignore: !inPrivateNetns(),
  async fn() {
    const port = randomRtpPort();
    await using server = await startStreamServer("239.31.2.1", port, [
      ...["--name", "lobby", "--sap", "--sap-interval", "1"],
    ]);
    const stop = new AbortController();
    const sending = sendRtpStream({
      group: "239.31.2.1",
      port,
      bitrate: 1_000_000,
      durationS: 20,
      signal: stop.signal,
    });
    try {
      // --server points nowhere: the announcement alone must be enough.
      const result = await runClient(
        ["--sap", "lobby", "--json", "--packets", "60", "--timeout", "10"],
        { GATEWAY_HTTP_URL: "http://127.0.0.1:9/" },
      );
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /Heard the SAP announcement of "lobby" from 127\.0\.0\.1/);
      const [summary] = summaries(result.records);
      assert.deepEqual([summary?.stream, summary?.group, summary?.port], [
        "lobby",
        "239.31.2.1",
        port,
      ]);
      assert.ok((summary?.packets as number) >= 60, JSON.stringify(summary));
      assert.equal((summary?.ts as { packets: number }).packets > 0, true);
    } finally {
      stop.abort();
      await sending;
      await server.stop();
    }
  },
});

Deno.test({
  name: "--sap NAME that nobody announces: exit 3 naming the groups listened on",
  ignore: !inPrivateNetns(),
  async fn() {
    const result = await runClient(["--sap", "nobody here", "--timeout", "1"]);
    assert.equal(result.code, 3, result.stderr);
    assert.match(
      result.stderr,
      /No SAP announcement of "nobody here" was heard within 1 s on 224\.2\.127\.254, 239\.255\.255\.255, 239\.195\.255\.255.* port 9875 \(no other session either\)/,
    );
  },
});

await peerTest({
  name:
    "--sap NAME joins VLC's #rtp{...,sap,name=...} (MPEG-TS over RTP) and its raw UDP #std{...,sap}",
  peers: ["vlc", "ffmpeg"],
  async fn() {
    const file = await clip();
    const rtpPort = randomRtpPort();
    const udpPort = randomRtpPort();
    await using _rtp = await startVlcRtp({
      file,
      group: "239.255.0.41",
      port: rtpPort,
      sap: { name: "vlcnews", description: "VLC over RTP" },
    });
    await using _udp = await startVlcUdp({
      file,
      group: "239.255.0.42",
      port: udpPort,
      sap: { name: "vlcraw", description: "VLC over UDP" },
    });
    // VLC announces every 5 s: the first announcement may be 5 s away.
    const result = await runClient([
      ...["--sap", "vlcnews", "--sap", "vlcraw", "--json", "--duration", "3", "--timeout", "15"],
    ]);
    assert.equal(result.code, 0, result.stderr);
    const byStream = new Map(summaries(result.records).map((s) => [s.stream, s]));
    const rtp = byStream.get("vlcnews");
    const udp = byStream.get("vlcraw");
    assert.deepEqual([rtp?.transport, rtp?.payloadType, rtp?.port], ["rtp", 33, rtpPort]);
    assert.deepEqual([udp?.transport, udp?.port], ["udp", udpPort]);
    assert.ok((rtp?.packets as number) > 50 && (udp?.packets as number) > 50, result.stdout);
  },
});

await peerTest({
  name: "--sap NAME joins what ffmpeg -f sap announces (H.264 over RTP)",
  peers: ["ffmpeg"],
  async fn() {
    const port = randomRtpPort();
    const ffmpeg = new Child("ffmpeg", [
      ...["-hide_banner", "-nostdin", "-loglevel", "error", "-re"],
      ...["-f", "lavfi", "-i", "testsrc=size=160x120:rate=25", "-t", "30"],
      ...["-c:v", "libx264", "-preset", "ultrafast", "-metadata", "title=ffcam"],
      ...["-f", "sap", `sap://239.255.0.43:${port}?ttl=1`],
    ], { stdout: "null" });
    try {
      const result = await runClient(["--sap", "ffcam", "--json", "--packets", "40"]);
      assert.equal(result.code, 0, result.stderr);
      const [summary] = summaries(result.records);
      assert.deepEqual(
        [summary?.stream, summary?.group, summary?.port, summary?.payloadType],
        ["ffcam", "239.255.0.43", port, 96],
      );
      assert.ok((summary?.packets as number) >= 40);
    } finally {
      await ffmpeg.stop("SIGINT");
    }
  },
});

/** The `--discover --json` records of a run, by type. */
function discoverRecords(stdout: string) {
  const records = stdout.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
  return {
    announcements: records.filter((r) => r.type === "announcement"),
    final: records.find((r) => r.type === "discovery" && r.final === true),
  };
}

await peerTest({
  name: "--discover lists what VLC, ffmpeg and the server announce, once each",
  peers: ["vlc", "ffmpeg"],
  async fn() {
    const port = randomRtpPort();
    await using _server = await startStreamServer("239.31.2.2", port, [
      "--name",
      "fromserver",
      ...["--sap", "--sap-interval", "1"],
    ]);
    await using _vlc = await startVlcRtp({
      file: await clip(),
      group: "239.255.0.44",
      port: randomRtpPort(),
      sap: { name: "fromvlc", description: "Announced by VLC" },
    });
    const ffmpeg = new Child("ffmpeg", [
      ...["-hide_banner", "-nostdin", "-loglevel", "error", "-re"],
      ...["-f", "lavfi", "-i", "testsrc=size=160x120:rate=10", "-t", "30"],
      ...["-c:v", "libx264", "-preset", "ultrafast", "-metadata", "title=fromffmpeg"],
      ...["-f", "sap", `sap://239.255.0.45:${randomRtpPort()}?ttl=1`],
    ], { stdout: "null" });
    try {
      const client = spawnClient(["--discover", "--json", "--duration", "7", "--interval", "0.5"]);
      const result = await client.finished();
      assert.equal(result.code, 0, result.stderr);
      const { announcements, final } = discoverRecords(result.stdout);
      const news = announcements.filter((a) => a.event === "new");
      const names = news.map((a) => a.name).sort();
      // One "new" per session (VLC also announces on IPv6, a session of its own origin).
      assert.deepEqual([...new Set(names)], ["fromffmpeg", "fromserver", "fromvlc"], names.join());
      for (const name of ["fromffmpeg", "fromserver"]) {
        assert.equal(names.filter((n) => n === name).length, 1, `${name}: ${names.join()}`);
      }
      const vlcOrigins = news.filter((a) => a.name === "fromvlc").map((a) => a.origin);
      assert.equal(new Set(vlcOrigins).size, vlcOrigins.length, "one session per VLC origin");
      const server = news.find((a) => a.name === "fromserver");
      assert.deepEqual(
        [server.group, server.port, server.origin, server.transport],
        ["239.31.2.2", port, "127.0.0.1", "rtp"],
      );
      assert.deepEqual(server.formats, ["33 MP2T/90000"]);
      assert.match(news.find((a) => a.name === "fromffmpeg").tool, /^libavformat/);
      assert.match(news.find((a) => a.name === "fromvlc").tool, /^vlc/);
      assert.ok(final !== undefined, result.stdout);
      assert.ok(final.announcements > news.length, "repeats were heard and not listed again");
      assert.ok(final.sessions >= 3);
    } finally {
      await ffmpeg.stop("SIGINT");
    }
  },
});

Deno.test({
  name: "--discover ignores bad SAP packets and counts each kind; a zlib announcement is listed",
  ignore: !inPrivateNetns(),
  async fn() {
    const client = spawnClient(["--discover", "--json", "--duration", "3", "--interval", "0.5"]);
    await client.waitForLog(/Listening for SAP announcements on 224\.2\.127\.254/);
    const sdp = new TextEncoder().encode(
      "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=zipped\r\nc=IN IP4 239.31.2.9/1\r\nt=0 0\r\n" +
        "m=video 5004 RTP/AVP 33\r\n",
    );
    const base = { messageType: "announce", hash: 77, origin: "127.0.0.1" } as const;
    const good = encodeSapPacket({ ...base, payloadType: "application/sdp", payload: sdp });
    const bad: [string, Uint8Array, number][] = [
      ["wrongVersion", Uint8Array.of(0x00, ...good.slice(1)), 3],
      ["truncated", good.slice(0, 6), 2],
      ["huge", Uint8Array.of(...good, ...new Uint8Array(MAX_SAP_PACKET_BYTES)), 2],
      ["encrypted", encodeSapPacket({ ...base, encrypted: true, payload: sdp }), 4],
      [
        "deflateBomb",
        encodeSapPacket({
          ...base,
          compressed: true,
          payload: await deflate(new Uint8Array(1 << 20)),
        }),
        3,
      ],
    ];
    const socket = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
    const to = { transport: "udp", hostname: "224.2.127.254", port: 9875 } as const;
    try {
      for (const [, packet, times] of bad) {
        for (let i = 0; i < times; i++) await socket.send(packet, to);
      }
      const zipped = encodeSapPacket({
        ...base,
        hash: 79,
        compressed: true,
        payload: await deflate(
          Uint8Array.of(...new TextEncoder().encode("application/sdp\0"), ...sdp),
        ),
      });
      await socket.send(zipped, to);
      await socket.send(zipped, to); // a repeat: the same session
    } finally {
      socket.close();
    }
    const result = await client.finished();
    assert.equal(result.code, 0, result.stderr);
    const { announcements, final } = discoverRecords(result.stdout);
    assert.deepEqual(announcements.map((a) => [a.event, a.name, a.hash]), [["new", "zipped", 79]]);
    const expected = Object.fromEntries(bad.map(([kind, , times]) => [kind, times]));
    for (const [kind, count] of Object.entries(expected)) {
      assert.equal(final.ignored[kind], count, kind);
    }
    assert.equal(final.sessions, 1);
    assert.equal(final.datagrams, bad.reduce((n, [, , times]) => n + times, 0) + 2);
  },
});

Deno.test({
  name: "--discover forgets a session ten of its intervals after its last announcement",
  ignore: !inPrivateNetns(),
  async fn() {
    const client = spawnClient(["--discover", "--json", "--duration", "6", "--interval", "0.5"]);
    await client.waitForLog(/Listening for SAP announcements on 224\.2\.127\.254/);
    const sdp = new TextEncoder().encode(
      "v=0\r\no=- 2 1 IN IP4 127.0.0.1\r\ns=brief\r\nc=IN IP4 239.31.2.10/1\r\nt=0 0\r\n" +
        "m=video 5004 RTP/AVP 33\r\n",
    );
    const packet = encodeSapPacket({
      messageType: "announce",
      hash: 91,
      origin: "127.0.0.1",
      payloadType: "application/sdp",
      payload: sdp,
    });
    const socket = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
    const to = { transport: "udp", hostname: "224.2.127.254", port: 9875 } as const;
    const sentMs: number[] = [];
    try {
      // Four announcements 300 ms apart: an interval of 300 ms, forgotten 3 s after the last.
      for (let i = 0; i < 4; i++) {
        if (i > 0) await new Promise((resolve) => setTimeout(resolve, 300));
        await socket.send(packet, to);
        sentMs.push(Date.now());
      }
    } finally {
      socket.close();
    }
    const result = await client.finished();
    assert.equal(result.code, 0, result.stderr);
    const { announcements, final } = discoverRecords(result.stdout);
    assert.deepEqual(announcements.map((a) => [a.event, a.name]), [["new", "brief"], [
      "expired",
      "brief",
    ]]);
    const expired = announcements[1]!;
    const afterMs = Date.parse(expired.time) - sentMs.at(-1)!;
    // 10 × the measured interval (about 300 ms), seen within the listener's 1 s expiry sweep.
    assert.ok(afterMs >= 2500 && afterMs < 4800, `expired ${afterMs} ms after the last one`);
    assert.ok(Math.abs(expired.intervalMs - 300) < 100, `interval ${expired.intervalMs} ms`);
    assert.deepEqual([final.sessions, final.expired], [0, 1]);
  },
});
