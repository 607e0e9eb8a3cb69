// The client's MPEG-TS analysis (ETSI TR 101 290) end to end: raw MPEG-TS over UDP described as VLC
// does (`m=video PORT udp mpeg`), raw UDP sent to a stream described as RTP, and MPEG-TS over RTP
// with TS faults and RTP loss at once, each against the test source's truth; the TR 101 290 limit
// flags. Inside the private network namespace of scripts/netns_test.sh.
import assert from "node:assert/strict";
import { sendRtpStream } from "../lib/source/rtp_source.ts";
import type { TsFaultOptions } from "../lib/source/ts_faults.ts";
import type { TsSnapshot } from "../lib/ts/ts_report.ts";
import { delay } from "../lib/common/delay.ts";
import { runClient, spawnClient, summaries } from "../scripts/support/client_process.ts";
import { randomRtpPort } from "../scripts/support/endpoints.ts";
import { inPrivateNetns } from "../scripts/support/netns.ts";
import { startServer, startStreamServer } from "../scripts/support/server_process.ts";

/** Faults whose counts do not depend on network timing (a PAT gap far from a 500 ms multiple). */
const FAULTS: TsFaultOptions = {
  ccSkips: { atMs: 100, count: 8, everyMs: 60 },
  transportErrors: { atMs: 150, count: 5, everyMs: 90 },
  crcErrors: { atMs: 200, count: 3, everyMs: 110 },
  patGaps: [{ atMs: 700, durationMs: 1150 }],
};

const VLC_UDP = Deno.readTextFileSync(new URL("./testdata/vlc_udp.sdp", import.meta.url));

Deno.test({
  name: "raw MPEG-TS over UDP from VLC's description: TS figures equal the muxer's truth",
  ignore: !inPrivateNetns(),
  async fn() {
    const port = randomRtpPort();
    const dir = await Deno.makeTempDir({ prefix: "client-rawudp-" });
    try {
      await Deno.writeTextFile(
        `${dir}/udp.sdp`,
        VLC_UDP.replace("239.255.1.1", "239.31.0.1").replace("m=video 1234", `m=video ${port}`),
      );
      const client = spawnClient([
        "--sdp",
        `${dir}/udp.sdp`,
        "--json",
        "--interval",
        "0.5",
        "--stall-after",
        "0.2", // the rate is then averaged over the sending time only
      ]);
      await client.waitForLog(/Stream rawtv: 239\.31\.0\.1 port \d+ TTL 255, MPEG-TS over UDP/);
      await client.waitForLog(/Joined 239\.31\.0\.1/);
      const truth = await sendRtpStream({
        group: "239.31.0.1",
        port,
        rawUdp: true,
        bitrate: 2_000_000,
        durationS: 3,
        tsFaults: FAULTS,
      });
      await delay(300);
      client.process.kill("SIGINT");
      const result = await client.finished();
      assert.equal(result.code, 0, result.stderr);
      const [summary, ...others] = summaries(result.records);
      assert.equal(others.length, 0);
      assert.deepEqual(
        [summary?.stream, summary?.transport, summary?.ssrc, summary?.packets, summary?.invalid],
        ["rawtv", "udp", null, truth.sent, 0],
      );
      const ts = summary?.ts as TsSnapshot;
      assert.deepEqual(
        [ts.ccErrors, ts.transportErrors, ts.crcErrors, ts.patErrors, ts.pmtErrors],
        [
          truth.ts.ccErrors,
          truth.ts.transportErrors,
          truth.ts.crcErrors,
          truth.ts.patErrors,
          truth.ts.pmtErrors,
        ],
      );
      assert.deepEqual([truth.ts.ccErrors, truth.ts.patErrors], [8, 2], "the faults happened");
      assert.equal(ts.ccErrorsWithoutRtpLoss, null, "no RTP to correlate with");
      assert.equal(ts.packets, truth.sent * 7);
      assert.equal(ts.estimatedLostPackets, 8, "one missing audio packet per skip");
      assert.ok(Math.abs((summary!.bitrateBps as number) - 2_000_000) < 100_000);
      const stats = result.records.filter((r) => r.type === "stats" && (r.packets as number) > 0);
      assert.ok(
        stats.length > 2 && stats.every((r) => r.transport === "udp" && r.ts !== undefined),
      );
      const intervals = stats.reduce((n, r) => n + (r.ts as TsSnapshot).ccErrors, 0);
      assert.equal(intervals, truth.ts.ccErrors, "interval figures add up to the totals");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "raw UDP sent to a stream described as RTP is analysed as TS, not counted invalid",
  ignore: !inPrivateNetns(),
  async fn() {
    const port = randomRtpPort();
    await using server = await startStreamServer("239.31.0.2", port, ["--name", "news"]);
    const client = spawnClient(["--server", server.url, "--json", "--packets", "200"]);
    await client.waitForLog(/Joined 239\.31\.0\.2/);
    const truth = await sendRtpStream({ group: "239.31.0.2", port, rawUdp: true, packets: 200 });
    const result = await client.finished();
    assert.equal(result.code, 0, result.stderr);
    const [summary] = summaries(result.records);
    assert.deepEqual(
      [summary?.stream, summary?.transport, summary?.packets, summary?.invalid],
      ["news", "udp", truth.sent, 0],
    );
    assert.equal((summary?.ts as TsSnapshot).ccErrors, 0);
  },
});

Deno.test({
  name: "MPEG-TS over RTP with TS faults and RTP loss at once: ccErrorsWithoutRtpLoss equals the " +
    "injected faults, the RTP figures the source's",
  ignore: !inPrivateNetns(),
  async fn() {
    const port = randomRtpPort();
    await using server = await startStreamServer("239.31.0.3", port);
    const client = spawnClient(["--server", server.url, "--json", "--stall-after", "5"]);
    await client.waitForLog(/Joined 239\.31\.0\.3/);
    const truth = await sendRtpStream({
      group: "239.31.0.3",
      port,
      bitrate: 2_000_000,
      durationS: 3,
      tsFaults: FAULTS,
      // The TS faults lie in the first 0.7 s, the datagram impairments after 1.1 s (warm-up).
      warmup: 200,
      loss: 0.03,
      duplicate: 0.01,
      reorder: 0.01,
      seed: 11,
    });
    await delay(300);
    client.process.kill("SIGINT");
    const result = await client.finished();
    assert.equal(result.code, 0, result.stderr);
    const [summary] = summaries(result.records);
    assert.deepEqual(
      [
        summary?.transport,
        summary?.packets,
        summary?.lost,
        summary?.duplicates,
        summary?.reordered,
      ],
      ["rtp", truth.sent, truth.lost, truth.duplicated, truth.reordered],
    );
    assert.ok(truth.lost > 5 && truth.duplicated > 0, "the RTP impairments happened");
    const ts = summary?.ts as TsSnapshot;
    assert.equal(
      ts.ccErrorsWithoutRtpLoss,
      truth.ts.ccErrors,
      "the upstream ones: exactly the faults",
    );
    assert.ok(ts.ccErrors > truth.ts.ccErrors, `RTP loss broke continuity too (${ts.ccErrors})`);
    assert.deepEqual(
      [ts.transportErrors, ts.crcErrors, ts.patErrors],
      [truth.ts.transportErrors, truth.ts.crcErrors, truth.ts.patErrors],
    );
    assert.equal(
      ts.packets,
      (truth.sent - truth.duplicated) * 7,
      "duplicates are not analysed twice",
    );
  },
});

Deno.test({
  name: "--pcr-interval-ms sets the PCR repetition limit (the source's PCRs are 30 ms apart)",
  ignore: !inPrivateNetns(),
  async fn() {
    const port = randomRtpPort();
    await using server = await startStreamServer("239.31.0.4", port);
    const strict = spawnClient([
      "--server",
      server.url,
      "--json",
      "--packets",
      "300",
      "--pcr-interval-ms",
      "20",
    ]);
    const lenient = spawnClient(["--server", server.url, "--json", "--packets", "300"]);
    await strict.waitForLog(/Joined 239\.31\.0\.4/);
    await lenient.waitForLog(/Joined 239\.31\.0\.4/);
    await sendRtpStream({ group: "239.31.0.4", port, packets: 300, bitrate: 2_000_000 });
    const [s, l] = [await strict.finished(), await lenient.finished()];
    assert.equal(s.code, 0, s.stderr);
    const errors = (r: typeof s) => (summaries(r.records)[0]?.ts as TsSnapshot).pcrRepetitionErrors;
    assert.ok(errors(s) > 10, `${errors(s)} with a 20 ms limit`);
    assert.equal(errors(l), 0);
    const bad = await runClient(["--pcr-interval-ms", "0"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--pcr-interval-ms: expected an integer from 1 to 3600000, got "0"/);
  },
});

Deno.test({
  name: "--stream negotiates a raw-UDP catalog stream with the real server (its udp m-line " +
    "accepted) and an RTP one beside it (its RTP/AVP m-line)",
  ignore: !inPrivateNetns(),
  async fn() {
    const port = randomRtpPort();
    const dir = await Deno.makeTempDir({ prefix: "client-udp-offer-" });
    try {
      await Deno.writeTextFile(
        `${dir}/c.json`,
        JSON.stringify({
          streams: [
            { name: "raw", address: "239.31.0.5", port, transport: "udp" },
            { name: "news", address: "239.31.0.6", port, formats: [{ payloadType: 33 }] },
          ],
        }),
      );
      await using server = await startServer(["--config", `${dir}/c.json`]);
      const client = spawnClient([
        ...["--server", server.url, "--stream", "raw", "--stream", "news"],
        ...["--json", "--packets", "150"],
      ]);
      await client.waitForLog(/Joined 239\.31\.0\.5/);
      await client.waitForLog(/Joined 239\.31\.0\.6/);
      const [raw, rtp] = await Promise.all([
        sendRtpStream({ group: "239.31.0.5", port, rawUdp: true, packets: 150 }),
        sendRtpStream({ group: "239.31.0.6", port, packets: 150 }),
      ]);
      const result = await client.finished();
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /Stream raw: 239\.31\.0\.5 port \d+ TTL 1, MPEG-TS over UDP/);
      assert.doesNotMatch(result.stderr, /\b406\b|m-lines/); // not "port 36406"
      const byStream = new Map(summaries(result.records).map((s) => [s.stream, s]));
      assert.deepEqual(
        [byStream.get("raw")?.transport, byStream.get("raw")?.packets],
        ["udp", raw.sent],
      );
      assert.deepEqual(
        [byStream.get("news")?.transport, byStream.get("news")?.packets],
        ["rtp", rtp.sent],
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "--no-ts: RTP statistics only, no ts figures in the records (with --output the file still comes)",
  ignore: !inPrivateNetns(),
  async fn() {
    const port = randomRtpPort();
    const dir = await Deno.makeTempDir({ prefix: "client-no-ts-" });
    try {
      await Deno.writeTextFile(
        `${dir}/tv.sdp`,
        `v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=tv\r\nc=IN IP4 239.31.0.7/1\r\nt=0 0\r\n` +
          `m=video ${port} RTP/AVP 33\r\na=rtpmap:33 MP2T/90000\r\n`,
      );
      const client = spawnClient([
        ...["--sdp", `${dir}/tv.sdp`, "--no-ts", "--output", `${dir}/tv.ts`, "--json"],
        ...["--packets", "100"],
      ]);
      await client.waitForLog(/Joined 239\.31\.0\.7/);
      const truth = await sendRtpStream({
        group: "239.31.0.7",
        port,
        packets: 100,
        tsFaults: FAULTS,
      });
      const result = await client.finished();
      assert.equal(result.code, 0, result.stderr);
      const [summary] = summaries(result.records);
      assert.equal(summary?.packets, truth.sent);
      assert.ok(result.records.every((r) => !("ts" in r)), "no record carries ts");
      assert.equal((await Deno.stat(`${dir}/tv.ts`)).size, truth.sent * 7 * 188);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
