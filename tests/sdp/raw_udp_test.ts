// Raw-UDP MPEG-TS streams in SDP (issue 12): the description the server writes is VLC's own
// (`m=video PORT udp mpeg`, tests/testdata/vlc_udp_mpegts.sdp was announced by VLC 3.0.24 for
// `#std{access=udp,mux=ts,...}`), and offers are answered per RFC 3264 §6 with the udp m-line.
// @ts-types="@types/sdp-transform"
import * as sdpTransform from "sdp-transform";
import assert from "node:assert/strict";
import { answerOffer } from "../../lib/sdp/answer.ts";
import { describeStream } from "../../lib/sdp/describe.ts";
import { buildOffer } from "../../lib/sdp/offer.ts";
import { parseSdp } from "../../lib/sdp/parse.ts";
import { readReceiveTarget } from "../../lib/sdp/receive_target.ts";
import { Catalog, validateStream } from "../../lib/server/catalog.ts";

const fixture = (name: string) =>
  Deno.readTextFileSync(new URL(`../testdata/${name}`, import.meta.url));

function entryOf(raw: Record<string, unknown>) {
  const stream = validateStream({ name: "raw", address: "239.255.0.1", port: 1234, ...raw }, "s");
  return new Catalog([stream], { nowS: 1000 }).defaultEntry;
}

const UDP = entryOf({ transport: "udp", ttl: 4, description: "MPEG-TS over UDP" });
const RTP = entryOf({ formats: [{ payloadType: 33 }] });

/** The lines of an SDP text without `o=` (its ids differ) and `a=tool`. */
function comparable(sdp: string): string[] {
  return sdp.split("\r\n").filter((l) => l !== "" && !/^(o=|a=tool:)/.test(l));
}

Deno.test("describeStream() writes a raw-UDP stream as VLC announces one: m=video PORT udp mpeg", () => {
  const ours = describeStream(UDP);
  const vlc = fixture("vlc_udp_mpegts.sdp");
  const vlcMedia = parseSdp(vlc).media[0]!;
  const media = parseSdp(ours).media[0]!;
  assert.deepEqual(
    [media.type, media.port, media.protocol, media.formatTokens],
    [vlcMedia.type, vlcMedia.port, vlcMedia.protocol, vlcMedia.formatTokens],
  );
  assert.equal(media.connection?.address, vlcMedia.connection?.address);
  assert.ok(ours.startsWith("v=0\r\no="));
  assert.deepEqual(comparable(ours), [
    "v=0",
    "s=raw",
    "i=MPEG-TS over UDP",
    "c=IN IP4 239.255.0.1/4",
    "t=0 0",
    "a=type:broadcast",
    "m=video 1234 udp mpeg",
    "a=recvonly",
  ]);
  // No rtpmap: there is no RTP payload type.
  assert.doesNotMatch(ours, /a=rtpmap/);
});

Deno.test("answerOffer() answers a udp offer for a raw-UDP stream with its group and the udp m-line", () => {
  for (const format of ["mpeg", "MP2T", "33"]) {
    const offer = `v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nc=IN IP4 239.0.0.9\r\nt=0 0\r\n` +
      `m=video 9000 udp ${format}\r\na=recvonly\r\n`;
    const result = answerOffer(offer, UDP);
    assert.equal(result.accepted, 1, format);
    assert.equal(result.transport, "udp");
    const answer = sdpTransform.parse(result.sdp);
    assert.equal(answer.connection?.ip, "239.255.0.1/4");
    const m = answer.media[0]!;
    assert.deepEqual([m.type, m.port, m.protocol, String(m.payloads)], [
      "video",
      1234,
      "udp",
      "mpeg",
    ]);
    assert.equal(m.direction, "sendonly");
  }
});

Deno.test("answerOffer() rejects an RTP/AVP MP2T offer for a raw-UDP stream, and a udp offer for an RTP one", () => {
  const rtpOffer = buildOffer({
    formats: [{ payloadType: 33, encoding: "MP2T", clockRate: 90000 }],
    group: "239.255.0.1",
    port: 1234,
  });
  const refused = answerOffer(rtpOffer, UDP);
  assert.equal(refused.accepted, 0);
  assert.deepEqual(refused.carried, ["udp mpeg"]);
  assert.equal(sdpTransform.parse(refused.sdp).media[0]!.port, 0);
  const udpOffer = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nc=IN IP4 239.0.0.9\r\nt=0 0\r\n" +
    "m=video 9000 udp mpeg\r\n";
  const none = answerOffer(udpOffer, RTP);
  assert.equal(none.accepted, 0);
  assert.equal(none.transport, "rtp");
  // A udp offer of another format is not MPEG-TS either.
  assert.equal(answerOffer(udpOffer.replace("udp mpeg", "udp h264"), UDP).accepted, 0);
});

Deno.test("answerOffer() serves only the first udp m-line of several, and not a sendonly one", () => {
  const offer = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nc=IN IP4 239.0.0.9\r\nt=0 0\r\n" +
    "m=video 9000 udp mpeg\r\na=sendonly\r\nm=video 9002 udp mpeg\r\nm=video 9004 udp mpeg\r\n";
  const result = answerOffer(offer, UDP);
  assert.equal(result.accepted, 1);
  assert.deepEqual(sdpTransform.parse(result.sdp).media.map((m) => m.port), [0, 1234, 0]);
});

Deno.test("answerOffer() accepts the m-line of the client's two-line offer that the stream's transport needs", async (t) => {
  const offer = buildOffer({
    formats: [{ payloadType: 33, encoding: "MP2T", clockRate: 90000 }],
    group: "239.0.0.1",
    port: 5004,
    rawUdp: true,
  });
  const offered = parseSdp(offer).media;
  assert.deepEqual(offered.map((m) => [m.type, m.port, m.protocol, m.formatTokens]), [
    ["video", 5004, "RTP/AVP", ["33"]],
    ["video", 5006, "udp", ["mpeg"]],
  ]);
  assert.ok(offered.every((m) => m.direction === "recvonly"));
  for (const [name, entry, ports] of [["RTP", RTP, [1234, 0]], ["udp", UDP, [0, 1234]]] as const) {
    await t.step(name, () => {
      const result = answerOffer(offer, entry);
      assert.equal(result.accepted, 1);
      assert.deepEqual(sdpTransform.parse(result.sdp).media.map((m) => m.port), ports);
      const target = readReceiveTarget(result.sdp);
      assert.deepEqual([target.transport, target.port], [name === "RTP" ? "rtp" : "udp", 1234]);
    });
  }
});
