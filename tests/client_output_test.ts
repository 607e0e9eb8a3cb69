// The client's `--output FILE|-` end to end inside the private network namespace: MPEG-TS over RTP
// with reordering and duplicates written back in sequence order (ffmpeg's continuity check as the
// independent oracle, the test source's truth for the byte count), raw UDP as received, statistics
// on stderr with `-`, a reader that closes the pipe, a failing write, and VLC's H.264 + AAC through
// `--output - | ffprobe -`.
import assert from "node:assert/strict";
import { sendRtpStream } from "../lib/source/rtp_source.ts";
import { delay } from "../lib/common/delay.ts";
import { clientDenoArgs, clientRecords, spawnClient } from "../scripts/support/client_process.ts";
import { randomRtpPort } from "../scripts/support/endpoints.ts";
import { inPrivateNetns } from "../scripts/support/netns.ts";
import { Child, REPO_ROOT, runToEnd } from "../scripts/support/process.ts";
import { showsCrash } from "../scripts/support/server_process.ts";
import { peerTest } from "./support/peer_requirements.ts";
import { makeClip, startVlcRtp } from "./support/peers.ts";

/** TS bytes in one of the test source's datagrams (7 × 188). */
const TS_BYTES = 7 * 188;

/** An SDP description of an MPEG-TS stream on group:port, over RTP or raw UDP (as VLC writes it). */
function sdpOf(name: string, group: string, port: number, udp = false): string {
  return [
    "v=0",
    "o=- 1 1 IN IP4 127.0.0.1",
    `s=${name}`,
    `c=IN IP4 ${group}/1`,
    "t=0 0",
    udp ? `m=video ${port} udp mpeg` : `m=video ${port} RTP/AVP 33`,
    ...(udp ? [] : ["a=rtpmap:33 MP2T/90000"]),
    "",
  ].join("\r\n");
}

/** ffmpeg's count of "Continuity check failed" lines demuxing `ts` from a pipe (read once). */
async function ffmpegCcErrors(ts: Uint8Array): Promise<number> {
  const { success, stderr } = await runToEnd("ffmpeg", [
    ...["-hide_banner", "-nostdin", "-loglevel", "debug", "-f", "mpegts", "-i", "pipe:0"],
    ...["-f", "null", "-"],
  ], { input: ts, stdout: "null", timeoutMs: 60_000 });
  assert.ok(success, stderr.slice(-2000));
  return stderr.split("\n").filter((l) => l.includes("Continuity check failed")).length;
}

/** Every 188-byte packet of `ts` starts with the sync byte 0x47 (the file is whole packets). */
function assertWholePackets(ts: Uint8Array): void {
  assert.equal(ts.length % 188, 0, `${ts.length} bytes`);
  for (let at = 0; at < ts.length; at += 188) assert.equal(ts[at], 0x47, `sync at ${at}`);
}

Deno.test({
  name:
    "--output FILE: reordered and duplicated RTP is written in sequence order, each packet once",
  ignore: !inPrivateNetns(),
  async fn() {
    const port = randomRtpPort();
    const dir = await Deno.makeTempDir({ prefix: "client-output-" });
    try {
      await Deno.writeTextFile(`${dir}/tv.sdp`, sdpOf("tv", "239.31.1.1", port));
      const client = spawnClient([
        ...["--sdp", `${dir}/tv.sdp`, "--output", `${dir}/tv.ts`, "--json", "--interval", "0.5"],
      ]);
      await client.waitForLog(/Joined 239\.31\.1\.1/);
      const truth = await sendRtpStream({
        group: "239.31.1.1",
        port,
        bitrate: 2_000_000,
        durationS: 3,
        reorder: 0.05,
        duplicate: 0.05,
        seed: 7,
      });
      assert.ok(truth.reordered > 5 && truth.duplicated > 5, JSON.stringify(truth));
      await delay(400);
      client.process.kill("SIGINT");
      const result = await client.finished();
      assert.equal(result.code, 0, result.stderr);
      const summary = result.records.find((r) => r.type === "summary")!;
      // The receiver saw the stream out of order and with duplicates...
      assert.equal(summary.duplicates, truth.duplicated);
      assert.ok((summary.reordered as number) > 0, JSON.stringify(summary));
      assert.equal(summary.lost, 0, "every datagram arrived (none lost in the kernel)");
      // ...and the file holds every generated datagram's TS once, in order.
      const ts = await Deno.readFile(`${dir}/tv.ts`);
      assertWholePackets(ts);
      assert.equal(ts.length, truth.generated * TS_BYTES);
      assert.equal(await ffmpegCcErrors(ts), 0, "ffmpeg finds no continuity error");
      assert.match(
        result.stderr,
        new RegExp(
          `--output: wrote ${ts.length} bytes to ${dir}/tv\\.ts \\(${truth.generated} ` +
            `datagrams in sequence order; [1-9]\\d* put back in order, ${truth.duplicated} duplicates`,
        ),
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "--output FILE: a lost RTP packet is a gap the reader sees (ffmpeg counts it as the client)",
  ignore: !inPrivateNetns(),
  async fn() {
    const port = randomRtpPort();
    const dir = await Deno.makeTempDir({ prefix: "client-output-" });
    try {
      await Deno.writeTextFile(`${dir}/tv.sdp`, sdpOf("tv", "239.31.1.2", port));
      const client = spawnClient([
        ...["--sdp", `${dir}/tv.sdp`, "--output", `${dir}/tv.ts`, "--json"],
      ]);
      await client.waitForLog(/Joined 239\.31\.1\.2/);
      const truth = await sendRtpStream({
        group: "239.31.1.2",
        port,
        bitrate: 2_000_000,
        durationS: 2,
        loss: 0.02,
        seed: 11,
      });
      assert.ok(truth.dropped > 2, JSON.stringify(truth));
      await delay(400);
      client.process.kill("SIGINT");
      const result = await client.finished();
      assert.equal(result.code, 0, result.stderr);
      const ts = await Deno.readFile(`${dir}/tv.ts`);
      assertWholePackets(ts);
      assert.equal(ts.length, (truth.generated - truth.dropped) * TS_BYTES);
      const summary = result.records.find((r) => r.type === "summary")!;
      const clientCc = (summary.ts as { ccErrors: number }).ccErrors;
      assert.ok(clientCc > 0);
      assert.equal(await ffmpegCcErrors(ts), clientCc, "the gaps are in the file as received");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/**
 * The client with its stdout into `shell` (a bash pipeline tail such as `> FILE` or `| head -c N`):
 * `bash -c '"$@" SHELL; echo "client exit ${PIPESTATUS[0]}" >&2'`, so the client's exit code is on
 * stderr after its own log.
 */
function spawnPiped(args: string[], shell: string): Child {
  const script = `"$@" ${shell}; echo "client exit \${PIPESTATUS[0]}" >&2`;
  return new Child("/bin/bash", ["-c", script, "bash", Deno.execPath(), ...clientDenoArgs(args)], {
    cwd: REPO_ROOT,
    env: { PATH: "/usr/bin:/bin" },
    clearEnv: true,
  });
}

/** The client's exit code that {@link spawnPiped} printed; throws on a crash. */
async function pipedExit(child: Child): Promise<number> {
  await child.status;
  assert.ok(!showsCrash(child.stderr), child.stderr);
  const match = /client exit (\d+)/.exec(child.stderr);
  assert.ok(match !== null, child.stderr);
  return Number(match[1]);
}

/** The JSON lines of a text (the client's stderr with `--output -`). */
function jsonRecords(text: string): Record<string, unknown>[] {
  return clientRecords(text);
}

Deno.test({
  name: "--output -: raw MPEG-TS over UDP on stdout as received, the statistics on stderr",
  ignore: !inPrivateNetns(),
  async fn() {
    const port = randomRtpPort();
    const dir = await Deno.makeTempDir({ prefix: "client-output-" });
    try {
      await Deno.writeTextFile(`${dir}/raw.sdp`, sdpOf("raw", "239.31.1.3", port, true));
      const client = spawnPiped(
        // Bash does not pass SIGINT on: --duration ends the run (counted from the join).
        ["--sdp", `${dir}/raw.sdp`, "--output", "-", "--interval", "0.5", "--duration", "4"],
        `> ${dir}/raw.ts`,
      );
      await client.waitFor(/Joined 239\.31\.1\.3/, { timeoutMs: 15_000 });
      const truth = await sendRtpStream({
        group: "239.31.1.3",
        port,
        rawUdp: true,
        bitrate: 2_000_000,
        durationS: 2,
      });
      assert.equal(await pipedExit(client), 0, client.stderr);
      // Stdout is the transport stream only; the JSON lines went to stderr.
      const ts = await Deno.readFile(`${dir}/raw.ts`);
      assertWholePackets(ts);
      assert.equal(ts.length, truth.sent * TS_BYTES);
      assert.equal(await ffmpegCcErrors(ts), 0);
      const records = jsonRecords(client.stderr);
      assert.ok(records.some((r) => r.type === "stats"), client.stderr);
      const summary = records.find((r) => r.type === "summary")!;
      assert.deepEqual([summary.transport, summary.packets], ["udp", truth.sent]);
      assert.match(
        client.stderr,
        new RegExp(
          `--output: wrote ${ts.length} bytes to stdout \\(${truth.sent} datagrams as received\\)`,
        ),
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "--output -: a reader that closes the pipe ends the run cleanly with exit 0",
  ignore: !inPrivateNetns(),
  async fn() {
    const port = randomRtpPort();
    const dir = await Deno.makeTempDir({ prefix: "client-output-" });
    const stop = new AbortController();
    try {
      await Deno.writeTextFile(`${dir}/tv.sdp`, sdpOf("tv", "239.31.1.4", port));
      const client = spawnPiped(
        ["--sdp", `${dir}/tv.sdp`, "--output", "-"],
        "| head -c 100000 > /dev/null",
      );
      await client.waitFor(/Joined 239\.31\.1\.4/, { timeoutMs: 15_000 });
      const sending = sendRtpStream({
        group: "239.31.1.4",
        port,
        bitrate: 2_000_000,
        durationS: 20,
        signal: stop.signal,
      });
      await client.waitFor(/client exit/, { timeoutMs: 15_000 });
      stop.abort();
      await sending;
      assert.equal(await pipedExit(client), 0, client.stderr);
      assert.match(client.stderr, /--output: the reader closed the pipe; ending the run/);
      assert.ok(jsonRecords(client.stderr).some((r) => r.type === "summary"), "summary written");
    } finally {
      stop.abort();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "--output on a full file system: the failed write ends the run with exit 5 and says why",
  ignore: !inPrivateNetns(),
  async fn() {
    const port = randomRtpPort();
    const dir = await Deno.makeTempDir({ prefix: "client-output-" });
    const stop = new AbortController();
    try {
      await Deno.writeTextFile(`${dir}/tv.sdp`, sdpOf("tv", "239.31.1.5", port));
      await Deno.mkdir(`${dir}/full`);
      // A 64 KiB tmpfs in a mount namespace of its own (we are root in the test's user namespace).
      const script = `mount -t tmpfs -o size=64k tmpfs "$FULL" && exec "$@"`;
      const client = new Child(
        "/usr/bin/unshare",
        [
          ...["-m", "/bin/bash", "-c", script, "bash", Deno.execPath()],
          ...clientDenoArgs(["--sdp", `${dir}/tv.sdp`, "--output", `${dir}/full/tv.ts`, "--json"]),
        ],
        { cwd: REPO_ROOT, env: { PATH: "/usr/bin:/bin", FULL: `${dir}/full` }, clearEnv: true },
      );
      await client.waitFor(/Joined 239\.31\.1\.5/, { timeoutMs: 15_000 });
      const sending = sendRtpStream({
        group: "239.31.1.5",
        port,
        bitrate: 2_000_000,
        durationS: 20,
        signal: stop.signal,
      });
      const status = await client.status;
      stop.abort();
      await sending;
      assert.ok(!showsCrash(client.stderr), client.stderr);
      assert.equal(status.code, 5, client.stderr);
      assert.match(
        client.stderr,
        new RegExp(`--output: cannot write ${dir}/full/tv\\.ts: .*space.*; ending the run`, "i"),
      );
      assert.ok(clientRecords(client.stdout).some((r) => r.type === "summary"), "summary written");
    } finally {
      stop.abort();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "--output FIFO: SIGINT while it waits for a reader ends the client with 130",
  ignore: !inPrivateNetns(),
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "client-output-" });
    try {
      await Deno.writeTextFile(`${dir}/tv.sdp`, sdpOf("tv", "239.31.1.7", randomRtpPort()));
      const made = await runToEnd("mkfifo", [`${dir}/fifo`]);
      assert.equal(made.code, 0, made.stderr);
      const client = spawnClient(["--sdp", `${dir}/tv.sdp`, "--output", `${dir}/fifo`]);
      await client.waitForLog(/Receiving through the/);
      await delay(500); // the client is now blocked opening the FIFO
      client.process.kill("SIGINT");
      const result = await client.finished();
      assert.equal(result.code, 130, result.stderr);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("--output: refused with several streams or --all, and for a file that cannot be made", async () => {
  for (
    const args of [
      ["--sdp", "a.sdp", "--sdp", "b.sdp", "--output", "x.ts"],
      ["--all", "--output", "x.ts"],
      ["--output", ""],
    ]
  ) {
    const result = await runToEnd(Deno.execPath(), clientDenoArgs(args), { cwd: REPO_ROOT });
    assert.equal(result.code, 2, `${args.join(" ")}: ${result.stderr}`);
    assert.match(result.stderr, /--output/);
  }
  const result = await runToEnd(
    Deno.execPath(),
    clientDenoArgs(["--sdp", "a.sdp", "--output", "/nonexistent-dir/x.ts"]),
    { cwd: REPO_ROOT },
  );
  assert.equal(result.code, 2, result.stderr);
  assert.match(result.stderr, /--output: cannot write \/nonexistent-dir\/x\.ts/);
});

await peerTest({
  name: "client --output - | ffprobe - finds VLC's H.264 and AAC streams in its RTP MPEG-TS",
  peers: ["vlc", "ffmpeg"],
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "client-output-vlc-" });
    try {
      const clip = await makeClip(dir, { seconds: 6 });
      const port = randomRtpPort();
      await Deno.writeTextFile(`${dir}/vlc.sdp`, sdpOf("vlc", "239.31.1.6", port));
      const probe = spawnPiped(
        ["--sdp", `${dir}/vlc.sdp`, "--output", "-", "--timeout", "20"],
        "| ffprobe -v error -probesize 1M -analyzeduration 2M -print_format json -show_streams " +
          "-show_programs -i pipe:0",
      );
      await probe.waitFor(/Joined 239\.31\.1\.6/, { timeoutMs: 15_000 });
      await using _vlc = await startVlcRtp({ file: clip, group: "239.31.1.6", port });
      await probe.waitFor(/client exit/, { timeoutMs: 30_000 });
      assert.equal(await pipedExit(probe), 0, probe.stderr);
      const result = JSON.parse(probe.stdout) as {
        streams: { codec_name: string; codec_type: string }[];
        programs: unknown[];
      };
      const codecs = result.streams.map((s) => `${s.codec_type}:${s.codec_name}`).sort();
      assert.deepEqual(codecs, ["audio:aac", "video:h264"], probe.stdout);
      assert.equal(result.programs.length, 1);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
