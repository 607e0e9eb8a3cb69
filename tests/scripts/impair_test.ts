// Tests of scripts/impair.ts, the impairment relay's command line, as a subprocess inside the test
// network namespace (scripts/netns_test.sh): relaying with a truth report, bad flags and --help.

import assert from "node:assert/strict";
import { sendRtpStream } from "../../lib/source/rtp_source.ts";
import { randomGroup4, randomRtpPort } from "../../scripts/support/endpoints.ts";
import { inPrivateNetns } from "../../scripts/support/netns.ts";
import { spawnDeno } from "../../scripts/support/process.ts";
import { Collector } from "../support/multicast_collector.ts";
import { assertHelpLists, assertUsageErrors, SHARED_SOURCE_FLAGS } from "../support/script_cli.ts";

const IMPAIR = "scripts/impair.ts";

Deno.test({
  name: "scripts/impair.ts rejects bad flags with one line and exits 2",
  ignore: !inPrivateNetns(),
  fn: async (t) => {
    await assertUsageErrors(t, IMPAIR, [
      [["--from", "239.0.0.1:5004"], /--to GROUP:PORT is required/],
      [["--from", "239.0.0.1", "--to", "239.0.0.2:1"], /--from: expected/],
      [["--from", "239.0.0.1:5004", "--to", "239.0.0.1:5004"], /is the group relayed from/],
    ]);
    await t.step("--help explains every flag and exits 0", async () => {
      await assertHelpLists(IMPAIR, ["--from", "--to", ...SHARED_SOURCE_FLAGS]);
    });
  },
});

Deno.test({
  name: "scripts/impair.ts relays a source to another group and prints its truth",
  ignore: !inPrivateNetns(),
  fn: async () => {
    const from = { group: randomGroup4(), port: randomRtpPort() };
    const to = { group: randomGroup4(), port: randomRtpPort() };
    await using collector = await Collector.open(to.group, to.port);
    await using child = spawnDeno([
      "run",
      "--no-prompt",
      "--allow-net",
      IMPAIR,
      "--from",
      `${from.group}:${from.port}`,
      "--to",
      `${to.group}:${to.port}`,
      "--packets",
      "30",
      "--duplicate",
      "0.2",
      "--seed",
      "3",
      "--json",
    ]);
    await child.waitFor(/\n/);
    assert.match(child.stderr, /^rtp-impair: relaying [0-9.]+:\d+ -> [0-9.]+:\d+\n/);
    await sendRtpStream({ ...from, packets: 30, bitrate: 5_000_000 });
    const { code, stdout } = await child.finished();
    assert.equal(code, 0);
    const truth = JSON.parse(stdout);
    assert.equal(truth.generated, 30);
    assert.equal(truth.seed, 3);
    assert.equal(truth.sent, 30 + truth.duplicated);
    assert.ok(truth.duplicated > 0);
    assert.ok(await collector.waitFor(truth.sent));
    assert.equal(collector.datagrams.length, truth.sent);
  },
});
