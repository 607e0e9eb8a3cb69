// Tests lib/sap/directory.ts and lib/sap/session.ts with injected time: de-duplication by hash and
// origin, modified sessions (RFC 2974 §5), deletions from the announcer only, expiry after ten
// intervals, the session bound, and the sessions VLC and ffmpeg announce (tests/testdata/sap_*.bin).
import assert from "node:assert/strict";
import {
  DEFAULT_ASSUMED_INTERVAL_MS,
  MAX_SAP_TIMEOUT_MS,
  SapDirectory,
} from "../../lib/sap/directory.ts";
import { decodeSapMessage, type SapMessage } from "../../lib/sap/message.ts";
import { readAnnouncedSession, streamOfSession } from "../../lib/sap/session.ts";

const testdata = new URL("../testdata/", import.meta.url);
const fixture = (name: string) => Deno.readFileSync(new URL(name, testdata));

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

Deno.test("readAnnouncedSession() reads VLC's and ffmpeg's announcements", async () => {
  const vlc = readAnnouncedSession((await decodeSapMessage(fixture("sap_vlc_announce.bin"))).sdp);
  assert.equal(vlc.name, "vlcnews");
  assert.equal(vlc.description, "hello");
  assert.equal(vlc.group, "239.255.0.5");
  assert.equal(vlc.port, 5004);
  assert.equal(vlc.ttl, 255);
  assert.equal(vlc.transport, "rtp");
  assert.deepEqual(vlc.formats, ["33 MP2T/90000"]);
  assert.equal(vlc.tool, "vlc 3.0.24");
  const ffmpeg = readAnnouncedSession(
    (await decodeSapMessage(fixture("sap_ffmpeg_announce.bin"))).sdp,
  );
  assert.equal(ffmpeg.name, "ffnews");
  assert.equal(ffmpeg.description, "");
  assert.equal(ffmpeg.group, "239.255.0.7");
  assert.deepEqual(ffmpeg.formats, ["96 H264/90000"]);
  const stream = streamOfSession(ffmpeg);
  assert.ok("stream" in stream);
  assert.equal(stream.stream.address, "239.255.0.7");
  assert.deepEqual(stream.stream.formats, [{
    payloadType: 96,
    encoding: "H264",
    clockRate: 90000,
  }]);
});

Deno.test("readAnnouncedSession() reads category, raw UDP and SSM sessions, and refuses unicast ones", () => {
  const s = readAnnouncedSession(sdpOf("news"));
  assert.equal(s.category, "tv.news");
  assert.deepEqual(s.formats, ["33 MP2T/90000", "96 H264/90000"]);
  const udp = readAnnouncedSession(
    "v=0\r\no=- 1 1 IN IP4 vm\r\ns=raw\r\nc=IN IP4 239.255.0.3/1\r\nt=0 0\r\nm=video 1234 udp mpeg\r\n",
  );
  assert.equal(udp.transport, "udp");
  assert.deepEqual(udp.formats, ["mpeg"]);
  assert.match((streamOfSession(udp) as { problem: string }).problem, /raw UDP/);
  const ssm = readAnnouncedSession(
    "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=cam\r\nc=IN IP4 232.1.1.1/16\r\nt=0 0\r\n" +
      "a=source-filter: incl IN IP4 232.1.1.1 10.0.0.1\r\nm=video 5006 RTP/AVP 33\r\n",
  );
  assert.equal(ssm.source, "10.0.0.1");
  assert.throws(
    () =>
      readAnnouncedSession(
        "v=0\r\no=- 1 1 IN IP4 a\r\ns=x\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=video 5 RTP/AVP 33\r\n",
      ),
    /Not a multicast session/,
  );
  assert.match(
    (streamOfSession(readAnnouncedSession(sdpOf("Two words"))) as { problem: string }).problem,
    /invalid stream name/,
  );
});

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
