// End-to-end client tests: a real server process, a real RTP sender and the client process, inside
// the private network namespace of scripts/netns_test.sh (multicast never leaves it).
import assert from "node:assert/strict";
import { sendRtpStream } from "../lib/source/rtp_source.ts";
import { delay } from "../lib/common/delay.ts";
import {
  receiverUsed,
  runClient,
  spawnClient,
  summaries,
} from "../scripts/support/client_process.ts";
import { startClientRig } from "../scripts/support/client_rig.ts";
import { randomGroup6, randomRtpPort } from "../scripts/support/endpoints.ts";
import { inPrivateNetns } from "../scripts/support/netns.ts";
import { startServer, startStreamServer } from "../scripts/support/server_process.ts";
import { makeCertificate } from "./support/tls.ts";
import { peerTest } from "./support/peer_requirements.ts";
import { runToEnd } from "../scripts/support/process.ts";

Deno.test({
  name:
    "client summary equals the truth of an impaired stream (loss, duplicates, reordering, wrap)",
  ignore: !inPrivateNetns(),
  async fn() {
    const port = randomRtpPort();
    await using rig = await startClientRig({
      group: "239.10.0.1",
      port,
      timeoutS: 10,
      stallAfterS: 5,
    });
    const truth = await sendRtpStream({
      group: "239.10.0.1",
      port,
      ttl: 0,
      bitrate: 8_000_000,
      packets: 3000,
      startSeq: 64000, // crosses the 16-bit wrap
      loss: 0.02,
      duplicate: 0.01,
      reorder: 0.01,
      seed: 7,
    });
    // Let the last packets land, then stop the client with SIGINT: it prints the summary, exit 0.
    await delay(300);
    const { result } = await rig.finish();
    assert.equal(result.code, 0, result.stderr);
    const [summary, ...others] = summaries(result.records);
    assert.equal(others.length, 0, "one SSRC");
    assert.ok(summary);
    assert.equal(summary.ssrc, truth.ssrc);
    assert.equal(summary.payloadType, 33);
    assert.equal(summary.packets, truth.sent);
    assert.equal(summary.lost, truth.lost);
    assert.equal(summary.duplicates, truth.duplicated);
    assert.equal(summary.reordered, truth.reordered);
    assert.equal(summary.expected, (summary.packets as number) - truth.duplicated + truth.lost);
    assert.ok(
      truth.lost > 20 && truth.duplicated > 5 && truth.reordered > 5,
      "the impairments happened",
    );
    assert.equal(summary.invalid, 0);
    assert.ok(result.records.some((r) => r.type === "stats"), "per-interval lines");
  },
});

Deno.test({
  name: "client exits 4 naming group, port and interface when nothing arrives",
  ignore: !inPrivateNetns(),
  async fn() {
    const port = randomRtpPort();
    await using server = await startStreamServer("239.10.0.2", port);
    const result = await runClient(["--server", server.url, "--timeout", "0.5", "--json"]);
    assert.equal(result.code, 4);
    assert.match(
      result.stderr,
      new RegExp(`No RTP packet on 239\\.10\\.0\\.2 port ${port} via any interface within 0\\.5 s`),
    );
    assert.match(result.stderr, /IGMP snooping/);
    assert.deepEqual(summaries(result.records).map((r) => [r.ssrc, r.packets]), [[null, 0]]);
  },
});

Deno.test("client exits 3 after its retries when the server is unreachable, one line per attempt", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const result = await runClient(["--server", `http://127.0.0.1:${port}`, "--retries", "2"]);
  assert.equal(result.code, 3);
  assert.equal(
    result.stderr.match(/Attempt \d\/3 .* failed: connection refused; retrying/g)?.length,
    2,
  );
  assert.match(
    result.stderr,
    /Cannot reach the SDP server at http:\/\/127\.0\.0\.1:\d+\/offer after 3 attempts/,
  );
  assert.doesNotMatch(result.stderr, /\n\s+at |Stack backtrace/);
});

Deno.test("client exits 3 when the server rejects the offer, saying what it carries", async () => {
  await using server = await startServer(["--payload-type", "97", "--encoding", "VP9/90000"]);
  const result = await runClient(["--server", server.url]);
  assert.equal(result.code, 3);
  assert.match(result.stderr, /rejected the offer \(406\).*carries 97 VP9\/90000/);
});

Deno.test("client exits 2 on usage errors and a bad interface", async () => {
  const usage = await runClient(["--duration", "soon"]);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /--duration: expected seconds/);
  if (!inPrivateNetns()) return;
  await using server = await startServer(["--multicast-port", String(randomRtpPort())]);
  const iface = await runClient([
    "--server",
    server.url,
    "--interface",
    "192.0.2.123",
    "--timeout",
    "1",
  ]);
  assert.equal(iface.code, 2);
  assert.match(iface.stderr, /Cannot join 239\.0\.0\.1 port \d+ on 192\.0\.2\.123/);
});

Deno.test({
  name: "client reports a stall and recovers when packets return, then ends by --duration",
  ignore: !inPrivateNetns(),
  async fn() {
    const port = randomRtpPort();
    await using server = await startStreamServer("239.10.0.3", port);
    const client = spawnClient([
      "--server",
      server.url,
      "--json",
      "--stall-after",
      "0.4",
      "--interval",
      "0.2",
      "--duration",
      "3",
    ]);
    await client.waitForLog(/Joined 239\.10\.0\.3/);
    const first = await sendRtpStream({
      group: "239.10.0.3",
      port,
      packets: 100,
      bitrate: 8_000_000,
      ssrc: 0x1111,
      startSeq: 100,
      startTimestamp: 0,
    });
    await client.waitForLog(/stream stalled/, 3000);
    await sendRtpStream({
      group: "239.10.0.3",
      port,
      packets: 100,
      bitrate: 8_000_000,
      ssrc: 0x1111,
      startSeq: 200,
      startTimestamp: 90_000,
    });
    const result = await client.finished();
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /Packets are flowing again/);
    assert.ok(result.records.some((r) => r.type === "stats" && r.state === "stalled"));
    const [summary] = summaries(result.records);
    assert.equal(
      summary?.stalls,
      2,
      "stalled after each burst (the second lasts until --duration)",
    );
    assert.ok((summary?.stalledS as number) > 0.3);
    assert.equal(summary?.packets, first.sent * 2);
    assert.equal(summary?.lost, 0);
    assert.ok((summary?.durationS as number) >= 2.9);
  },
});

Deno.test({
  name: "client counts a new SSRC as a new source without false loss, and stops at --packets",
  ignore: !inPrivateNetns(),
  async fn() {
    const port = randomRtpPort();
    await using server = await startStreamServer("239.10.0.4", port);
    const client = spawnClient(["--server", server.url, "--json", "--packets", "400"]);
    await client.waitForLog(/Joined 239\.10\.0\.4/);
    await sendRtpStream({
      group: "239.10.0.4",
      port,
      packets: 200,
      bitrate: 8_000_000,
      ssrc: 0xaaaa,
      startSeq: 1000,
    });
    await sendRtpStream({
      group: "239.10.0.4",
      port,
      packets: 200,
      bitrate: 8_000_000,
      ssrc: 0xbbbb,
      startSeq: 40000,
    });
    const result = await client.finished();
    assert.equal(result.code, 0, result.stderr);
    const list = summaries(result.records).map((r) => [r.ssrc, r.packets, r.lost]);
    assert.deepEqual(list, [[0xaaaa, 200, 0], [0xbbbb, 200, 0]]);
  },
});

Deno.test({
  name:
    "client drops packets from other senders under a source filter and counts them (Deno path), " +
    "or the kernel never delivers them (kernel path: source-specific join)",
  ignore: !inPrivateNetns(),
  async fn() {
    const port = randomRtpPort();
    await using server = await startStreamServer("232.10.0.5", port, ["--source", "192.0.2.77"]);
    const client = spawnClient(["--server", server.url, "--json", "--timeout", "1.5"]);
    await client.waitForLog(/only from 192\.0\.2\.77/);
    await client.waitForLog(/Joined 232\.10\.0\.5/);
    const truth = await sendRtpStream({
      group: "232.10.0.5",
      port,
      packets: 50,
      bitrate: 8_000_000,
    });
    const result = await client.finished();
    assert.equal(result.code, 4, "nothing from the allowed source");
    const [summary] = summaries(result.records);
    if (receiverUsed(result.stderr) === "kernel") {
      // IP_ADD_SOURCE_MEMBERSHIP: the kernel drops the other sender's packets itself.
      assert.match(
        result.stderr,
        /Joined 232\.10\.0\.5 port \d+ .*source-specific \(192\.0\.2\.77\)/,
      );
      assert.equal(summary?.filtered, 0);
    } else {
      assert.equal(receiverUsed(result.stderr), "deno");
      assert.equal(summary?.filtered, truth.sent);
    }
    assert.equal(summary?.packets, 0);
  },
});

Deno.test({
  name: "two clients on one host receive the same group at once with full counts",
  ignore: !inPrivateNetns(),
  async fn() {
    const port = randomRtpPort();
    await using server = await startStreamServer("239.10.0.6", port);
    const clients = [0, 1].map(() =>
      spawnClient(["--server", server.url, "--json", "--packets", "500", "--timeout", "10"])
    );
    for (const client of clients) await client.waitForLog(/Joined 239\.10\.0\.6/);
    const truth = await sendRtpStream({
      group: "239.10.0.6",
      port,
      packets: 500,
      bitrate: 8_000_000,
    });
    for (const client of clients) {
      const result = await client.finished();
      assert.equal(result.code, 0, result.stderr);
      const [summary] = summaries(result.records);
      assert.deepEqual([summary?.ssrc, summary?.packets, summary?.lost], [truth.ssrc, 500, 0]);
    }
  },
});

Deno.test({
  name: "client reads a stream from the server's .sdp URL with --sdp and receives it",
  ignore: !inPrivateNetns(),
  async fn() {
    const port = randomRtpPort();
    await using server = await startStreamServer("239.10.0.7", port, ["--name", "tv"]);
    const client = spawnClient([
      "--sdp",
      `${server.url}/streams/tv.sdp`,
      "--json",
      "--packets",
      "100",
    ]);
    await client.waitForLog(/Joined 239\.10\.0\.7/);
    await sendRtpStream({ group: "239.10.0.7", port, packets: 100, bitrate: 8_000_000 });
    const result = await client.finished();
    assert.equal(result.code, 0, result.stderr);
    assert.equal(summaries(result.records)[0]?.packets, 100);
  },
});

Deno.test("client exits 130 on SIGINT during negotiation, without a stack trace", async () => {
  // A server that accepts the connection and never answers.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of listener) held.push(conn);
  })();
  try {
    const client = spawnClient(["--server", `http://127.0.0.1:${listener.addr.port}`]);
    const deadline = Date.now() + 10_000;
    while (held.length === 0 && Date.now() < deadline) await delay(20);
    assert.equal(held.length, 1, "the client connected");
    client.process.kill("SIGINT");
    const result = await client.finished();
    assert.equal(result.code, 130);
    assert.doesNotMatch(result.stderr, /\n\s+at |Stack backtrace/);
  } finally {
    listener.close();
    for (const conn of held) conn.close();
    await accepting.catch(() => {});
  }
});

Deno.test({
  name: "client prints the summary and exits 0 on SIGTERM during reception",
  ignore: !inPrivateNetns(),
  async fn() {
    const port = randomRtpPort();
    await using server = await startStreamServer("239.10.0.8", port);
    const client = spawnClient(["--server", server.url, "--json"]);
    await client.waitForLog(/Joined 239\.10\.0\.8/);
    const truth = await sendRtpStream({
      group: "239.10.0.8",
      port,
      packets: 300,
      bitrate: 8_000_000,
    });
    await delay(200);
    client.process.kill("SIGTERM");
    const result = await client.finished();
    assert.equal(result.code, 0, result.stderr);
    assert.equal(summaries(result.records)[0]?.packets, truth.sent);
  },
});

Deno.test({
  name: "client receives an IPv6 group on the interface named by --interface (veth gw1)",
  ignore: !inPrivateNetns(),
  async fn() {
    const port = randomRtpPort();
    const group = randomGroup6("ff15");
    await using server = await startStreamServer(group, port);
    const client = spawnClient([
      "--server",
      server.url,
      "--json",
      "--interface",
      "gw1",
      "--packets",
      "200",
    ]);
    await client.waitForLog(new RegExp(`Joined ${group}`));
    const truth = await sendRtpStream({
      group,
      port,
      ttl: 1,
      interfaceAddress: "fd00:6a7::1",
      packets: 200,
      bitrate: 8_000_000,
    });
    const result = await client.finished();
    assert.equal(result.code, 0, result.stderr);
    const [summary] = summaries(result.records);
    assert.deepEqual([summary?.group, summary?.ssrc, summary?.packets, summary?.lost], [
      group,
      truth.ssrc,
      200,
      0,
    ]);
    const bad = await runClient([
      "--server",
      server.url,
      "--interface",
      "nosuchif0",
      "--timeout",
      "1",
    ]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /No IPv6 network interface named "nosuchif0"/);
  },
});

await peerTest({
  name:
    "client talks HTTPS with --ca and a bearer token from GATEWAY_TOKEN, under its permission set",
  peers: ["openssl"],
  async fn() {
    const certificate = await makeCertificate();
    try {
      const port = randomRtpPort();
      await using server = await startStreamServer("239.10.0.9", port, [
        "--cert",
        certificate.certFile,
        "--key",
        certificate.keyFile,
      ], { env: { GATEWAY_TOKEN: "token-for-tests-1" } });
      const url = server.url.replace("http:", "https:");
      const denied = await runClient([
        "--server",
        url,
        "--ca",
        certificate.caFile,
        "--retries",
        "0",
      ]);
      assert.equal(denied.code, 3);
      assert.match(denied.stderr, /401.*bearer token/);
      const client = spawnClient(["--ca", certificate.caFile, "--json", "--packets", "50"], {
        GATEWAY_HTTP_URL: url,
        GATEWAY_TOKEN: "token-for-tests-1",
      });
      await client.waitForLog(/Joined 239\.10\.0\.9/);
      await sendRtpStream({ group: "239.10.0.9", port, packets: 50, bitrate: 8_000_000 });
      const result = await client.finished();
      assert.equal(result.code, 0, result.stderr);
      assert.equal(summaries(result.records)[0]?.packets, 50);
    } finally {
      await Deno.remove(certificate.dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "client counts garbage as invalid without letting it hide a stall or count towards --packets",
  ignore: !inPrivateNetns(),
  async fn() {
    const port = randomRtpPort();
    await using server = await startStreamServer("239.10.0.10", port);
    const client = spawnClient([
      "--server",
      server.url,
      "--json",
      "--packets",
      "150",
      "--stall-after",
      "0.4",
      "--duration",
      "4",
    ]);
    await client.waitForLog(/Joined 239\.10\.0\.10/);
    await sendRtpStream({ group: "239.10.0.10", port, packets: 100, bitrate: 8_000_000 });
    // 300 invalid datagrams (version 1) over 1.5 s: not traffic, so the stream stalls.
    const conn = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
    try {
      const garbage = new Uint8Array(200).fill(0x40);
      for (let i = 0; i < 300; i++) {
        await conn.send(garbage, { transport: "udp", hostname: "239.10.0.10", port });
        if (i % 20 === 0) await delay(100);
      }
    } finally {
      conn.close();
    }
    const result = await client.finished();
    assert.equal(result.code, 0, result.stderr);
    const [summary] = summaries(result.records);
    assert.equal(summary?.packets, 100, "--packets 150 was not reached by garbage");
    assert.equal(summary?.invalid, 300);
    assert.ok((summary?.stalls as number) >= 1, "the stall was seen despite the garbage");
  },
});

Deno.test({
  name: "client reads a VLC-written SDP file with --sdp and receives the stream it names",
  ignore: !inPrivateNetns(),
  async fn() {
    const port = randomRtpPort();
    const dir = await Deno.makeTempDir();
    try {
      const vlcSdp = Deno.readTextFileSync(new URL("./testdata/vlc_mp2t.sdp", import.meta.url))
        .replace(/c=IN IP4 [0-9.]+/, "c=IN IP4 239.10.0.11").replace(
          /m=video \d+/,
          `m=video ${port}`,
        );
      await Deno.writeTextFile(`${dir}/stream.sdp`, vlcSdp);
      const client = spawnClient(["--sdp", `${dir}/stream.sdp`, "--json", "--packets", "80"]);
      await client.waitForLog(/Joined 239\.10\.0\.11/);
      await sendRtpStream({ group: "239.10.0.11", port, packets: 80, bitrate: 8_000_000 });
      const result = await client.finished();
      assert.equal(result.code, 0, result.stderr);
      assert.equal(summaries(result.records)[0]?.packets, 80);
      const missing = await runClient(["--sdp", `${dir}/missing.sdp`]);
      assert.equal(missing.code, 3);
      assert.match(missing.stderr, /Cannot read SDP file .*missing\.sdp/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "client's first log line names the receive path and why; --receiver kernel without FFI exits 2",
  ignore: !inPrivateNetns(),
  async fn() {
    const port = randomRtpPort();
    await using server = await startStreamServer("239.10.0.12", port);
    // The client's permissions without ffi: the kernel path cannot be had.
    const run = (receiver: string) =>
      runToEnd(Deno.execPath(), [
        "run",
        "--quiet",
        "--no-prompt",
        "--allow-net",
        "--allow-read",
        "--allow-env",
        "--allow-sys",
        "client.ts",
        "--server",
        server.url,
        "--json",
        "--timeout",
        "0.3",
        "--receiver",
        receiver,
      ], { cwd: new URL("../", import.meta.url).pathname, timeoutMs: 30_000 });
    const auto = await run("auto");
    assert.equal(auto.code, 4, auto.stderr);
    assert.match(
      auto.stderr.split("\n")[0]!,
      /Receiving through the deno path: kernel receiver unavailable: no FFI permission \(--allow-ffi\)$/,
    );
    const kernel = await run("kernel");
    assert.equal(kernel.code, 2, kernel.stderr);
    assert.match(
      kernel.stderr,
      /--receiver kernel: cannot use the kernel receiver here: no FFI permission/,
    );
    assert.doesNotMatch(kernel.stderr, /Stream /, "before any negotiation");
  },
});
