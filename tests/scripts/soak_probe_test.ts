// The CI slice of the probe soak of issue 13 (scripts/soak_probe.ts): 30 s of the client with --all
// over five MPEG-TS/RTP streams from a real server, through three restarts, three stalls and three
// catalog reloads; every (stream, SSRC) summary equals its source's truth and the RSS stays flat.
import assert from "node:assert/strict";
import { MAX_GROWTH_MB, runProbeSoak } from "../../scripts/soak_probe.ts";
import { inPrivateNetns } from "../../scripts/support/netns.ts";

Deno.test({
  name: "soak_probe, 30 s slice: restarts, stalls and catalog changes with flat memory and " +
    "every figure equal to the sources' truth",
  ignore: !inPrivateNetns(),
  async fn() {
    const report = await runProbeSoak({ minutes: 0.5, cycleS: 10, sampleEveryS: 2 });
    const detail = JSON.stringify({ ...report, rss: { ...report.rss, samples: undefined } });
    assert.deepEqual(
      report.events,
      { restarts: 3, stalls: 3, added: 2, removed: 1, redescribed: 3, reloads: 3 },
      detail,
    );
    assert.deepEqual(report.mismatches, [], detail);
    // Five first sources, a restart and a stall each round, the extra stream added twice.
    assert.equal(report.sources, 5 + 3 + 3 + 2, detail);
    assert.equal(report.summaries, report.sources, detail);
    assert.equal(report.received, report.sent, detail);
    assert.ok(report.sent > 25_000, detail); // 5 streams × ~190 datagrams/s × 30 s
    assert.ok(report.tsPackets >= 7 * report.received, detail); // TS analysis was on
    for (const [stream, [counted, made]] of Object.entries(report.stallsCounted)) {
      assert.equal(counted, made, `stalls of ${stream}: ${detail}`);
    }
    assert.equal(report.clientExitCode, 0, detail);
    assert.ok(report.rss.floorGrowthMb < MAX_GROWTH_MB, detail);
    assert.ok(report.rssFlat && report.figuresMatch && report.ok, detail);
  },
});
