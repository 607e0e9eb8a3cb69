import assert from "node:assert/strict";
import { ConfigError } from "../../lib/common/errors.ts";
import { type DirectorySession, SapDirectory } from "../../lib/sap/directory.ts";
import type { SapMessage } from "../../lib/sap/message.ts";
import { validateStreams } from "../../lib/server/catalog.ts";
import { LiveCatalog } from "../../lib/server/live_catalog.ts";

const configured = validateStreams([
  { name: "news", address: "239.0.0.1", port: 5004, formats: [{ payloadType: 33 }] },
  { name: "sport", address: "239.0.0.2", port: 5004, formats: [{ payloadType: 33 }] },
]);

/** An announced session's SDP, as VLC writes one. */
function sdpOf(name: string, group: string, port: number, media = "RTP/AVP 33"): string {
  return `v=0\r\no=- ${name.length} 1 IN IP4 vm\r\ns=${name}\r\ni=About ${name}\r\n` +
    `c=IN IP4 ${group}/255\r\nt=0 0\r\na=tool:vlc 3.0.24\r\na=type:broadcast\r\n` +
    `m=video ${port} ${media}\r\n`;
}

/** A directory fed the given announcements (from 192.0.2.x), and its sessions. */
function heard(
  directory: SapDirectory,
  announcements: readonly { sdp: string; hash: number; from?: string }[],
  nowMs = 1000,
): DirectorySession[] {
  for (const a of announcements) {
    const from = a.from ?? "192.0.2.9";
    const message: SapMessage = {
      messageType: "announce",
      hash: a.hash,
      origin: from,
      addressType: 4,
      compressed: false,
      payloadType: "application/sdp",
      sdp: a.sdp,
      bytes: a.sdp.length + 24,
    } as SapMessage;
    directory.receive(message, { sender: from, group: "239.255.255.255", nowMs });
  }
  return directory.snapshot().sessions;
}

Deno.test("LiveCatalog.discover() adds announced sessions after the configured streams, with origin sap", () => {
  const live = new LiveCatalog(configured, { nowS: () => 1_700_000_000 });
  const directory = new SapDirectory();
  const change = live.discover(heard(directory, [
    { sdp: sdpOf("vlcnews", "239.255.0.5", 5004), hash: 1 },
    { sdp: sdpOf("rawudp", "239.255.0.6", 1234, "udp mpeg"), hash: 2 },
  ]));
  assert.deepEqual(change.added.map((d) => d.stream.name).sort(), ["rawudp", "vlcnews"]);
  const catalog = live.current;
  assert.deepEqual(catalog.entries().map((e) => e.stream.name), [
    "news",
    "sport",
    "rawudp",
    "vlcnews",
  ]);
  assert.equal(catalog.originOf("vlcnews"), "sap");
  assert.equal(catalog.originOf("news"), "config");
  assert.equal(catalog.discoveryOf("vlcnews")?.announcedBy, "192.0.2.9");
  assert.deepEqual(catalog.get("rawudp")!.stream, {
    name: "rawudp",
    description: "About rawudp",
    address: "239.255.0.6",
    port: 1234,
    ttl: 255,
    formats: [],
    transport: "udp",
  });
  assert.deepEqual(catalog.configuredEntries().map((e) => e.stream.name), ["news", "sport"]);
  assert.equal(catalog.defaultEntry.stream.name, "news");
});

Deno.test("LiveCatalog.discover() never lets a session replace a configured stream or an earlier one", () => {
  const live = new LiveCatalog(configured);
  const before = live.current.get("news");
  const change = live.discover(heard(new SapDirectory(), [
    { sdp: sdpOf("news", "239.255.9.9", 9999), hash: 1 },
    { sdp: sdpOf("twin", "239.255.0.7", 5004), hash: 2, from: "192.0.2.1" },
    { sdp: sdpOf("twin", "239.255.0.8", 5004), hash: 3, from: "192.0.2.2" },
    // The configured stream itself, announced (the server's own announcement heard back).
    { sdp: sdpOf("sport", "239.0.0.2", 5004), hash: 5 },
  ]));
  assert.deepEqual(change.shadowed.map((s) => [s.name, s.same]), [
    ["news", false],
    ["sport", true],
    ["twin", false],
  ]);
  assert.equal(live.current.get("news"), before, "the configured entry, unchanged");
  assert.equal(live.current.get("twin")!.stream.address, "239.255.0.7");
  // Reported once: the same sessions again say nothing new.
  const again = live.discover(heard(new SapDirectory(), [
    { sdp: sdpOf("news", "239.255.9.9", 9999), hash: 1 },
    { sdp: sdpOf("twin", "239.255.0.7", 5004), hash: 2, from: "192.0.2.1" },
    { sdp: sdpOf("twin", "239.255.0.8", 5004), hash: 3, from: "192.0.2.2" },
  ]));
  assert.deepEqual([again.shadowed, again.added, again.removed], [[], [], []]);
});

Deno.test("LiveCatalog.discover() refuses sessions that cannot be streams, once each, and says why", () => {
  const live = new LiveCatalog(configured);
  const sessions = heard(new SapDirectory(), [
    { sdp: sdpOf("Two words", "239.255.0.5", 5004), hash: 1 },
    { sdp: sdpOf("h264", "239.255.0.6", 5004, "RTP/AVP 96"), hash: 2 },
    { sdp: sdpOf("odd", "239.255.0.7", 5004).replace("i=About odd", "i=x\u202ey"), hash: 3 },
  ]);
  const change = live.discover(sessions);
  assert.equal(change.refused.length, 3, JSON.stringify(change.refused));
  assert.match(change.refused.map((r) => r.problem).join("\n"), /invalid stream name/);
  assert.match(change.refused.map((r) => r.problem).join("\n"), /no format with a known encoding/);
  assert.match(change.refused.map((r) => r.problem).join("\n"), /i=: control character U\+202E/);
  assert.equal(live.current.entries().length, 2);
  assert.deepEqual(live.discover(sessions).refused, []);
});

Deno.test("LiveCatalog.discover() drops a stream whose session is gone, keeps unchanged entries and versions", () => {
  let nowS = 1_700_000_000;
  const live = new LiveCatalog(configured, { nowS: () => nowS });
  const directory = new SapDirectory();
  live.discover(heard(directory, [
    { sdp: sdpOf("vlcnews", "239.255.0.5", 5004), hash: 1 },
    { sdp: sdpOf("other", "239.255.0.6", 5004), hash: 2 },
  ]));
  const kept = live.current.get("other");
  const news = live.current.get("news");
  nowS += 100;
  // vlcnews's session is forgotten (expired); other stays.
  const remaining = live.current.entries().length;
  const change = live.discover(
    directory.snapshot().sessions.filter((s) => s.name !== "vlcnews"),
  );
  assert.deepEqual(change.removed, ["vlcnews"]);
  assert.equal(live.current.entries().length, remaining - 1);
  assert.equal(live.current.get("vlcnews"), undefined);
  assert.equal(live.current.get("other"), kept, "same entry object: answers stay cached");
  assert.equal(live.current.get("news"), news);
  // Re-described: a new o= version.
  const moved = live.discover(heard(new SapDirectory(), [
    { sdp: sdpOf("other", "239.255.0.9", 5004), hash: 4 },
  ]));
  assert.deepEqual(moved.changed.map((d) => d.stream.address), ["239.255.0.9"]);
  assert.equal(live.current.get("other")!.version, nowS);
});

Deno.test("LiveCatalog.configure() replaces the configured streams and keeps discovered ones unless shadowed", () => {
  const live = new LiveCatalog(configured);
  live.discover(heard(new SapDirectory(), [
    { sdp: sdpOf("vlcnews", "239.255.0.5", 5004), hash: 1 },
  ]));
  live.configure(configured.slice(0, 1), "news");
  assert.deepEqual(live.current.entries().map((e) => e.stream.name), ["news", "vlcnews"]);
  const vlcnews = { ...configured[0]!, name: "vlcnews", address: "239.0.0.9" };
  live.configure([configured[0]!, vlcnews]);
  assert.equal(live.current.originOf("vlcnews"), "config");
  assert.equal(live.current.get("vlcnews")!.stream.address, "239.0.0.9");
  // An invalid reload keeps what was there.
  const current = live.current;
  assert.throws(() => live.configure(configured, "missing"), ConfigError);
  assert.equal(live.current, current);
  // A discovered stream is never the default.
  assert.throws(() => live.configure(configured.slice(0, 1), "vlcnews-x"), /no stream named/);
});
