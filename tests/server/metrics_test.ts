// Tests of lib/server/metrics.ts: offers and reports counted by stream and status with a bounded
// number of series, receiver aggregates from the store, and a rendering promtool accepts.
import assert from "node:assert/strict";
import {
  OTHER_STREAM,
  SERVER_FAMILIES,
  ServerMetrics,
  UNKNOWN_STREAM,
} from "../../lib/server/metrics.ts";
import type { SapCounters } from "../../lib/server/metrics.ts";
import { SAP_PROBLEMS, type SapProblem } from "../../lib/sap/packet.ts";
import { ReceiverStore } from "../../lib/server/receiver_store.ts";
import { parseReport } from "../../lib/server/report_validation.ts";
import { createExposition, type Sample } from "../../lib/common/prometheus.ts";
import { sampleReport } from "../../scripts/support/sample_report.ts";
import { promtoolCheck } from "../support/prometheus.ts";
import { peerTest } from "../support/peer_requirements.ts";

function find(samples: Map<string, Sample[]>, name: string, labels: Record<string, string>) {
  return samples.get(name)?.find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    ?.value;
}

Deno.test("ServerMetrics counts offers by stream and status, folding series beyond its cap", () => {
  const metrics = new ServerMetrics({ maxSeries: 3 });
  metrics.countOffer("news", 200);
  metrics.countOffer("news", 200);
  metrics.countOffer("news", 406);
  metrics.countOffer(UNKNOWN_STREAM, 404);
  metrics.countOffer("sport", 200);
  metrics.countOffer("tv", 200);
  const samples = metrics.samples();
  assert.equal(find(samples, "sdp_offers_total", { stream: "news", status: "200" }), 2);
  assert.equal(find(samples, "sdp_offers_total", { stream: "news", status: "406" }), 1);
  assert.equal(find(samples, "sdp_offers_total", { stream: "(unknown)", status: "404" }), 1);
  assert.equal(find(samples, "sdp_offers_total", { stream: OTHER_STREAM, status: "200" }), 2);
  assert.equal(samples.get("sdp_offers_total")!.length, 4);
});

await peerTest({
  name: "the server's exposition with every family populated passes promtool cleanly",
  peers: ["prometheus"],
  netns: false,
  async fn() {
    const store = new ReceiverStore();
    const encoder = new TextEncoder();
    for (const id of ["a", "b"]) {
      store.put(
        "news",
        "10.0.0.1",
        parseReport(encoder.encode(JSON.stringify(sampleReport(id))), "news"),
      );
    }
    // What SapDiscovery.snapshot() gives with --sap and --sap-listen (the counters end to end:
    // tests/e2e/server_sap_metrics_test.ts).
    const ignored = Object.fromEntries(SAP_PROBLEMS.map((p, i) => [p, i])) as Record<
      SapProblem,
      number
    >;
    const sap: SapCounters = {
      announcer: {
        streams: [],
        counters: { announcements: 12, deletions: 1, sendErrors: 0 },
      },
      listener: {
        sessions: [],
        counters: {
          announcements: 7,
          deletions: 1,
          duplicates: 0,
          unmatchedDeletions: 0,
          expired: 2,
          datagrams: 40,
          ignored: { ...ignored, tooManySessions: 0, foreignDeletion: 3 },
        },
        groups: ["224.2.127.254"],
        failedGroups: [],
      },
    };
    const metrics = new ServerMetrics({ store, sap: () => sap });
    metrics.countOffer("news", 200);
    metrics.countReport("news", 204);
    const exposition = await createExposition(SERVER_FAMILIES, () => metrics.samples());
    const text = await exposition.render();
    for (const family of SERVER_FAMILIES) {
      assert.match(text, new RegExp(`^${family.name}[{ ]`, "m"), `${family.name} has samples`);
    }
    assert.match(text, /^receivers_reporting\{stream="news"\} 2$/m);
    assert.match(text, /^receivers_with_continuity_errors\{stream="news"\} 2$/m);
    assert.match(text, /^receivers_worst_jitter_seconds\{stream="news"\} 0\.002054$/m);
    assert.match(text, /^sap_packets_ignored_total\{reason="foreignDeletion"\} 3$/m);
    assert.match(text, /^sap_announcements_sent_total 12$/m);
    const result = await promtoolCheck(text);
    assert.equal(result.code, 0, result.output);
    assert.equal(result.output.trim(), "");
  },
});
