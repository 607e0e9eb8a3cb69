// The SAP announcer and listener on real sockets inside the test namespace (RFC 2974): each stream
// announced on its scope's group with its own TTL (checked with tshark's SAP dissector), found by
// the listener, deleted when it leaves and at shutdown; bad packets ignored and counted; IPv6 too.
import assert from "node:assert/strict";
import { SapAnnouncer } from "../../lib/sap/announcer.ts";
import type { DirectoryEvent } from "../../lib/sap/directory.ts";
import { deflate } from "../../lib/sap/inflate.ts";
import { SapListener } from "../../lib/sap/listener.ts";
import { encodeSapPacket, MAX_SAP_PACKET_BYTES } from "../../lib/sap/packet.ts";
import type { StreamDefinition } from "../../lib/sdp/stream.ts";
import { Catalog } from "../../lib/server/catalog.ts";
import { startCapture } from "../support/capture.ts";
import { inPrivateNetns } from "../../scripts/support/netns.ts";
import { waitUntil } from "../../scripts/support/poll.ts";
import { peerTest } from "../support/peer_requirements.ts";

const MP2T = { payloadType: 33, encoding: "MP2T", clockRate: 90000 } as const;

const STREAMS: StreamDefinition[] = [
  {
    name: "news",
    description: "News, local scope",
    address: "239.255.0.1",
    port: 5004,
    ttl: 3,
    formats: [MP2T],
    category: "tv.news",
  },
  {
    name: "org",
    description: "Organization scope",
    address: "239.192.0.5",
    port: 5006,
    ttl: 5,
    formats: [MP2T],
  },
  {
    name: "glob",
    description: "Global scope",
    address: "224.2.130.1",
    port: 5008,
    ttl: 2,
    formats: [{ payloadType: 96, encoding: "H264", clockRate: 90000 }],
  },
  {
    name: "legacy",
    description: "239/8 outside the named ranges",
    address: "239.0.0.1",
    port: 5010,
    ttl: 1,
    formats: [MP2T],
  },
];

await peerTest({
  name:
    "the announcer's streams are found by the listener on their scope's groups, each with its TTL",
  peers: ["tshark"],
  async fn() {
    await using capture = await startCapture({
      filter: "udp dst port 9875",
      fields: [
        "ip.dst",
        "ip.ttl",
        "sap.flags.v",
        "sap.flags.t",
        "sap.message_identifier_hash",
        "sap.payload_type",
        "sdp.session_name",
      ],
    });
    const events: DirectoryEvent[] = [];
    await using listener = await SapListener.open({ onEvent: (e) => events.push(e) });
    const catalog = new Catalog(STREAMS, { nowS: 1_700_000_000 });
    const { announcer, initial } = SapAnnouncer.start(catalog.entries(), {
      intervalMs: 400,
      originV4: "127.0.0.1",
    });
    await using _announcer = announcer;
    assert.match(initial.warnings.join("\n"), /239\.0\.0\.1 is in 239\.0\.0\.0\/8/);
    await waitUntil(() => listener.snapshot().sessions.length === 4, 5000, "four sessions");
    const sessions = new Map(listener.snapshot().sessions.map((s) => [s.name, s]));
    const expectGroup = {
      news: "239.255.255.255",
      org: "239.195.255.255",
      glob: "224.2.127.254",
      legacy: "224.2.127.254",
    };
    for (const stream of STREAMS) {
      const s = sessions.get(stream.name)!;
      assert.equal(s.description, stream.description);
      assert.equal(s.group, stream.address);
      assert.equal(s.port, stream.port);
      assert.equal(s.ttl, stream.ttl);
      assert.equal(s.origin, "127.0.0.1");
      assert.equal(s.heardOn, expectGroup[stream.name as keyof typeof expectGroup]);
      assert.equal(s.tool, "rtp-multicast-gateway");
    }
    assert.equal(sessions.get("news")!.category, "tv.news");
    assert.deepEqual(sessions.get("glob")!.formats, ["96 H264/90000"]);
    // Each session is heard once per interval (the four spread 100 ms apart).
    await waitUntil(
      () => listener.snapshot().sessions.every((s) => s.announcements >= 4),
      5000,
      "four announcements of each",
    );
    for (const s of listener.snapshot().sessions) {
      assert.ok(s.intervalMs! > 250 && s.intervalMs! < 800, `${s.name}: ${s.intervalMs} ms`);
    }
    // tshark, parsing independently: V=1, announcements, application/sdp, and each stream's TTL.
    await waitUntil(() => capture.rows().length >= 8, 5000, "tshark saw 8 packets");
    const rows = capture.rows();
    for (const stream of STREAMS) {
      const mine = rows.filter((r) => r[6] === stream.name);
      assert.ok(mine.length > 0, `tshark saw ${stream.name}`);
      for (const [dst, ttl, version, type, hash, payloadType] of mine) {
        assert.equal(dst, expectGroup[stream.name as keyof typeof expectGroup]);
        assert.equal(Number(ttl), stream.ttl, `${stream.name} TTL`);
        assert.equal(version, "1");
        assert.equal(type, "0");
        assert.equal(Number(hash), sessions.get(stream.name)!.hash);
        assert.equal(payloadType, "application/sdp");
      }
    }
    assert.deepEqual(listener.snapshot().counters.ignored.wrongVersion, 0);
    assert.equal(events.filter((e) => e.type === "new").length, 4);
  },
});

Deno.test({
  name:
    "a stream leaving the catalog is deleted at once, and closing the announcer deletes the rest",
  ignore: !inPrivateNetns(),
  async fn() {
    const events: DirectoryEvent[] = [];
    await using listener = await SapListener.open({ onEvent: (e) => events.push(e) });
    const first = new Catalog(STREAMS, { nowS: 1_700_000_000 });
    const { announcer } = SapAnnouncer.start(first.entries(), { intervalMs: 2000 });
    await waitUntil(() => listener.snapshot().sessions.length === 4, 5000, "four sessions");
    const second = new Catalog(STREAMS.filter((s) => s.name !== "glob"), {
      nowS: 1_700_000_100,
      previous: first,
    });
    const started = performance.now();
    const update = await announcer.update(second.entries());
    assert.deepEqual(update.deletions.map((d) => d.announcement.name), ["glob"]);
    await waitUntil(() => events.some((e) => e.type === "deleted"), 2000, "glob deleted");
    assert.ok(performance.now() - started < 1500, "deleted without waiting for a slot");
    assert.deepEqual(events.filter((e) => e.type === "deleted").map((e) => e.session.name), [
      "glob",
    ]);
    await announcer.close();
    await waitUntil(() => listener.snapshot().sessions.length === 0, 2000, "all deleted");
    assert.deepEqual(
      events.filter((e) => e.type === "deleted").map((e) => e.session.name).sort(),
      ["glob", "legacy", "news", "org"],
    );
    assert.equal(events.filter((e) => e.type === "expired").length, 0);
    assert.equal(announcer.snapshot().counters.deletions, 4);
    assert.equal(announcer.snapshot().counters.sendErrors, 0);
  },
});

Deno.test({
  name: "bad SAP packets are ignored and each kind is counted",
  ignore: !inPrivateNetns(),
  async fn() {
    await using listener = await SapListener.open({ groups: ["224.2.127.254"] });
    const sdp = new TextEncoder().encode(
      "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=good\r\nc=IN IP4 239.255.0.1/1\r\nt=0 0\r\n" +
        "m=video 5004 RTP/AVP 33\r\n",
    );
    const base = { messageType: "announce", hash: 77, origin: "127.0.0.1" } as const;
    const good = encodeSapPacket({ ...base, payloadType: "application/sdp", payload: sdp });
    const bad: [string, Uint8Array, number][] = [
      ["wrongVersion", Uint8Array.of(0x00, ...good.slice(1)), 3],
      ["wrongVersion", Uint8Array.of(0x80, 0xa1, 0x00, 0x01, ...new Uint8Array(1316)), 2],
      ["truncated", good.slice(0, 6), 2],
      ["truncated", good.slice(0, 2), 1],
      ["huge", Uint8Array.of(...good, ...new Uint8Array(MAX_SAP_PACKET_BYTES)), 2],
      ["encrypted", encodeSapPacket({ ...base, encrypted: true, payload: sdp }), 4],
      [
        "deflateBomb",
        encodeSapPacket({
          ...base,
          compressed: true,
          payload: await deflate(new Uint8Array(1 << 20)),
        }),
        3,
      ],
      ["badCompression", encodeSapPacket({ ...base, compressed: true, payload: sdp }), 2],
      ["notSdp", encodeSapPacket({ ...base, payloadType: "text/plain", payload: sdp }), 2],
      [
        "invalidSdp",
        encodeSapPacket({
          ...base,
          hash: 78,
          payloadType: "application/sdp",
          payload: sdp.slice(0, 30),
        }),
        2,
      ],
    ];
    const socket = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
    const to = { transport: "udp", hostname: "224.2.127.254", port: 9875 } as const;
    try {
      for (const [, packet, times] of bad) {
        for (let i = 0; i < times; i++) await socket.send(packet, to);
      }
      // A compressed good one last: everything before it on this socket has been handled when it shows.
      const last = encodeSapPacket({
        ...base,
        hash: 79,
        compressed: true,
        payload: await deflate(
          Uint8Array.of(...new TextEncoder().encode("application/sdp\0"), ...sdp),
        ),
      });
      await socket.send(last, to);
      await waitUntil(() => listener.snapshot().sessions.length === 1, 3000, "the good packet");
    } finally {
      socket.close();
    }
    const { sessions, counters } = listener.snapshot();
    assert.equal(sessions[0]!.name, "good");
    assert.equal(sessions[0]!.hash, 79);
    const expected: Record<string, number> = {};
    for (const [kind, , times] of bad) expected[kind] = (expected[kind] ?? 0) + times;
    for (const [kind, count] of Object.entries(expected)) {
      assert.equal(counters.ignored[kind as keyof typeof counters.ignored], count, kind);
    }
    assert.equal(counters.datagrams, 24);
    assert.equal(counters.announcements, 1);
    assert.equal(listener.snapshot().failure, undefined);
  },
});

await peerTest({
  name:
    "an IPv6 stream is announced on ff05::2:7ffe with its hop limit and found over the veth pair",
  peers: ["tshark"],
  async fn() {
    await using capture = await startCapture({
      interface: "gw1",
      filter: "ip6 and udp dst port 9875",
      fields: ["ipv6.dst", "ipv6.hlim", "sap.flags.a", "sdp.session_name"],
    });
    await using listener = await SapListener.open({ groups: ["ff05::2:7ffe"], interfaceV6: "gw1" });
    const catalog = new Catalog([{
      name: "radio",
      description: "Opus over IPv6",
      address: "ff15::1:5",
      port: 5008,
      ttl: 3,
      formats: [{ payloadType: 97, encoding: "opus", clockRate: 48000, channels: 2 }],
    }], { nowS: 1_700_000_000 });
    const { announcer, initial } = SapAnnouncer.start(catalog.entries(), {
      intervalMs: 300,
      originV6: "fd00:6a7::1",
    });
    await using _announcer = announcer;
    assert.match(initial.warnings.join("\n"), /announced with hop limit 1, not its TTL 3/);
    await waitUntil(() => listener.snapshot().sessions.length === 1, 5000, "the IPv6 session");
    const [session] = listener.snapshot().sessions;
    assert.equal(session!.name, "radio");
    assert.equal(session!.origin, "fd00:6a7::1");
    assert.equal(session!.group, "ff15::1:5");
    assert.equal(session!.heardOn, "ff05::2:7ffe");
    assert.deepEqual(session!.formats, ["97 opus/48000/2"]);
    await waitUntil(() => capture.rows().length >= 1, 5000, "tshark saw the IPv6 announcement");
    // Deno cannot set the IPv6 multicast hop limit (node:dgram's setMulticastTTL did not either).
    assert.deepEqual(capture.rows()[0], ["ff05::2:7ffe", "1", "1", "radio"]);
  },
});

Deno.test({
  name: "SapListener.open() says which groups it could not join, and fails when it joins none",
  ignore: !inPrivateNetns(),
  async fn() {
    await assert.rejects(
      SapListener.open({ groups: ["10.0.0.1"] }),
      /Cannot listen for SAP announcements: Refusing to join: 10\.0\.0\.1 is not a multicast/,
    );
    await using listener = await SapListener.open({ groups: ["224.2.127.254", "192.0.2.1"] });
    const { groups, failedGroups } = listener.snapshot();
    assert.deepEqual(groups, ["224.2.127.254"]);
    assert.equal(failedGroups[0]?.group, "192.0.2.1");
  },
});
