// Tests lib/sap/session.ts: announced sessions read from the SDP that VLC and ffmpeg send
// (tests/testdata/sap_*.bin) and from hand-written raw-UDP, SSM and unicast ones; random input.
import assert from "node:assert/strict";
import { SdpError } from "../../lib/common/errors.ts";
import { mulberry32 } from "../../lib/common/prng.ts";
import { decodeSapMessage } from "../../lib/sap/message.ts";
import { readAnnouncedSession, streamOfSession } from "../../lib/sap/session.ts";

const testdata = new URL("../testdata/", import.meta.url);
const fixture = (name: string) => Deno.readFileSync(new URL(name, testdata));

function sdpOf(name: string) {
  return `v=0\r\no=- 42 1 IN IP4 192.0.2.9\r\ns=${name}\r\ni=About ${name}\r\n` +
    `c=IN IP4 239.255.0.1/8\r\nt=0 0\r\na=cat:tv.news\r\nm=video 5004 RTP/AVP 33 96\r\n` +
    `a=rtpmap:96 H264/90000\r\n`;
}

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
  assert.deepEqual(streamOfSession(udp), {
    stream: {
      name: "raw",
      description: "",
      address: "239.255.0.3",
      port: 1234,
      ttl: 1,
      formats: [],
      transport: "udp",
    },
  });
  const ssm = readAnnouncedSession(
    "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=cam\r\nc=IN IP4 232.1.1.1/16\r\nt=0 0\r\n" +
      "a=source-filter: incl IN IP4 232.1.1.1 10.0.0.1\r\nm=video 5006 RTP/AVP 33\r\n",
  );
  assert.equal(ssm.source, "10.0.0.1");
  // Read as the client reads a source filter (lib/sdp/receive_target.ts): `*` applies, another
  // destination does not, and VLC's 0.0.0.0 placeholder (its unbound socket) names no sender.
  const filtered = (filter: string) =>
    readAnnouncedSession(
      "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=cam\r\nc=IN IP4 232.1.1.1/16\r\nt=0 0\r\n" +
        `a=source-filter: ${filter}\r\nm=video 5006 RTP/AVP 33\r\n`,
    ).source;
  assert.equal(filtered("incl IN IP4 * 10.0.0.2"), "10.0.0.2");
  assert.equal(filtered("incl IN IP4 * 0.0.0.0"), undefined);
  assert.equal(filtered("incl IN IP4 239.1.1.1 10.0.0.1"), undefined);
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

Deno.test("streamOfSession() refuses a description or category that could not go back into SDP", () => {
  const session = readAnnouncedSession(sdpOf("news"));
  for (
    const [field, value, pattern] of [
      ["description", "two\u2028lines", /i=: control character U\+2028/],
      ["description", "x".repeat(600), /i=: longer than 512/],
      ["category", "tv\u202enews", /a=cat: control character U\+202E/],
    ] as const
  ) {
    const result = streamOfSession({ ...session, [field]: value });
    assert.ok("problem" in result, field);
    assert.match(result.problem, pattern);
  }
});

Deno.test("readAnnouncedSession() throws only SdpError on mutated announcements", async () => {
  const random = mulberry32(8866);
  const base = (await decodeSapMessage(fixture("sap_vlc_announce.bin"))).sdp;
  const alphabet = "v=0oscimtab:/ \r\n.123IN IP4 RTP/AVP udp";
  let rejected = 0;
  for (let i = 0; i < 2000; i++) {
    const chars = [...base];
    for (let edits = 1 + Math.floor(random() * 6); edits > 0; edits--) {
      const at = Math.floor(random() * chars.length);
      const op = random();
      const char = alphabet[Math.floor(random() * alphabet.length)]!;
      if (op < 0.4) chars.splice(at, 1);
      else if (op < 0.7) chars.splice(at, 0, char);
      else chars[at] = char;
    }
    try {
      readAnnouncedSession(chars.join(""));
    } catch (error) {
      assert.ok(error instanceof SdpError, String(error));
      rejected++;
    }
  }
  assert.ok(rejected > 100, `${rejected} of 2000 mutations rejected`);
});
