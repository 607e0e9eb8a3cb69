// The client watching several streams in one process, end to end: a real server with a --config
// catalog, test sources with impairments and the client process, inside the private network
// namespace of scripts/netns_test.sh. Every figure is checked against the sources' truth.
import assert from "node:assert/strict";
import { sendRtpStream, type SourceTruth } from "../lib/source/rtp_source.ts";
import { delay } from "../lib/common/delay.ts";
import { receiverUsed, spawnClient, summaries } from "../scripts/support/client_process.ts";
import { freeTcpPort, randomRtpPort } from "../scripts/support/endpoints.ts";
import { inPrivateNetns } from "../scripts/support/netns.ts";
import { waitUntil } from "../scripts/support/poll.ts";
import { type ServerProcess, startServer } from "../scripts/support/server_process.ts";

interface CatalogStream {
  readonly name: string;
  readonly address: string;
  readonly port: number;
}

/** Writes a server config file with `streams` (MP2T, PT 33) to `path`. */
async function writeCatalog(path: string, streams: readonly CatalogStream[]): Promise<void> {
  await Deno.writeTextFile(
    path,
    JSON.stringify({ streams: streams.map((s) => ({ ...s, formats: [{ payloadType: 33 }] })) }),
  );
}

/** Reloads the server's config (SIGHUP) and waits for its "Reloaded" line. */
async function reload(server: ServerProcess): Promise<void> {
  const before = server.logs.filter((l) => /^Reloaded/.test(String(l.message))).length;
  server.process.kill("SIGHUP");
  await waitUntil(
    () => server.logs.filter((l) => /^Reloaded/.test(String(l.message))).length > before,
    10_000,
    "the server reloaded its catalog",
  );
}

type Summary = Record<string, unknown>;

/** The summaries of `stream` (several when it was left and joined again), in order. */
function of(records: Summary[], stream: string): Summary[] {
  return summaries(records).filter((r) => r.stream === stream);
}

/** Checks a summary's RTP counts against a source's truth. */
function assertTruth(summary: Summary | undefined, truth: SourceTruth, what: string): void {
  assert.ok(summary, `${what}: a summary`);
  assert.deepEqual(
    [summary.ssrc, summary.packets, summary.lost, summary.duplicates, summary.reordered],
    [truth.ssrc, truth.sent, truth.lost, truth.duplicated, truth.reordered],
    what,
  );
}

Deno.test({
  name: "--all watches a three-stream catalog through a change (added, removed, re-described) " +
    "and a stall, every figure equal to the sources' truth",
  ignore: !inPrivateNetns(),
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "client-all-" });
    const config = `${dir}/catalog.json`;
    const port = randomRtpPort();
    const a = { name: "a", address: "239.30.0.1", port };
    const b = { name: "b", address: "239.30.0.2", port }; // the same port as a: kept apart
    const c = { name: "c", address: "239.30.0.3", port: port + 2 };
    const b2 = { ...b, port: port + 4 }; // re-described: another port
    const d = { name: "d", address: "239.30.0.4", port: port + 6 };
    await writeCatalog(config, [a, b, c]);
    await using server = await startServer(["--config", config]);
    const client = spawnClient([
      "--server",
      server.url,
      "--all",
      "--json",
      "--stall-after",
      "1",
      "--interval",
      "0.5",
      "--refresh",
      "60",
    ]);
    try {
      for (const s of [a, b, c]) {
        await client.waitForLog(
          new RegExp(`Joined ${s.address.replaceAll(".", "\\.")} port ${s.port}`),
        );
      }
      const send = (s: CatalogStream, options: Partial<Parameters<typeof sendRtpStream>[0]> = {}) =>
        sendRtpStream({
          group: s.address,
          port: s.port,
          bitrate: 4_000_000,
          durationS: 1.5,
          ...options,
        });
      const [a1, b1, c1] = await Promise.all([
        send(a, {
          ssrc: 0xa,
          startSeq: 65_000,
          loss: 0.02,
          duplicate: 0.01,
          reorder: 0.01,
          seed: 3,
        }),
        send(b, { ssrc: 0xb }),
        send(c, { ssrc: 0xc, loss: 0.01, seed: 4 }),
      ]);
      await client.waitForLog(/Stream a: no packets for 1 s: stalled/, 5000);
      // An interval while a is stalled: its stats line says so.
      await client.child.waitFor(/"stream":"a"[^\n]*"state":"stalled"/, {
        stream: "stdout",
        timeoutMs: 5000,
      });

      await writeCatalog(config, [a, b2, d]);
      await reload(server);
      client.child.kill("SIGHUP"); // refresh now, not in 60 s
      await client.waitForLog(/Stream c left the catalog: leaving 239\.30\.0\.3/);
      await client.waitForLog(/Stream b was re-described/);
      await client.waitForLog(new RegExp(`Joined 239\\.30\\.0\\.2 port ${b2.port}`));
      await client.waitForLog(new RegExp(`Joined 239\\.30\\.0\\.4 port ${d.port}`));
      const [a2, b3, d1] = await Promise.all([
        // a continues where it stopped (same SSRC, next sequence number): its stall ends.
        send(a, { ssrc: 0xa, startSeq: (a1.lastSeq! + 1) & 0xffff, loss: 0.02, seed: 5 }),
        send(b2, { ssrc: 0xbb, duplicate: 0.02, seed: 6 }),
        send(d, { ssrc: 0xd, reorder: 0.02, seed: 7 }),
      ]);
      await client.waitForLog(/Stream a: packets are flowing again/);
      await delay(200);
      client.process.kill("SIGINT");
      const result = await client.finished();
      assert.equal(result.code, 0, result.stderr);
      const records = result.records;
      assert.ok(records.every((r) => typeof r.stream === "string" && r.transport === "rtp"));

      // a: one SSRC across the stall; a1's trailing drops are lost once a2 follows on.
      const [sa, ...moreA] = of(records, "a");
      assert.equal(moreA.length, 0);
      assert.deepEqual(
        [sa?.ssrc, sa?.packets, sa?.lost, sa?.duplicates, sa?.reordered, sa?.stalls],
        [
          0xa,
          a1.sent + a2.sent,
          a1.dropped + a2.lost,
          a1.duplicated + a2.duplicated,
          a1.reordered +
          a2.reordered,
          1,
        ],
      );
      assert.ok(a1.lost > 0 && a1.duplicated > 0 && a1.reordered > 0, "a's impairments happened");
      // b: its summary when it was re-described, then the new description's at the end.
      const [sbOld, sbNew, ...moreB] = of(records, "b");
      assert.equal(moreB.length, 0);
      assert.equal(sbOld?.port, b.port);
      assertTruth(sbOld, b1, "b before the change");
      assert.equal(sbNew?.port, b2.port);
      assertTruth(sbNew, b3, "b after the change");
      // c: its summary when it left the catalog; d: joined with the change.
      const [sc] = of(records, "c");
      assertTruth(sc, c1, "c (left)");
      assertTruth(of(records, "d")[0], d1, "d (added)");
      const statsOfA = records.filter((r) => r.type === "stats" && r.stream === "a");
      assert.ok(statsOfA.some((r) => r.state === "stalled"), "the stall shows in a's stats lines");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "--stream repeated: two streams on one port in two groups, each with its own figures",
  ignore: !inPrivateNetns(),
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "client-streams-" });
    try {
      const port = randomRtpPort();
      const x = { name: "x", address: "239.30.1.1", port };
      const y = { name: "y", address: "239.30.1.2", port };
      await writeCatalog(`${dir}/c.json`, [x, y, { name: "z", address: "239.30.1.3", port }]);
      await using server = await startServer(["--config", `${dir}/c.json`]);
      const client = spawnClient([
        "--server",
        server.url,
        "--stream",
        "x",
        "--stream",
        "y",
        "--json",
        "--packets",
        "300",
        "--duration",
        "15",
      ]);
      await client.waitForLog(/Joined 239\.30\.1\.2/);
      const [tx, ty] = await Promise.all([
        sendRtpStream({ group: x.address, port, packets: 300, bitrate: 4_000_000 }),
        sendRtpStream({
          group: y.address,
          port,
          packets: 300,
          bitrate: 4_000_000,
          reorder: 0.03,
          seed: 2,
        }),
      ]);
      const result = await client.finished();
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr.split("\n")[0]!, /Receiving through the (kernel|deno) path: \S/);
      assert.ok(receiverUsed(result.stderr));
      // --packets 300 with several streams: the run ends once every stream counted 300.
      assertTruth(of(result.records, "x")[0], tx, "x");
      assertTruth(of(result.records, "y")[0], ty, "y");
      assert.ok(ty.reordered > 0);
      assert.deepEqual(
        [of(result.records, "x")[0]?.group, of(result.records, "y")[0]?.group],
        [x.address, y.address],
      );
      assert.deepEqual(of(result.records, "z"), [], "only the streams named");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "two --sdp: a VLC-written file and the server's .sdp URL, named by their s=",
  ignore: !inPrivateNetns(),
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "client-sdps-" });
    try {
      const port = randomRtpPort();
      const vlc = Deno.readTextFileSync(new URL("./testdata/vlc_mp2t.sdp", import.meta.url))
        .replace(/c=IN IP4 [0-9.]+/, "c=IN IP4 239.30.2.1").replace(
          /m=video \d+/,
          `m=video ${port}`,
        );
      await Deno.writeTextFile(`${dir}/vlc.sdp`, vlc);
      await writeCatalog(`${dir}/c.json`, [{ name: "tv", address: "239.30.2.2", port: port + 2 }]);
      await using server = await startServer(["--config", `${dir}/c.json`]);
      const client = spawnClient([
        "--sdp",
        `${dir}/vlc.sdp`,
        "--sdp",
        `${server.url}/streams/tv.sdp`,
        "--json",
        "--packets",
        "200",
      ]);
      await client.waitForLog(/Joined 239\.30\.2\.2/);
      const [t1, t2] = await Promise.all([
        sendRtpStream({ group: "239.30.2.1", port, packets: 200, bitrate: 4_000_000 }),
        sendRtpStream({ group: "239.30.2.2", port: port + 2, packets: 200, bitrate: 4_000_000 }),
      ]);
      const result = await client.finished();
      assert.equal(result.code, 0, result.stderr);
      const name = /^s=(.*)$/m.exec(vlc)![1]!.trim();
      assertTruth(of(result.records, name)[0], t1, "the VLC file's stream");
      assertTruth(of(result.records, "tv")[0], t2, "the server's description");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "--all keeps watching while the server is down, says so once, and follows it when back",
  ignore: !inPrivateNetns(),
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "client-outage-" });
    const config = `${dir}/c.json`;
    const port = randomRtpPort();
    const httpPort = freeTcpPort();
    const e = { name: "e", address: "239.30.3.1", port };
    const f = { name: "f", address: "239.30.3.2", port: port + 2 };
    await writeCatalog(config, [e]);
    let server = await startServer(["--config", config, "--port", String(httpPort)]);
    const client = spawnClient([
      "--server",
      server.url,
      "--all",
      "--json",
      "--refresh",
      "0.3",
      "--stall-after",
      "5",
    ]);
    try {
      await client.waitForLog(/Joined 239\.30\.3\.1/);
      const sending = sendRtpStream({ group: e.address, port, bitrate: 2_000_000, durationS: 3 });
      await delay(300);
      await server.stop();
      await client.waitForLog(/The server stopped answering \(.*\); still watching 1 streams/);
      await delay(800); // several refreshes fail meanwhile
      await writeCatalog(config, [e, f]);
      server = await startServer(["--config", config, "--port", String(httpPort)]);
      await client.waitForLog(/The server answers again/, 10_000);
      await client.waitForLog(/Joined 239\.30\.3\.2/);
      const truth = await sending;
      const tf = await sendRtpStream({
        group: f.address,
        port: f.port,
        packets: 100,
        bitrate: 2_000_000,
      });
      await delay(300);
      client.process.kill("SIGINT");
      const result = await client.finished();
      assert.equal(result.code, 0, result.stderr);
      assert.equal(
        result.stderr.match(/The server stopped answering/g)?.length,
        1,
        "once per outage",
      );
      assertTruth(of(result.records, "e")[0], truth, "the stream watched through the outage");
      assertTruth(of(result.records, "f")[0], tf, "the stream added after it");
    } finally {
      await server.stop().catch(() => {});
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "several streams end with exit 4 only when none received; a silent one is named",
  ignore: !inPrivateNetns(),
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "client-exit-" });
    try {
      const port = randomRtpPort();
      await writeCatalog(`${dir}/c.json`, [
        { name: "g", address: "239.30.4.1", port },
        { name: "h", address: "239.30.4.2", port },
      ]);
      await using server = await startServer(["--config", `${dir}/c.json`]);
      const none = spawnClient(["--server", server.url, "--all", "--json", "--timeout", "0.5"]);
      const silent = await none.finished();
      assert.equal(silent.code, 4, silent.stderr);
      assert.match(
        silent.stderr,
        /No packet on any of the 2 streams via any interface within 0\.5 s/,
      );
      assert.deepEqual(summaries(silent.records).map((r) => [r.stream, r.ssrc, r.packets]), [
        ["g", null, 0],
        ["h", null, 0],
      ]);

      const one = spawnClient([
        "--server",
        server.url,
        "--stream",
        "g",
        "--stream",
        "h",
        "--json",
        "--timeout",
        "1",
        "--duration",
        "2.5",
      ]);
      await one.waitForLog(/Joined 239\.30\.4\.2/);
      const truth = await sendRtpStream({
        group: "239.30.4.1",
        port,
        packets: 100,
        bitrate: 2_000_000,
      });
      const result = await one.finished();
      assert.equal(result.code, 0, result.stderr);
      assert.match(
        result.stderr,
        /Stream h: no packet on 239\.30\.4\.2 port \d+ within 1 s; still watching/,
      );
      assertTruth(of(result.records, "g")[0], truth, "g");
      assert.equal(of(result.records, "h")[0]?.packets, 0);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
