// Tests of scripts/source.ts, the test source's command line, as a subprocess inside the test
// network namespace (scripts/netns_test.sh): the truth as JSON, SIGTERM, bad flags and --help.

import assert from "node:assert/strict";
import { randomGroup4, randomRtpPort } from "../../scripts/support/endpoints.ts";
import { inPrivateNetns } from "../../scripts/support/netns.ts";
import { spawnDeno } from "../../scripts/support/process.ts";
import { assertCountsMatch } from "../support/impairment_truth.ts";
import { Collector, readRtp } from "../support/multicast_collector.ts";
import {
  assertHelpLists,
  assertUsageErrors,
  runNetScript,
  SHARED_SOURCE_FLAGS,
} from "../support/script_cli.ts";

const SOURCE = "scripts/source.ts";

Deno.test({
  name: "scripts/source.ts prints the truth as one JSON line and exits 0",
  ignore: !inPrivateNetns(),
  fn: async () => {
    const group = randomGroup4();
    const port = randomRtpPort();
    await using collector = await Collector.open(group, port);
    const result = await runNetScript(SOURCE, [
      "--group",
      group,
      "--port",
      String(port),
      "--packets",
      "50",
      "--bitrate",
      "5M",
      "--loss",
      "0.1",
      "--seed",
      "5",
      "--start-seq",
      "100",
      "--json",
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, "");
    const lines = result.stdout.trimEnd().split("\n");
    assert.equal(lines.length, 1);
    const truth = JSON.parse(lines[0]!);
    assert.equal(truth.generated, 50);
    assert.equal(truth.seed, 5);
    assert.equal(truth.bitrate, 5_000_000);
    assert.equal(truth.firstSeq, 100);
    assert.equal(truth.sent, 50 - truth.dropped);
    assert.ok(await collector.waitFor(truth.sent));
    assertCountsMatch(collector.datagrams.map((d) => readRtp(d).seq - 100), truth);
  },
});

Deno.test({
  name: "scripts/source.ts stops on SIGTERM, prints the truth and exits 0",
  ignore: !inPrivateNetns(),
  fn: async () => {
    const group = randomGroup4();
    const port = randomRtpPort();
    await using collector = await Collector.open(group, port);
    await using child = spawnDeno([
      "run",
      "--no-prompt",
      "--allow-net",
      SOURCE,
      "--group",
      group,
      "--port",
      String(port),
      "--duration",
      "30",
    ], { stdout: "null" });
    // Without --json a start line and a summary line go to stderr.
    assert.ok(await collector.waitFor(5, 10_000), "the source is sending");
    const { code, stderr } = await child.stop("SIGTERM");
    assert.equal(code, 0);
    assert.match(stderr, /^rtp-source: sending 1328-byte MP2T\/RTP datagrams to/);
    assert.match(stderr, /rtp-source: generated \d+, sent \d+ datagrams to/);
  },
});

Deno.test({
  name: "scripts/source.ts rejects bad flags with one line and exits 2",
  ignore: !inPrivateNetns(),
  fn: async (t) => {
    await assertUsageErrors(t, SOURCE, [
      [["--loss", "2"], /--loss: expected a probability/],
      [["--bitrate", "fast"], /--bitrate: expected bit\/s/],
      [["--group", "10.0.0.1"], /not a multicast address/],
      [["--port", "0"], /--port: expected an integer from 1/],
      [["--bogus"], /Unknown option '--bogus'/],
      [["extra"], /positional/],
      [["--group", "ff15::1"], /IPv6 hop limit/],
    ]);
    await t.step("--help explains every flag and exits 0", async () => {
      await assertHelpLists(SOURCE, [
        "--group",
        "--port",
        "--bitrate",
        "--ssrc",
        "--start-seq",
        ...SHARED_SOURCE_FLAGS,
      ]);
    });
  },
});

Deno.test("scripts/source.ts reads --raw-udp and the TR 101 290 fault flags", async () => {
  const { parseSourceArgs } = await import("../../scripts/source.ts");
  const command = parseSourceArgs([
    "--raw-udp",
    "--cc-skips",
    "100:5:50",
    "--transport-errors",
    "200:2",
    "--crc-errors",
    "300:1:100:pmt",
    "--pat-gap",
    "1000:700",
    "--pat-gap",
    "3000:600",
    "--pcr-jump",
    "4000:-50:flagged",
  ]);
  assert.equal(command.kind, "run");
  if (command.kind !== "run") return;
  assert.equal(command.options.rawUdp, true);
  assert.deepEqual(command.options.tsFaults, {
    ccSkips: { atMs: 100, count: 5, everyMs: 50 },
    transportErrors: { atMs: 200, count: 2 },
    crcErrors: { atMs: 300, count: 1, everyMs: 100, table: "pmt" },
    patGaps: [{ atMs: 1000, durationMs: 700 }, { atMs: 3000, durationMs: 600 }],
    pcrJumps: [{ atMs: 4000, jumpMs: -50, flagged: true }],
  });
  const plain = parseSourceArgs([]);
  assert.ok(plain.kind === "run");
  assert.deepEqual([plain.options.rawUdp, plain.options.tsFaults], [undefined, {}]);
  for (
    const [args, pattern] of [
      [["--cc-skips", "100"], /--cc-skips: expected AT_MS:COUNT\[:EVERY_MS\]/],
      [["--cc-skips", "100:x"], /COUNT must be an integer/],
      [["--crc-errors", "1:1:1:nit"], /pat, pmt or sdt/],
      [["--pat-gap", "1000"], /AT_MS:DURATION_MS/],
      [["--pcr-jump", "1:2:maybe"], /"flagged"/],
    ] as const
  ) {
    assert.throws(() => parseSourceArgs([...args]), pattern, args.join(" "));
  }
});
