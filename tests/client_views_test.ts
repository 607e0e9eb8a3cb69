// The client's PID table and SAP discovery as a person sees them: the real client in a real tmux
// terminal 80 columns wide (inside the private network namespace of scripts/netns_test.sh): the `p`
// key shows and hides the PID table, `--pids` shows it from the start, the terminal's settings are
// restored after a normal end and after SIGQUIT (Ctrl-\), and `--discover` draws its table.
import assert from "node:assert/strict";
import { sendRtpStream } from "../lib/source/rtp_source.ts";
import { TS_LAYOUT } from "../lib/source/ts_tables.ts";
import { encodeSapPacket } from "../lib/sap/packet.ts";
import { delay } from "../lib/common/delay.ts";
import { clientDenoArgs } from "../scripts/support/client_process.ts";
import { randomRtpPort } from "../scripts/support/endpoints.ts";
import { waitUntil } from "../scripts/support/poll.ts";
import { startStreamServer } from "../scripts/support/server_process.ts";
import { peerTest } from "./support/peer_requirements.ts";
import { terminal } from "./support/tmux.ts";

const root = new URL("../", import.meta.url).pathname;

/**
 * The shell command that runs the client with `args` in the repository and then says how it ended
 * and whether the terminal's settings (`stty -g`) are what they were before it.
 */
function clientCommand(args: readonly string[]): string {
  const client = [Deno.execPath(), ...clientDenoArgs(args)].join(" ");
  return `cd ${root} && before=$(stty -g) && ${client}; code=$?; ` +
    `[ "$(stty -g)" = "$before" ] && echo "terminal restored" || echo "terminal NOT restored"; ` +
    `echo "client exited $code"; sleep 60`;
}

/** An SDP description of the test source's MPEG-TS over RTP on group:port. */
function sdpOf(name: string, group: string, port: number): string {
  return `v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=${name}\r\nc=IN IP4 ${group}/1\r\nt=0 0\r\n` +
    `m=video ${port} RTP/AVP 33\r\na=rtpmap:33 MP2T/90000\r\n`;
}

/** A row of the PID table. */
interface PidRow {
  readonly role: string;
  readonly type: string;
  readonly packets: number;
  readonly mbps: number;
  readonly cc: number;
  readonly scrambled: string;
}

/** The rows of the PID table on a screen, by PID (`0x0100`). */
function pidRows(screen: string): Map<string, PidRow> {
  const rows = new Map<string, PidRow>();
  for (const line of screen.split("\n")) {
    const m = /^(0x[0-9a-f]{4}) (\S+) +(.+?) +(\d+) +(\d+\.\d\d) +(\d+) +(yes|no)$/.exec(line);
    if (m === null) continue;
    rows.set(m[1]!, {
      role: m[2]!,
      type: m[3]!,
      packets: Number(m[4]),
      mbps: Number(m[5]),
      cc: Number(m[6]),
      scrambled: m[7]!,
    });
  }
  return rows;
}

/** Every line of `screen` fits `columns`. */
function assertFits(screen: string, columns: number): void {
  for (const line of screen.split("\n")) {
    assert.ok([...line].length <= columns, `${[...line].length} > ${columns}: ${line}`);
  }
}

const hex = (pid: number) => `0x${pid.toString(16).padStart(4, "0")}`;

await peerTest({
  name: "tmux 80 columns: p shows the PID table under the live table and p hides it again",
  peers: ["tmux"],
  async fn() {
    const port = randomRtpPort();
    const dir = await Deno.makeTempDir({ prefix: "client-views-" });
    const stop = new AbortController();
    try {
      await Deno.writeTextFile(`${dir}/tv.sdp`, sdpOf("tv", "239.31.3.1", port));
      await using screen = await terminal(
        80,
        40,
        clientCommand(["--sdp", `${dir}/tv.sdp`, "--duration", "8", "--interval", "0.5"]),
      );
      await waitUntil(async () => /Joined 239/.test(await screen.capture()), 15_000, "joined", 100);
      const sending = sendRtpStream({
        group: "239.31.3.1",
        port,
        bitrate: 2_000_000,
        durationS: 10,
        signal: stop.signal,
      });
      await waitUntil(async () => /TS OK/.test(await screen.capture()), 10_000, "the table", 100);
      assert.doesNotMatch(await screen.capture(), /PIDs of/);
      await screen.sendKeys("p");
      // The table is drawn again at once, not at the next interval.
      const started = performance.now();
      await waitUntil(async () => /PIDs of tv/.test(await screen.capture()), 3000, "PIDs", 50);
      assert.ok(performance.now() - started < 1000, "redrawn on the key");
      await delay(1200); // an interval's bitrate
      const shown = await screen.capture();
      console.log(`--- PID table, 80 columns ---\n${shown.trimEnd()}\n---`);
      assertFits(shown, 80);
      assert.match(shown, /^PIDs of tv \(SSRC 0x[0-9a-f]{8}\)$/m);
      assert.match(shown, /^PID +role +stream type +packets +Mbit\/s +CC err +scr$/m);
      const rows = pidRows(shown);
      assert.deepEqual([...rows.keys()], [
        hex(0),
        hex(TS_LAYOUT.SDT_PID),
        hex(TS_LAYOUT.AUDIO_PID),
        hex(TS_LAYOUT.PMT_PID),
        hex(0x1fff),
      ]);
      const audio = rows.get(hex(TS_LAYOUT.AUDIO_PID))!;
      assert.deepEqual([audio.role, audio.type], ["audio+PCR", "0x03 MPEG-1 audio"]);
      assert.deepEqual(
        [rows.get(hex(0))!.role, rows.get(hex(TS_LAYOUT.PMT_PID))!.role],
        ["PAT", "PMT"],
      );
      assert.ok([...rows.values()].every((r) => r.packets > 0));
      // The source sends 2 Mbit/s, most of it null packets: the PIDs' rates sum to the stream's.
      const sum = [...rows.values()].reduce((a, r) => a + r.mbps, 0);
      assert.ok(sum > 1.8 && sum < 2.2, `${sum}`);
      assert.ok([...rows.values()].every((r) => r.cc === 0 && r.scrambled === "no"));

      await screen.sendKeys("p");
      await waitUntil(async () => !/PIDs of/.test(await screen.capture()), 3000, "hidden", 50);
      await waitUntil(async () => /client exited/.test(await screen.capture()), 15_000, "end", 100);
      const end = await screen.capture();
      assert.match(end, /client exited 0/);
      assert.match(end, /terminal restored/);
      stop.abort();
      await sending;
    } finally {
      stop.abort();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

await peerTest({
  name:
    "tmux: --pids shows the PID table from the start; Ctrl-\\ (SIGQUIT) ends the run and restores the terminal",
  peers: ["tmux"],
  async fn() {
    const port = randomRtpPort();
    const dir = await Deno.makeTempDir({ prefix: "client-views-" });
    const stop = new AbortController();
    try {
      await Deno.writeTextFile(`${dir}/tv.sdp`, sdpOf("tv", "239.31.3.2", port));
      await using screen = await terminal(
        80,
        40,
        clientCommand(["--sdp", `${dir}/tv.sdp`, "--pids", "--interval", "0.5"]),
      );
      await waitUntil(async () => /Joined 239/.test(await screen.capture()), 15_000, "joined", 100);
      const sending = sendRtpStream({
        group: "239.31.3.2",
        port,
        bitrate: 2_000_000,
        durationS: 20,
        signal: stop.signal,
      });
      await waitUntil(async () => /PIDs of tv/.test(await screen.capture()), 10_000, "PIDs", 100);
      await screen.sendKeys("C-\\");
      await waitUntil(async () => /client exited/.test(await screen.capture()), 10_000, "end", 100);
      const end = await screen.capture();
      assert.match(end, /client exited 0/);
      assert.match(end, /terminal restored/);
      assert.match(end, /DONE|INTERRUPTED|STALLED AT END/, "the last table was drawn");
      stop.abort();
      await sending;
    } finally {
      stop.abort();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

await peerTest({
  name: "tmux 80 columns: --discover draws the announced sessions and the ignored packets",
  peers: ["tmux"],
  async fn() {
    const port = randomRtpPort();
    await using server = await startStreamServer("239.31.3.3", port, [
      ...["--name", "a-rather-long-stream-name-for-80-columns", "--sap", "--sap-interval", "1"],
    ]);
    await using screen = await terminal(
      80,
      30,
      clientCommand(["--discover", "--duration", "5", "--interval", "0.5"]),
    );
    await waitUntil(
      async () => /a-rather-long/.test(await screen.capture()),
      10_000,
      "the session",
      100,
    );
    // One encrypted packet, ignored and counted.
    const socket = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
    try {
      await socket.send(
        encodeSapPacket({
          messageType: "announce",
          hash: 5,
          origin: "127.0.0.1",
          encrypted: true,
          payload: new Uint8Array(40),
        }),
        { transport: "udp", hostname: "224.2.127.254", port: 9875 },
      );
    } finally {
      socket.close();
    }
    await waitUntil(async () => /encrypted 1/.test(await screen.capture()), 5000, "count", 100);
    const shown = await screen.capture();
    console.log(`--- --discover, 80 columns ---\n${shown.trimEnd()}\n---`);
    assertFits(shown, 80);
    assert.match(shown, /^SAP discovery \(listening, \d+ s\) on \d+ groups port 9875: 1 session$/m);
    assert.match(shown, /^ignored: encrypted 1$/m);
    assert.match(shown, /^NAME +GROUP:PORT +FORMATS +ORIGIN +HEARD$/m);
    const row = shown.split("\n").find((l) => l.startsWith("a-rather-long"))!;
    assert.match(
      row,
      new RegExp(
        `^a-rather-long\\S*… +239\\.31\\.3\\.3:${port} +33 MP2T/90000 +127\\.0\\.0\\.1 +\\d+s$`,
      ),
    );
    await waitUntil(async () => /client exited/.test(await screen.capture()), 10_000, "end", 100);
    const end = await screen.capture();
    assert.match(end, /client exited 0/);
    assert.match(end, /SAP discovery \(ended/);
    await server.stop();
  },
});
