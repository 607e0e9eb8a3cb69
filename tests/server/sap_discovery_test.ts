// SapDiscovery (lib/server/sap_discovery.ts) on real sockets inside the test namespace: what the
// server announces is heard by an independent SapListener (and deleted on reload and at close);
// what another announcer announces joins the LiveCatalog as a discovered stream and leaves it with
// its deletion; the server's own announcements never shadow its configured streams.
import assert from "node:assert/strict";
import { SapAnnouncer } from "../../lib/sap/announcer.ts";
import type { DirectoryEvent } from "../../lib/sap/directory.ts";
import { SapListener } from "../../lib/sap/listener.ts";
import { Catalog, validateStreams } from "../../lib/server/catalog.ts";
import { LiveCatalog } from "../../lib/server/live_catalog.ts";
import { SapDiscovery } from "../../lib/server/sap_discovery.ts";
import { inPrivateNetns } from "../../scripts/support/netns.ts";
import { waitUntil } from "../../scripts/support/poll.ts";

const configured = validateStreams([
  { name: "news", address: "239.255.0.21", port: 5004, formats: [{ payloadType: 33 }] },
  { name: "raw", address: "239.255.0.22", port: 1234, transport: "udp", category: "tv.raw" },
]);

Deno.test({
  name: "SapDiscovery announces the configured streams, deletes them on reload and at close",
  ignore: !inPrivateNetns(),
  async fn() {
    const events: DirectoryEvent[] = [];
    await using observer = await SapListener.open({ onEvent: (e) => events.push(e) });
    const live = new LiveCatalog(configured);
    const sap = await SapDiscovery.start(
      { announce: true, intervalS: 0.2, originV4: "127.0.0.1", listen: false },
      live,
    );
    try {
      await waitUntil(() => observer.snapshot().sessions.length === 2, 5000, "both announced");
      const raw = observer.snapshot().sessions.find((s) => s.name === "raw")!;
      assert.equal(raw.transport, "udp");
      assert.equal(raw.category, "tv.raw");
      assert.equal(raw.origin, "127.0.0.1");
      assert.match(raw.sdp, /^m=video 1234 udp mpeg\r$/m);
      live.configure(configured.slice(0, 1));
      await sap.reload();
      await waitUntil(
        () => events.some((e) => e.type === "deleted" && e.session.name === "raw"),
        3000,
        "raw's deletion",
      );
      assert.deepEqual(observer.snapshot().sessions.map((s) => s.name), ["news"]);
    } finally {
      await sap.close();
    }
    await waitUntil(() => observer.snapshot().sessions.length === 0, 3000, "news's deletion");
    assert.ok(events.some((e) => e.type === "deleted" && e.session.name === "news"));
  },
});

Deno.test({
  name: "SapDiscovery adds what others announce to the catalog and removes it with its deletion",
  ignore: !inPrivateNetns(),
  async fn() {
    const live = new LiveCatalog(configured);
    // The server both announces and listens: its own announcements come back and are left out.
    await using _sap = await SapDiscovery.start(
      { announce: true, intervalS: 0.2, listen: true },
      live,
    );
    const other = validateStreams([
      { name: "elsewhere", address: "239.255.0.23", port: 5006, formats: [{ payloadType: 33 }] },
      // Same name as a configured stream: never replaces it.
      { name: "news", address: "239.255.0.24", port: 9999, formats: [{ payloadType: 33 }] },
    ]);
    const { announcer } = SapAnnouncer.start(new Catalog(other).entries(), {
      intervalMs: 200,
      originV4: "127.0.0.2",
    });
    try {
      await waitUntil(() => live.current.get("elsewhere") !== undefined, 5000, "discovered");
      assert.equal(live.current.originOf("elsewhere"), "sap");
      assert.equal(live.current.get("elsewhere")!.stream.port, 5006);
      assert.equal(live.current.get("news")!.stream.address, "239.255.0.21");
      assert.equal(live.current.originOf("news"), "config");
      assert.deepEqual(live.current.configuredEntries().map((e) => e.stream.name), [
        "news",
        "raw",
      ]);
    } finally {
      await announcer.close();
    }
    await waitUntil(() => live.current.get("elsewhere") === undefined, 3000, "its deletion");
    assert.deepEqual(live.current.entries().map((e) => e.stream.name), ["news", "raw"]);
  },
});
