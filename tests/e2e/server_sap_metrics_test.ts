// The real server with --sap and --sap-listen inside the test namespace, scraped at GET /metrics:
// the SAP counters (lib/server/metrics.ts) equal what an independent listener heard of the server's
// announcements and what the test sent to it (good and bad SAP packets), and promtool accepts them.
import assert from "node:assert/strict";
import { SapListener } from "../../lib/sap/listener.ts";
import { encodeSapPacket } from "../../lib/sap/packet.ts";
import { randomRtpPort } from "../../scripts/support/endpoints.ts";
import { waitUntil } from "../../scripts/support/poll.ts";
import { startServer } from "../../scripts/support/server_process.ts";
import { metricSample } from "../support/exposition.ts";
import { peerTest } from "../support/peer_requirements.ts";
import { promtoolCheck } from "../support/prometheus.ts";

const SAP_GROUP = { transport: "udp", hostname: "224.2.127.254", port: 9875 } as const;

await peerTest({
  name:
    "--sap --sap-listen: /metrics counts the announcements sent and heard and each bad SAP packet by reason",
  peers: ["prometheus"],
  async fn() {
    const port = randomRtpPort();
    const config = await Deno.makeTempFile({ prefix: "sap-metrics-", suffix: ".json" });
    await Deno.writeTextFile(
      config,
      JSON.stringify({
        streams: [{ name: "news", address: "239.0.0.58", port, formats: [{ payloadType: 33 }] }],
      }),
    );
    await using observer = await SapListener.open({ groups: ["224.2.127.254"] });
    const socket = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.2", port: 0 });
    try {
      await using server = await startServer([
        ...["--config", config, "--sap", "--sap-interval", "0.5", "--sap-listen"],
        ...["--sap-origin", "127.0.0.1"],
      ]);
      const sdp = new TextEncoder().encode(
        "v=0\r\no=- 1 1 IN IP4 127.0.0.2\r\ns=other\r\nc=IN IP4 239.255.0.58/1\r\nt=0 0\r\n" +
          `m=video ${randomRtpPort()} RTP/AVP 33\r\n`,
      );
      const base = { messageType: "announce", hash: 4242, origin: "127.0.0.2" } as const;
      const good = encodeSapPacket({ ...base, payloadType: "application/sdp", payload: sdp });
      const bad = {
        wrongVersion: [Uint8Array.of(0x00, ...good.slice(1)), 3],
        truncated: [good.slice(0, 5), 2],
        encrypted: [encodeSapPacket({ ...base, encrypted: true, payload: sdp }), 4],
        notSdp: [encodeSapPacket({ ...base, payloadType: "text/plain", payload: sdp }), 1],
      } as const;
      for (const [packet, times] of Object.values(bad)) {
        for (let i = 0; i < times; i++) await socket.send(packet, SAP_GROUP);
      }
      // The good one last: the server has handled the bad ones when "other" is in its catalog.
      await socket.send(good, SAP_GROUP);
      const names = async () =>
        ((await (await fetch(`${server.url}/streams`)).json()) as { streams: { name: string }[] })
          .streams.map((s) => s.name);
      await waitUntil(async () => (await names()).includes("other"), 5000, "other in the catalog");
      await waitUntil(
        () => observer.snapshot().counters.announcements >= 3,
        5000,
        "three of the server's announcements",
      );
      const text = await (await fetch(`${server.url}/metrics`)).text();
      const heardByObserver = observer.snapshot().counters.announcements - 1; // minus ours
      const lint = await promtoolCheck(text);
      assert.equal(lint.code, 0, lint.output);
      for (const [reason, [, times]] of Object.entries(bad)) {
        assert.equal(metricSample(text, "sap_packets_ignored_total", { reason }), times, reason);
      }
      assert.equal(metricSample(text, "sap_packets_ignored_total", { reason: "huge" }), 0);
      const sent = metricSample(text, "sap_announcements_sent_total")!;
      // One announcement may be between the server's count and the observer's socket.
      assert.ok(
        sent === heardByObserver || sent === heardByObserver + 1,
        `sent ${sent}, the observer heard ${heardByObserver}`,
      );
      // The server hears its own announcements too (and leaves them out of the catalog).
      const heard = metricSample(text, "sap_announcements_received_total")!;
      assert.ok(heard >= 1 + sent - 1 && heard <= 1 + sent, `heard ${heard}, sent ${sent}`);
      assert.equal(metricSample(text, "sap_sessions_heard"), 2, "its own and other");
      assert.equal(metricSample(text, "sap_send_errors_total"), 0);
      assert.equal(metricSample(text, "sap_deletions_sent_total"), 0);
      assert.equal(
        metricSample(text, "sap_datagrams_received_total"),
        heard + 3 + 2 + 4 + 1,
        "every datagram: the announcements heard and the bad packets",
      );
    } finally {
      socket.close();
      await Deno.remove(config);
    }
  },
});
