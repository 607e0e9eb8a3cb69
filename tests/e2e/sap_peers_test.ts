// SAP (RFC 2974) against real peers inside the test namespace: ffprobe's SAP demuxer finds and opens
// what our announcer announces (the test source's MPEG-TS); our listener finds what `ffmpeg -f sap` and VLC's `#rtp{...,sap}`
// announce, and the session's SDP is enough to join the stream; VLC's 239/8 refusal is as documented.
import assert from "node:assert/strict";
import { ipVersionOf } from "../../lib/net/multicast_address.ts";
import { MulticastReceiver } from "../../lib/net/multicast_receiver.ts";
import { parseRtpPacket } from "../../lib/rtp/packet.ts";
import { SapAnnouncer } from "../../lib/sap/announcer.ts";
import type { DirectoryEvent, DirectorySession } from "../../lib/sap/directory.ts";
import { SapListener } from "../../lib/sap/listener.ts";
import { readReceiveTarget } from "../../lib/sdp/receive_target.ts";
import { Catalog } from "../../lib/server/catalog.ts";
import { sendRtpStream } from "../../lib/source/rtp_source.ts";
import {
  AS_NOBODY,
  type FfprobeStream,
  ffprobeUrl,
  makeClip,
  startVlcRtp,
  VLC_HEADLESS_FLAGS,
} from "../support/peers.ts";
import { waitUntil } from "../../scripts/support/poll.ts";
import { peerTest } from "../support/peer_requirements.ts";
import { randomRtpPort } from "../../scripts/support/endpoints.ts";
import { Child, runToEnd } from "../../scripts/support/process.ts";

const MP2T = { payloadType: 33, encoding: "MP2T", clockRate: 90000 } as const;

let clipPromise: Promise<string> | undefined;
function clip(): Promise<string> {
  clipPromise ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "sap-peers-" });
    // Left for the OS to clean: shared by the tests of this file.
    return await makeClip(dir, { seconds: 12 });
  })();
  return clipPromise;
}

/** Joins a discovered session from its SDP alone and returns the first RTP packet's payload type. */
async function joinAndReceive(session: DirectorySession): Promise<number> {
  const target = readReceiveTarget(session.sdp);
  const receiver = await MulticastReceiver.open({
    group: target.group,
    port: target.port,
    receiveBufferBytes: 0,
  });
  try {
    const buffer = new Uint8Array(2048);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`No RTP on ${target.group}:${target.port}`)), 5000);
    });
    try {
      const [datagram] = await Promise.race([receiver.receive(buffer), timeout]);
      return parseRtpPacket(datagram).payloadType;
    } finally {
      clearTimeout(timer);
    }
  } finally {
    await receiver.close();
  }
}

/** Sends the test source's MPEG-TS (silent MPEG-1 Layer II audio) to group:port until disposed. */
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

/**
 * What ffprobe must find in the test source's stream: its one MPEG audio stream, 48 kHz mono (ffmpeg's
 * MPEG-TS demuxer names stream types 3/4 "mp3" until its parser has seen enough frames).
 */
function assertTestSourceProbed(streams: readonly FfprobeStream[]): void {
  assert.equal(streams.length, 1, JSON.stringify(streams));
  const [audio] = streams;
  assert.equal(audio!.codec_type, "audio");
  assert.match(audio!.codec_name ?? "", /^mp[23]$/);
  assert.equal(audio!.sample_rate, "48000");
  assert.equal(audio!.channels, 1);
}

await peerTest({
  name: "ffprobe sap://224.2.127.254 finds the 239.0.0.1 stream we announce and opens it",
  peers: ["ffmpeg"],
  async fn() {
    const port = randomRtpPort();
    await using _source = startSource("239.0.0.1", port);
    const catalog = new Catalog([{
      name: "news",
      description: "The test source, announced by us",
      address: "239.0.0.1",
      port,
      ttl: 1,
      formats: [MP2T],
    }], { nowS: 1_700_000_000 });
    const { announcer } = SapAnnouncer.start(catalog.entries(), {
      intervalMs: 1000,
      originV4: "127.0.0.1",
    });
    await using _announcer = announcer;
    assertTestSourceProbed((await ffprobeUrl("sap://224.2.127.254", { timeoutS: 15 })).streams);
  },
});

await peerTest({
  name: "ffprobe sap://239.255.255.255 finds a local-scope stream on its scope's SAP group",
  peers: ["ffmpeg"],
  async fn() {
    const port = randomRtpPort();
    await using _source = startSource("239.255.0.31", port);
    const catalog = new Catalog([{
      name: "local",
      description: "",
      address: "239.255.0.31",
      port,
      ttl: 1,
      formats: [MP2T],
    }], { nowS: 1_700_000_000 });
    const { announcer } = SapAnnouncer.start(catalog.entries(), { intervalMs: 1000 });
    await using _announcer = announcer;
    assertTestSourceProbed((await ffprobeUrl("sap://239.255.255.255", { timeoutS: 15 })).streams);
  },
});

await peerTest({
  name:
    "the listener finds what ffmpeg -f sap announces, counts its RTP on the SAP port, sees its deletion",
  peers: ["ffmpeg"],
  async fn() {
    const events: DirectoryEvent[] = [];
    await using listener = await SapListener.open({ onEvent: (e) => events.push(e) });
    // The command of the issue: media to the SAP group and port itself, so RTP lands on 9875 too.
    const output = await runToEnd("ffmpeg", [
      ...["-hide_banner", "-nostdin", "-loglevel", "error", "-re"],
      ...["-f", "lavfi", "-i", "testsrc=size=160x120:rate=10", "-t", "3"],
      ...["-c:v", "libx264", "-preset", "ultrafast", "-metadata", "title=ffnews"],
      ...["-f", "sap", "sap://224.2.127.254:9875?ttl=1"],
    ], { stdout: "null", timeoutMs: 60_000 });
    assert.equal(output.code, 0, output.stderr);
    await waitUntil(() => events.some((e) => e.type === "deleted"), 3000, "ffmpeg's deletion");
    const found = events.find((e) => e.type === "new")!.session;
    assert.equal(found.name, "ffnews");
    assert.equal(found.group, "224.2.127.254");
    assert.equal(found.port, 9875);
    assert.deepEqual(found.formats, ["96 H264/90000"]);
    assert.match(found.tool ?? "", /^libavformat/);
    assert.equal(found.heardOn, "224.2.127.254");
    const { counters, sessions } = listener.snapshot();
    assert.equal(sessions.length, 0);
    assert.ok(counters.ignored.wrongVersion > 10, `${counters.ignored.wrongVersion} RTP packets`);
    assert.equal(counters.deletions, 1);
  },
});

await peerTest({
  name: "the listener finds a stream ffmpeg announces with -f sap and joins it from the SDP",
  peers: ["ffmpeg"],
  async fn() {
    const port = randomRtpPort();
    await using listener = await SapListener.open();
    const ffmpeg = new Child("ffmpeg", [
      ...["-hide_banner", "-nostdin", "-loglevel", "error", "-re"],
      ...["-f", "lavfi", "-i", "testsrc=size=160x120:rate=10", "-t", "20"],
      ...["-c:v", "libx264", "-preset", "ultrafast", "-metadata", "title=ffcam"],
      ...["-f", "sap", `sap://239.255.0.32:${port}?ttl=1`],
    ], { stdout: "null", stderr: "null" });
    try {
      await waitUntil(() => listener.snapshot().sessions.length === 1, 5000, "ffmpeg's session");
      const [session] = listener.snapshot().sessions;
      assert.equal(session!.name, "ffcam");
      assert.equal(session!.group, "239.255.0.32");
      assert.equal(session!.port, port);
      assert.equal(await joinAndReceive(session!), 96);
    } finally {
      await ffmpeg.stop("SIGINT");
    }
  },
});

await peerTest({
  name:
    "the listener finds what VLC announces with #rtp{...,sap,name=...} and joins it from the SDP",
  peers: ["vlc", "ffmpeg"],
  async fn() {
    const port = randomRtpPort();
    // gw1: the IPv6 end of the namespace's veth pair, where VLC's IPv6 announcements arrive.
    await using listener = await SapListener.open({ interfaceV6: "gw1" });
    await using _vlc = await startVlcRtp({
      file: await clip(),
      group: "239.255.0.33",
      port,
      sap: { name: "vlcnews", description: "From VLC" },
    });
    await waitUntil(() => listener.snapshot().sessions.length === 1, 10_000, "VLC's session");
    const [session] = listener.snapshot().sessions;
    assert.equal(session!.name, "vlcnews");
    assert.equal(session!.description, "From VLC");
    assert.equal(session!.group, "239.255.0.33");
    assert.equal(session!.port, port);
    assert.deepEqual(session!.formats, ["33 MP2T/90000"]);
    // VLC sends through an IPv6 socket when the host has IPv6 multicast (as this namespace does):
    // its announcement of an IPv4 stream then goes to ff0e::2:7ffe, not 239.255.255.255.
    assert.equal(session!.heardOn, "ff0e::2:7ffe");
    assert.equal(ipVersionOf(session!.origin), 6);
    assert.match(session!.tool ?? "", /^vlc /);
    assert.equal(await joinAndReceive(session!), 33);
  },
});

await peerTest({
  name:
    "VLC refuses to announce 239.0.0.1 with SAP on an IPv4-only host (our fallback fills the gap)",
  peers: ["vlc", "ffmpeg"],
  async fn() {
    const home = await Deno.makeTempDir({ prefix: "sap-vlc-" });
    try {
      // A nested namespace without the veth pair: VLC then uses IPv4 and applies its scope rule.
      const { stderr } = await runToEnd("unshare", [
        "-n",
        "sh",
        "-c",
        'ip link set lo up && ip route add 224.0.0.0/4 dev lo && exec "$@"',
        "vlc-ipv4-only",
        ...AS_NOBODY,
        "timeout",
        "5",
        "cvlc",
        ...VLC_HEADLESS_FLAGS,
        "--ttl=0",
        await clip(),
        "--sout",
        `#rtp{dst=239.0.0.1,port=${randomRtpPort()},mux=ts,sap,name=refused}`,
        "vlc://quit",
      ], { env: { HOME: home }, stdout: "null", timeoutMs: 30_000 });
      assert.match(stderr, /Out-of-scope multicast address not supported by SAP/);
    } finally {
      await Deno.remove(home, { recursive: true });
    }
  },
});
