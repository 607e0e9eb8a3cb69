// The client's figures as a subprocess sees real datagrams (RFC 3550 A.1 accounting, rates over
// the time a source sent) and which m-line of an SDP it receives (--media), inside the private
// network namespace of scripts/netns_test.sh.
import assert from "node:assert/strict";
import { writeRtpHeader } from "../lib/rtp/writer.ts";
import { sendRtpStream } from "../lib/source/rtp_source.ts";
import { receiverUsed, spawnClient, summaries } from "../scripts/support/client_process.ts";
import { readUdpCounters } from "../scripts/support/proc_counters.ts";
import { startStreamServer } from "../scripts/support/server_process.ts";
import { inPrivateNetns } from "../scripts/support/netns.ts";
import { randomRtpPort } from "../scripts/support/endpoints.ts";
import { delay } from "../lib/common/delay.ts";

Deno.test({
  name: "client accounts for all 1001 datagrams: 999 packets and 2 that RFC 3550 A.1 discards",
  ignore: !inPrivateNetns(),
  async fn() {
    const group = "239.10.4.1";
    const port = randomRtpPort();
    await using server = await startStreamServer(group, port);
    const client = spawnClient([
      "--server",
      server.url,
      "--json",
      "--stall-after",
      "5",
      "--interval",
      "0.2",
    ]);
    await client.waitForLog(/Joined 239\.10\.4\.1/);
    const conn = Deno.listenDatagram({ transport: "udp", hostname: "0.0.0.0", port: 0 });
    const datagram = new Uint8Array(12 + 1316);
    const send = async (seq: number) => {
      writeRtpHeader(datagram, {
        payloadType: 33,
        marker: false,
        sequenceNumber: seq,
        timestamp: seq * 900,
        ssrc: 0x5eed,
      });
      await conn.send(datagram, { transport: "udp", hostname: group, port });
    };
    try {
      for (let seq = 0; seq < 999; seq++) {
        if (seq === 400) await send(400 + 5000); // a jump beyond MAX_DROPOUT that nothing confirms
        if (seq === 800) await send(800 - 150); // later than MAX_MISORDER
        await send(seq);
        if (seq % 50 === 0) await delay(5);
      }
    } finally {
      conn.close();
    }
    await delay(700); // intervals end after the last one
    client.process.kill("SIGINT");
    const result = await client.finished();
    assert.equal(result.code, 0, result.stderr);
    const [summary, ...others] = summaries(result.records);
    assert.equal(others.length, 0);
    assert.deepEqual(
      [summary?.packets, summary?.discarded, summary?.lost, summary?.invalid],
      [999, 2, 0, 0],
    );
    const intervals = result.records.filter((r) => r.type === "stats");
    assert.ok(intervals.every((r) => typeof r.discarded === "number"), "stats lines have it too");
    assert.equal(intervals.reduce((n, r) => n + (r.discarded as number), 0), 2);
  },
});

Deno.test({
  name: "client summary rates are averaged over the time the source sent, not the whole run",
  ignore: !inPrivateNetns(),
  async fn() {
    const group = "239.10.4.2";
    const port = randomRtpPort();
    await using server = await startStreamServer(group, port);
    const client = spawnClient(["--server", server.url, "--json", "--stall-after", "0.5"]);
    await client.waitForLog(/Joined 239\.10\.4\.2/);
    const truth = await sendRtpStream({ group, port, bitrate: 4_000_000, durationS: 1 });
    await client.waitForLog(/stream stalled/, 5000);
    await delay(2000); // the run goes on without the source
    client.process.kill("SIGINT");
    const result = await client.finished();
    assert.equal(result.code, 0, result.stderr);
    const [summary] = summaries(result.records);
    assert.equal(summary?.packets, truth.sent);
    assert.ok((summary?.durationS as number) > 3, "the run lasted over 3 s");
    const sentPerSecond = truth.sent / truth.durationS;
    const rate = summary?.packetsPerSecond as number;
    assert.ok(Math.abs(rate - sentPerSecond) / sentPerSecond < 0.15, `${rate} vs ${sentPerSecond}`);
    const bitrate = summary?.bitrateBps as number;
    assert.ok(Math.abs(bitrate - 4_000_000) / 4_000_000 < 0.15, `${bitrate} bit/s vs 4 Mbit/s`);
  },
});

Deno.test({
  name:
    "client receives the first receivable m-line of an SDP, or the one --media names, and says so",
  ignore: !inPrivateNetns(),
  async fn() {
    const audioPort = randomRtpPort();
    const videoPort = audioPort + 2;
    const dir = await Deno.makeTempDir({ prefix: "client-media-" });
    const sdp = `${dir}/two.sdp`;
    await Deno.writeTextFile(
      sdp,
      "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=two\r\nc=IN IP4 239.10.4.3/1\r\nt=0 0\r\n" +
        `m=audio ${audioPort} RTP/AVP 14\r\na=rtpmap:14 MPA/90000\r\n` +
        `m=video ${videoPort} RTP/AVP 33\r\na=rtpmap:33 MP2T/90000\r\n`,
    );
    try {
      const chosen = spawnClient(["--sdp", sdp, "--media", "video", "--packets", "50", "--json"]);
      await chosen.waitForLog(/Joined 239\.10\.4\.3 port \d+/);
      const truth = await sendRtpStream({ group: "239.10.4.3", port: videoPort, packets: 60 });
      const result = await chosen.finished();
      assert.equal(result.code, 0, result.stderr);
      assert.match(
        result.stderr,
        /The description has 2 m-lines \(audio, video\): receiving m-line 2, m=video \(--media video\)/,
      );
      const [summary] = summaries(result.records);
      assert.deepEqual([summary?.ssrc, summary?.payloadType], [truth.ssrc, 33]);

      const first = spawnClient(["--sdp", sdp, "--timeout", "0.5", "--json"]);
      const fallback = await first.finished();
      assert.equal(fallback.code, 4, "nothing is sent to the audio port");
      assert.match(
        fallback.stderr,
        /receiving m-line 1, m=audio \(the first RTP one that can be received; choose with --media\)/,
      );
      assert.match(
        fallback.stderr,
        new RegExp(`No RTP packet on 239\\.10\\.4\\.3 port ${audioPort}`),
      );

      const missing = spawnClient(["--sdp", sdp, "--media", "text"]);
      const none = await missing.finished();
      assert.equal(none.code, 3);
      assert.match(
        none.stderr,
        /--media text: the description has no m=text line \(it has audio, video\)/,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "client reports the kernel's drops of a starved socket as socketDrops, as RcvbufErrors counts",
  ignore: !inPrivateNetns(),
  async fn() {
    const group = "239.10.4.4";
    const port = randomRtpPort();
    await using server = await startStreamServer(group, port);
    // A receive buffer of a few datagrams: bursts overflow it.
    const client = spawnClient([
      "--server",
      server.url,
      "--json",
      "--receive-buffer",
      "4096",
      "--stall-after",
      "5",
      "--interval",
      "0.2",
    ]);
    await client.waitForLog(/Joined 239\.10\.4\.4/);
    const before = readUdpCounters().rcvbufErrors;
    const truth = await sendRtpStream({ group, port, bitrate: 20_000_000, durationS: 1 });
    await delay(500);
    const after = readUdpCounters().rcvbufErrors;
    client.process.kill("SIGINT");
    const result = await client.finished();
    assert.equal(result.code, 0, result.stderr);
    const [summary] = summaries(result.records);
    const missing = truth.sent - (summary?.packets as number);
    if (receiverUsed(result.stderr) === "kernel") {
      assert.ok((summary?.lost as number) > 0, "the starved socket dropped datagrams");
      assert.equal(summary?.socketDrops, after - before, "as /proc/net/snmp RcvbufErrors counts");
      // What is missing was dropped by the kernel: at this socket's buffer (socketDrops) or, for
      // a few, in the loopback's input backlog before it (softnet, not the socket's).
      assert.ok(
        (summary?.socketDrops as number) <= missing &&
          missing - (summary?.socketDrops as number) <= missing / 10,
        `${summary?.socketDrops} of ${missing}`,
      );
      assert.ok((summary?.lost as number) <= missing, "lost: those before the last one received");
      // Intervals ended after the burst: their drops add up to the run's.
      const intervals = result.records.filter((r) => r.type === "stats");
      assert.equal(
        intervals.reduce((n, r) => n + (r.socketDrops as number), 0),
        summary?.socketDrops,
      );
    } else {
      assert.equal(summary?.socketDrops, null, "the Deno path cannot know");
    }
  },
});
