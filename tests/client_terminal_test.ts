// deno-lint-ignore-file no-control-regex -- these tests match the SGR colour sequences
// The client's live table as a person sees it: the real client in a real tmux terminal 60, 80 and
// 120 columns wide, against a test source that stalls and comes back with a new SSRC (as VLC
// --loop does), inside the private network namespace of scripts/netns_test.sh.
import assert from "node:assert/strict";
import { sendRtpStream, type SourceTruth } from "../lib/source/rtp_source.ts";
import { startServer, startStreamServer } from "../scripts/support/server_process.ts";
import { peerTest } from "./support/peer_requirements.ts";
import { randomRtpPort } from "../scripts/support/endpoints.ts";
import { waitUntil } from "../scripts/support/poll.ts";
import { delay } from "../lib/common/delay.ts";
import { clientDenoArgs } from "../scripts/support/client_process.ts";
import { terminal } from "./support/tmux.ts";

const root = new URL("../", import.meta.url).pathname;
/** Rows of every test terminal. */
const ROWS = 40;

/** The shell command that runs the client with `args` (and the receive path the tests ask for). */
function clientCommand(args: readonly string[]): string {
  return [Deno.execPath(), ...clientDenoArgs(args)].join(" ");
}

interface Run {
  readonly columns: number;
  readonly screens: string[];
  readonly final: string;
  readonly finalJoined: string;
  readonly finalEscapes: string;
  readonly truths: SourceTruth[];
  readonly group: string;
}

/** Runs the client in a terminal `columns` wide while source A sends, stalls, and B takes over. */
async function watch(columns: number, id: number, env: Record<string, string>): Promise<Run> {
  const group = `239.10.3.${id}`;
  const port = randomRtpPort();
  await using server = await startStreamServer(group, port);
  const client = clientCommand(["--server", server.url, "--duration", "7", "--stall-after", "1"]);
  await using screen = await terminal(
    columns,
    ROWS,
    `cd ${root} && ${client}; echo "client exited $?"; sleep 60`,
    env,
  );
  const screens: string[] = [];
  await waitUntil(
    async () => /Joined 239/.test(await screen.capture({ history: true, joined: true })),
    15_000,
    "the client joined",
    100,
  );
  const sampling = (async () => {
    while (!/client exited/.test(screens.at(-1) ?? "")) {
      screens.push(await screen.capture({ history: true, joined: true }));
      await delay(150);
    }
  })();
  const send = (ssrc: number, seed: number) =>
    sendRtpStream({
      group,
      port,
      ttl: 0,
      bitrate: 2_000_000,
      durationS: 1.5,
      ssrc,
      loss: 0.03,
      seed,
    });
  const truths = [await send(0x1111, 1)];
  await delay(2000); // a stall (--stall-after 1)
  truths.push(await send(0x2222, 2));
  await waitUntil(
    async () => /client exited/.test(await screen.capture({ history: true })),
    15_000,
    "the client ended",
    100,
  );
  await sampling;
  return {
    columns,
    screens,
    final: await screen.capture({ history: true }),
    finalJoined: await screen.capture({ history: true, joined: true }),
    finalEscapes: await screen.capture({ history: true, escapes: true }),
    truths,
    group,
  };
}

/** The table's first line: `GROUP port N  ...` (a wrapped log line has one space after the port). */
function isHeader(line: string, group: string): boolean {
  return line.startsWith(`${group} port `) && / port \d+ {2}/.test(line);
}

function tableLines(screen: string, group: string): string[] {
  const lines = screen.split("\n");
  const start = lines.findIndex((l) => isHeader(l, group));
  const end = lines.findIndex((l, i) => i > start && l.startsWith("invalid "));
  return start < 0 || end < 0 ? [] : lines.slice(start, end + 1);
}

await peerTest({
  name:
    "the live table at 60, 80 and 120 columns: one header, no wrapped rows, messages kept above",
  peers: ["tmux"],
  async fn() {
    const runs = await Promise.all([
      watch(60, 1, {}),
      watch(80, 2, {}),
      watch(120, 3, { NO_COLOR: "1" }),
    ]);
    for (const run of runs) {
      const where = `at ${run.columns} columns:\n${run.final}`;
      const { group } = run;
      // Every screen while it ran: exactly one header and one title line, never a stale copy.
      for (const screen of run.screens) {
        const headers = screen.split("\n").filter((l) => isHeader(l, group));
        const titles = screen.split("\n").filter((l) => /^ +SSRC +PT +packets/.test(l));
        assert.ok(headers.length <= 1 && titles.length <= 1, `stale header ${where}\n${screen}`);
      }
      assert.ok(run.screens.length > 20, "the screen was sampled while the client ran");
      // No table row wrapped: with tmux's wrapping undone, every table line still fits.
      const table = tableLines(run.finalJoined, group);
      assert.ok(table.length >= 5, where);
      for (const line of table) assert.ok(line.length < run.columns, `wrapped: ${line} ${where}`);
      assert.deepEqual(tableLines(run.final, group), table, where);
      // The messages stay readable above the table, in order (log lines may wrap: undo that).
      const lines = run.finalJoined.split("\n");
      const headerAt = lines.findIndex((l) => isHeader(l, group));
      const stalled = lines.findIndex((l) => /No packets for 1 s/.test(l));
      const flowing = lines.findIndex((l) => /Packets are flowing again/.test(l));
      assert.ok(stalled >= 0 && stalled < flowing && flowing < headerAt, where);
      // The final table: how it ended, both sources with the source's own counts, marked.
      assert.match(table[0]!, /STALLED AT END|DONE/, where);
      assert.doesNotMatch(table.join("\n"), /RECEIVING/, where);
      for (const truth of run.truths) {
        const ssrc = `0x${truth.ssrc.toString(16).padStart(8, "0")}`;
        const row = table.find((l) => l.startsWith(ssrc));
        assert.ok(row, `${ssrc} ${where}`);
        const [, , packets, lost] = row.split(/ +/);
        assert.equal(Number(packets), truth.sent, where);
        assert.equal(Number(lost), truth.lost, where);
        assert.ok(truth.lost > 0, "the source's loss happened");
        assert.match(row, / ended$/, where);
      }
      assert.match(lines.find((l) => /^client exited/.test(l)) ?? "", /client exited 0/, where);
    }
    // Colour on a terminal that has it (red loss), none with NO_COLOR.
    assert.match(runs[1]!.finalEscapes, /\x1b\[31m/);
    const noColor = tableLines(runs[2]!.finalEscapes, runs[2]!.group).join("\n");
    assert.doesNotMatch(noColor, /\x1b\[3[0-9]m/);
  },
});

await peerTest({
  name: "deno task demo on a terminal shows the live table, not JSON lines",
  peers: ["tmux"],
  async fn() {
    await using screen = await terminal(
      80,
      ROWS,
      `cd ${root} && ${Deno.execPath()} task demo -- --seconds 3 --loss 0.01; sleep 60`,
      {},
    );
    await waitUntil(
      async () =>
        /demo: the source generated/.test(await screen.capture({ history: true, joined: true })),
      30_000,
      "the demo ended",
      100,
    );
    const text = await screen.capture({ history: true, joined: true });
    const lines = text.split("\n");
    assert.equal(lines.filter((l) => isHeader(l, "239.0.0.1")).length, 1, text);
    assert.ok(!lines.some((l) => l.startsWith("{")), `no JSON lines on a terminal:\n${text}`);
    const table = tableLines(text, "239.0.0.1");
    assert.match(table[0]!, /DONE|STALLED AT END/, text);
    const row = table.find((l) => l.startsWith("0x"));
    assert.ok(row !== undefined && Number(row.split(/ +/)[2]) > 400, text);
    for (const line of table) assert.ok(line.length < 80, line);
  },
});

interface StreamsRun {
  readonly columns: number;
  readonly screens: string[];
  readonly final: string;
  readonly finalJoined: string;
  readonly truths: Record<string, SourceTruth>;
}

/** The streams table's lines: from its `N streams` header to the end of its health lines. */
function streamsLines(screen: string): string[] {
  const lines = screen.split("\n");
  const start = lines.findIndex((l) => /^3 streams {2}/.test(l));
  const end = lines.findIndex((l) => /^client exited/.test(l));
  return start < 0 ? [] : lines.slice(start, end < 0 ? undefined : end).filter((l) => l !== "");
}

/**
 * Runs the client with --all in a terminal `columns` wide over a three-stream catalog: "alpha"
 * with loss, "beta" clean, "gamma-long-name" sending for 1 s only (it stalls), all MPEG-TS.
 */
async function watchStreams(columns: number, id: number): Promise<StreamsRun> {
  const dir = await Deno.makeTempDir({ prefix: "gateway-tmux-streams-" });
  const port = randomRtpPort();
  const streams = [
    { name: "alpha", address: `239.10.5.${id}`, port },
    { name: "beta", address: `239.10.6.${id}`, port },
    { name: "gamma-long-name", address: `239.10.7.${id}`, port: port + 2 },
  ];
  try {
    await Deno.writeTextFile(
      `${dir}/c.json`,
      JSON.stringify({ streams: streams.map((s) => ({ ...s, formats: [{ payloadType: 33 }] })) }),
    );
    await using server = await startServer(["--config", `${dir}/c.json`]);
    const client = clientCommand([
      "--server",
      server.url,
      "--all",
      "--duration",
      "6",
      "--stall-after",
      "1",
      // Nine timer-paced test sources in three runs at once can pause over 100 ms on a loaded
      // machine: a true 2.3a PCR repetition error, but not what this test is about.
      "--pcr-interval-ms",
      "1000",
    ]);
    await using screen = await terminal(
      columns,
      ROWS,
      `cd ${root} && ${client}; echo "client exited $?"; sleep 60`,
      {},
    );
    await waitUntil(
      async () => /Joined 239\.10\.7/.test(await screen.capture({ history: true, joined: true })),
      15_000,
      "the client joined",
      100,
    );
    const screens: string[] = [];
    const sampling = (async () => {
      while (!/client exited/.test(screens.at(-1) ?? "")) {
        screens.push(await screen.capture({ history: true, joined: true }));
        await delay(150);
      }
    })();
    const send = (s: typeof streams[number], durationS: number, loss = 0) =>
      sendRtpStream({
        group: s.address,
        port: s.port,
        ttl: 0,
        bitrate: 2_000_000,
        durationS,
        loss,
        seed: id,
      });
    const [alpha, beta, gamma] = await Promise.all([
      send(streams[0]!, 3.5, 0.03),
      send(streams[1]!, 3.5),
      send(streams[2]!, 1),
    ]);
    await waitUntil(
      async () => /client exited/.test(await screen.capture({ history: true })),
      15_000,
      "the client ended",
      100,
    );
    await sampling;
    return {
      columns,
      screens,
      final: await screen.capture({ history: true }),
      finalJoined: await screen.capture({ history: true, joined: true }),
      truths: { alpha: alpha!, beta: beta!, "gamma-long-name": gamma! },
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

await peerTest({
  name:
    "three streams at 60, 80 and 120 columns: one row each, the stalled one first, TS health lines",
  peers: ["tmux"],
  async fn() {
    const runs = await Promise.all([
      watchStreams(60, 1),
      watchStreams(80, 2),
      watchStreams(120, 3),
    ]);
    for (const run of runs) {
      const where = `at ${run.columns} columns:\n${run.final}`;
      if (Deno.env.get("GATEWAY_SHOW_SCREENS")) console.log(where);
      for (const screen of run.screens) {
        const headers = screen.split("\n").filter((l) => /^3 streams {2}/.test(l));
        const titles = screen.split("\n").filter((l) => /^stream +.*packets +lost/.test(l));
        assert.ok(headers.length <= 1 && titles.length <= 1, `stale header ${where}\n${screen}`);
      }
      // While gamma was stalled and the others flowed, its row came first, marked.
      const live = run.screens.map(streamsLines).find((t) => /STALLED$/.test(t[2] ?? ""));
      assert.ok(live, `a screen with gamma stalled ${where}`);
      if (Deno.env.get("GATEWAY_SHOW_SCREENS")) {
        console.log(`live at ${run.columns}:\n${live.join("\n")}`);
      }
      assert.match(live[0]!, /^3 streams {2}2 receiving {2}1 STALLED/, live.join("\n"));
      assert.match(live[2]!, /^gamma-long/, live.join("\n"));
      assert.match(live[3]!, /^alpha .*(LOSS|ok)$/, live.join("\n"));
      // The final table fits (tmux's wrapping undone) and holds the sources' own counts.
      const table = streamsLines(run.finalJoined);
      assert.deepEqual(streamsLines(run.final), table, where);
      for (const line of table) assert.ok(line.length < run.columns, `wrapped: ${line} ${where}`);
      assert.match(table[0]!, /^3 streams {2}(DONE|STALLED AT END) /, where);
      for (const [name, truth] of Object.entries(run.truths)) {
        const row = table.find((l) => l.startsWith(name.slice(0, 8)));
        assert.ok(row, `${name} ${where}`);
        const cells = row.split(/ +/);
        const at = run.columns >= 80 ? 2 : 1; // 60 columns leave the SSRC out
        assert.equal(Number(cells[at]), truth.sent, `${name} ${where}`);
        assert.equal(Number(cells[at + 1]), truth.lost, `${name} ${where}`);
      }
      const health = table.filter((l) => / {2}TS /.test(l));
      assert.equal(health.length, 3, where);
      assert.match(health[0]!, /^alpha {2}TS 1\.4 CC \d+/, "the one with errors first");
      assert.ok(health.slice(1).every((l) => l.endsWith("TS OK")), where);
    }
  },
});
