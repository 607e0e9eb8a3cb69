// Tests lib/sap/announcement.ts: the announced SDP of a stream (RFC 2974, RFC 8866), its message-id
// hash, group, TTL and packet size.
import assert from "node:assert/strict";
// @ts-types="@types/sdp-transform"
import * as sdpTransform from "sdp-transform";
import { buildAnnouncement, messageHash, SapAnnounceError } from "../../lib/sap/announcement.ts";
import { decodeSapMessage } from "../../lib/sap/message.ts";
import { MAX_SAP_ANNOUNCEMENT_BYTES, parseSapHeader } from "../../lib/sap/packet.ts";
import { readAnnouncedSession } from "../../lib/sap/session.ts";
import type { CatalogEntry, StreamDefinition } from "../../lib/sdp/stream.ts";
import { Catalog } from "../../lib/server/catalog.ts";

const MP2T = { payloadType: 33, encoding: "MP2T", clockRate: 90000 } as const;

function entryOf(stream: Partial<StreamDefinition>, version = 1_700_000_000): CatalogEntry {
  return {
    stream: {
      name: "news",
      description: "News channel",
      address: "239.255.0.1",
      port: 5004,
      ttl: 4,
      formats: [MP2T],
      ...stream,
    },
    sessionId: "12345",
    version,
  };
}

Deno.test("buildAnnouncement() announces the stream's SDP with s=, i=, tool, type, charset and cat", async () => {
  const a = buildAnnouncement(entryOf({ category: "news.world" }), { originV4: "192.0.2.5" });
  const parsed = sdpTransform.parse(a.sdp);
  assert.equal(parsed.name, "news");
  assert.equal(parsed.description, "News channel");
  assert.equal(parsed.origin?.sessionVersion, 1_700_000_000);
  assert.equal(parsed.connection?.ip, "239.255.0.1/4");
  const lines = a.sdp.split("\r\n");
  for (
    const line of [
      "a=tool:rtp-multicast-gateway",
      "a=type:broadcast",
      "a=charset:UTF-8",
      "a=cat:news.world",
    ]
  ) {
    assert.ok(lines.includes(line), `${line} in\n${a.sdp}`);
  }
  // Session-level attributes come before the m= line.
  assert.ok(lines.indexOf("a=cat:news.world") < lines.findIndex((l) => l.startsWith("m=")));
  assert.equal(a.group, "239.255.255.255");
  assert.equal(a.port, 9875);
  assert.equal(a.ttl, 4);
  const message = await decodeSapMessage(a.announce);
  assert.equal(message.messageType, "announce");
  assert.equal(message.origin, "192.0.2.5");
  assert.equal(message.hash, a.hash);
  assert.equal(message.sdp, a.sdp);
  const deletion = await decodeSapMessage(a.delete);
  assert.equal(deletion.messageType, "delete");
  assert.equal(deletion.hash, a.hash);
  const session = readAnnouncedSession(a.sdp);
  assert.equal(session.category, "news.world");
  assert.deepEqual(session.formats, ["33 MP2T/90000"]);
});

Deno.test("buildAnnouncement() leaves out a=cat without a category and keeps i= on one line", () => {
  const a = buildAnnouncement(entryOf({ description: "two\r\nlines\na=cat:evil" }));
  assert.doesNotMatch(a.sdp, /^a=cat/m);
  assert.match(a.sdp, /^i=two lines a=cat:evil\r$/m);
  const b = buildAnnouncement(entryOf({ category: "x\r\na=tool:evil" }));
  assert.equal(b.sdp.match(/^a=tool:/gm)?.length, 1);
});

Deno.test("the message hash is non-zero and changes when the o= version changes", () => {
  const seen = new Set<number>();
  for (let version = 1_700_000_000; version < 1_700_000_200; version++) {
    const a = buildAnnouncement(entryOf({}, version));
    assert.notEqual(a.hash, 0);
    assert.equal(parseSapHeader(a.announce).hash, a.hash);
    seen.add(a.hash);
  }
  assert.ok(seen.size >= 199, `${seen.size} distinct hashes for 200 versions`);
  assert.notEqual(messageHash("a"), messageHash("b"));
});

Deno.test("a catalog reload that changes a stream changes its hash; one that does not keeps it", () => {
  const news = entryOf({}).stream;
  const radio = { ...news, name: "radio", address: "239.255.0.2" };
  const first = new Catalog([news, radio], { nowS: 1000 });
  const second = new Catalog([{ ...news, port: 5006 }, radio], { nowS: 2000, previous: first });
  const hash = (c: Catalog, name: string) => buildAnnouncement(c.get(name)!).hash;
  assert.notEqual(hash(first, "news"), hash(second, "news"));
  assert.equal(hash(first, "radio"), hash(second, "radio"));
});

Deno.test("buildAnnouncement() avoids hashes in use and skips 0", () => {
  const a = buildAnnouncement(entryOf({}));
  const b = buildAnnouncement(entryOf({}), { avoidHashes: new Set([a.hash, a.hash + 1]) });
  assert.equal(b.hash, a.hash === 0xfffe ? 1 : (a.hash + 2) & 0xffff || 1);
});

Deno.test("announcement packets stay under 1 KB: a long description is shortened, UTF-8 intact", () => {
  const long = "Ünïcödé channel ".repeat(200);
  const a = buildAnnouncement(entryOf({ description: long }));
  assert.ok(a.announce.length <= MAX_SAP_ANNOUNCEMENT_BYTES, `${a.announce.length} bytes`);
  assert.ok(a.announce.length > MAX_SAP_ANNOUNCEMENT_BYTES - 8, `${a.announce.length} bytes`);
  assert.match(a.sdp, /^i=Ünïcödé channel .*…\r$/m);
  assert.equal(new TextDecoder("utf-8", { fatal: true }).decode(a.announce.subarray(24)), a.sdp);
  assert.match(a.warnings.join("\n"), /description shortened/);
  const ipv6 = buildAnnouncement(entryOf({ address: "ff15::1:5", description: long }));
  assert.ok(ipv6.announce.length <= MAX_SAP_ANNOUNCEMENT_BYTES);
  assert.equal(ipv6.group, "ff05::2:7ffe");
  assert.equal(parseSapHeader(ipv6.announce).addressType, 6);
});

Deno.test("buildAnnouncement() refuses what it cannot announce, naming the stream", () => {
  const formats = Array.from({ length: 31 }, (_, i) => ({
    payloadType: 96 + i,
    encoding: "H264",
    clockRate: 90000,
  }));
  assert.throws(
    () => buildAnnouncement(entryOf({ formats })),
    (e: unknown) =>
      e instanceof SapAnnounceError && e.stream === "news" &&
      /over 1023 even without/.test(e.message),
  );
  assert.throws(
    () => buildAnnouncement(entryOf({ address: "ff15::1", ttl: 0 })),
    /TTL 0 \(host only\) cannot be kept for an IPv6 announcement on ff05::2:7ffe/,
  );
  assert.throws(() => buildAnnouncement(entryOf({ address: "ff10::1" })), /reserved/);
  assert.throws(() => buildAnnouncement(entryOf({}), { originV4: "::1" }), /not an IPv4 address/);
});

Deno.test("a 239.0.0.1 stream is announced on 224.2.127.254 with the stream's TTL and a warning", () => {
  const a = buildAnnouncement(entryOf({ address: "239.0.0.1", ttl: 1 }));
  assert.equal(a.group, "224.2.127.254");
  assert.equal(a.ttl, 1);
  assert.match(a.warnings[0] ?? "", /Stream "news": 239\.0\.0\.1 is in 239\.0\.0\.0\/8/);
});

Deno.test("IPv6 announcements go with hop limit 1: a warning above, TTL 0 only interface-local", () => {
  const wide = buildAnnouncement(entryOf({ address: "ff1e::1", ttl: 8 }));
  assert.equal(wide.ttl, 1);
  assert.match(wide.warnings.join("\n"), /hop limit 1, not its TTL 8/);
  const link = buildAnnouncement(entryOf({ address: "ff12::1", ttl: 1 }));
  assert.deepEqual([link.group, link.ttl, link.warnings], ["ff02::2:7ffe", 1, []]);
  const host = buildAnnouncement(entryOf({ address: "ff11::1", ttl: 0 }));
  assert.equal(host.group, "ff01::2:7ffe");
});
