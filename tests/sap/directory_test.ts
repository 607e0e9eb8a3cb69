// Tests lib/sap/directory.ts with injected time: de-duplication by hash and origin, modified
// sessions (RFC 2974 §5), deletions from the announcer only, expiry after ten intervals, the bound.
import assert from "node:assert/strict";
import {
  DEFAULT_ASSUMED_INTERVAL_MS,
  MAX_SAP_TIMEOUT_MS,
  SapDirectory,
} from "../../lib/sap/directory.ts";
import type { SapMessage } from "../../lib/sap/message.ts";

function sdpOf(name: string, options: { sessId?: string; version?: number; group?: string } = {}) {
  return `v=0\r\no=- ${options.sessId ?? "42"} ${options.version ?? 1} IN IP4 192.0.2.9\r\n` +
    `s=${name}\r\ni=About ${name}\r\nc=IN IP4 ${options.group ?? "239.255.0.1"}/8\r\nt=0 0\r\n` +
    `a=cat:tv.news\r\nm=video 5004 RTP/AVP 33 96\r\na=rtpmap:96 H264/90000\r\n`;
}

function message(sdp: string, hash: number, extra: Partial<SapMessage> = {}): SapMessage {
  return {
    messageType: "announce",
    hash,
    origin: "192.0.2.9",
    addressType: 4,
    compressed: false,
    sdp,
    bytes: sdp.length + 24,
    ...extra,
  };
}

const at = (nowMs: number, sender = "192.0.2.9") => ({ sender, group: "239.255.255.255", nowMs });

Deno.test("SapDirectory de-duplicates by hash and origin and learns the interval", () => {
  const directory = new SapDirectory();
  const sdp = sdpOf("news");
  const first = directory.receive(message(sdp, 7), at(0));
  assert.equal(first?.type, "new");
  assert.equal(first?.session.expiresMs, 10 * DEFAULT_ASSUMED_INTERVAL_MS);
  for (let i = 1; i <= 4; i++) {
    assert.equal(directory.receive(message(sdp, 7), at(i * 5000)), undefined);
  }
  // The same hash from another origin is another session.
  assert.equal(
    directory.receive(message(sdp, 7, { origin: "192.0.2.10" }), at(20_000))?.type,
    "new",
  );
  // A repeat 100 ms later is a duplicate, not an interval.
  directory.receive(message(sdp, 7), at(20_100));
  const { sessions, counters } = directory.snapshot();
  assert.equal(sessions.length, 2);
  const news = sessions.find((s) => s.origin === "192.0.2.9")!;
  assert.equal(news.announcements, 6);
  assert.equal(news.intervalMs, 5000);
  assert.equal(news.expiresMs, 20_100 + 50_000);
  assert.equal(news.name, "news");
  assert.equal(news.description, "About news");
  assert.equal(news.category, "tv.news");
  assert.equal(news.heardOn, "239.255.255.255");
  assert.equal(counters.announcements, 7);
  assert.equal(counters.duplicates, 1);
});

Deno.test("SapDirectory forgets a session after ten of its intervals, and one heard once later", () => {
  const directory = new SapDirectory({ assumedIntervalMs: 30_000 });
  const sdp = sdpOf("news");
  directory.receive(message(sdp, 7), at(0));
  directory.receive(message(sdp, 7), at(2000));
  directory.receive(message(sdp, 7), at(4000));
  directory.receive(message(sdpOf("once", { sessId: "43" }), 8), at(4000));
  assert.deepEqual(directory.expire(23_999), []);
  const expired = directory.expire(24_000);
  assert.deepEqual(expired.map((e) => [e.type, e.session.name]), [["expired", "news"]]);
  assert.deepEqual(directory.expire(303_999), []);
  assert.deepEqual(directory.expire(304_000).map((e) => e.session.name), ["once"]);
  assert.equal(directory.snapshot().counters.expired, 2);
});

Deno.test("SapDirectory never keeps a session longer than one hour without an announcement", () => {
  const directory = new SapDirectory({ assumedIntervalMs: 10 * 3_600_000 });
  directory.receive(message(sdpOf("slow"), 7), at(0));
  assert.equal(directory.snapshot().sessions[0]!.expiresMs, MAX_SAP_TIMEOUT_MS);
});

Deno.test("SapDirectory replaces a session whose new hash keeps its o= identity (RFC 2974 §5)", () => {
  const directory = new SapDirectory();
  directory.receive(message(sdpOf("news"), 7), at(0));
  directory.receive(message(sdpOf("news"), 7), at(5000));
  const changed = directory.receive(
    message(sdpOf("news", { version: 2, group: "239.255.0.9" }), 8),
    at(6000),
  );
  assert.equal(changed?.type, "changed");
  assert.equal(changed?.previous?.hash, 7);
  assert.equal(changed?.session.group, "239.255.0.9");
  assert.equal(changed?.session.firstHeardMs, 0);
  const { sessions } = directory.snapshot();
  assert.deepEqual(sessions.map((s) => [s.hash, s.version]), [[8, "2"]]);
  // ffmpeg's sessions all say "o=- 0 0": two of them are two sessions, not a modification.
  const ffA = sdpOf("a", { sessId: "0" });
  const ffB = sdpOf("b", { sessId: "0" });
  assert.equal(directory.receive(message(ffA, 100), at(0))?.type, "new");
  assert.equal(directory.receive(message(ffB, 101), at(0))?.type, "new");
  assert.equal(directory.snapshot().sessions.length, 3);
});

Deno.test("SapDirectory deletes a session only when its announcer sends the deletion", () => {
  const directory = new SapDirectory();
  const sdp = sdpOf("news");
  directory.receive(message(sdp, 7), at(0, "192.0.2.9"));
  assert.equal(
    directory.receive(message(sdp, 7, { messageType: "delete" }), at(1, "198.51.100.66")),
    undefined,
  );
  assert.equal(directory.snapshot().sessions.length, 1);
  const deleted = directory.receive(message(sdp, 7, { messageType: "delete" }), at(2, "192.0.2.9"));
  assert.equal(deleted?.type, "deleted");
  assert.equal(directory.snapshot().sessions.length, 0);
  assert.equal(directory.receive(message(sdp, 7, { messageType: "delete" }), at(3)), undefined);
  const { counters } = directory.snapshot();
  assert.equal(counters.deletions, 3);
  assert.equal(counters.ignored.foreignDeletion, 1);
  assert.equal(counters.unmatchedDeletions, 1);
});

Deno.test("SapDirectory counts invalid SDP and stops at its session bound", () => {
  const directory = new SapDirectory({ maxSessions: 3 });
  assert.equal(directory.receive(message("v=0\r\nnot sdp", 1), at(0)), undefined);
  for (let i = 0; i < 5; i++) {
    directory.receive(message(sdpOf(`s${i}`, { sessId: `${i + 1}` }), 10 + i), at(0));
  }
  directory.ignore("encrypted");
  const { sessions, counters } = directory.snapshot();
  assert.equal(sessions.length, 3);
  assert.equal(counters.ignored.invalidSdp, 1);
  assert.equal(counters.ignored.tooManySessions, 2);
  assert.equal(counters.ignored.encrypted, 1);
});

Deno.test("SapDirectory.snapshot() changes nothing", () => {
  const directory = new SapDirectory();
  directory.receive(message(sdpOf("news"), 7), at(0));
  const a = directory.snapshot();
  const b = directory.snapshot();
  assert.deepEqual(a, b);
  a.sessions.pop();
  (a.counters.ignored as Record<string, number>).huge = 99;
  assert.equal(directory.snapshot().sessions.length, 1);
  assert.equal(directory.snapshot().counters.ignored.huge, 0);
});
