// Tests of lib/sdp/receive_target.ts: which m-line of a description (RFC 8866 §5.14) the client
// receives, on a description VLC wrote for one RTP stream per track (`#rtp{...}` without mux=ts).
import assert from "node:assert/strict";
import { SdpError } from "../../lib/common/errors.ts";
import { readReceiveTarget } from "../../lib/sdp/receive_target.ts";

/** Captured from VLC 3.0.24: `cvlc clip.mp4 --sout '#rtp{dst=239.0.0.1,port=5004,sdp=file://...}'`. */
const VLC_ES = Deno.readTextFileSync(new URL("../testdata/vlc_es.sdp", import.meta.url));

Deno.test("readReceiveTarget() takes the first receivable RTP m-line and says which it took", () => {
  const target = readReceiveTarget(VLC_ES);
  assert.deepEqual(target.media, {
    index: 1,
    type: "video",
    count: 2,
    types: ["video", "audio"],
    open: 2,
  });
  assert.deepEqual([target.group, target.port, target.ttl], ["239.0.0.1", 5004, 255]);
  assert.deepEqual(target.formats, [{ payloadType: 96, encoding: "H264", clockRate: 90000 }]);
});

Deno.test("readReceiveTarget() receives the m-line --media chooses, by type or number", async (t) => {
  for (const media of [{ kind: "type", type: "audio" }, { kind: "index", index: 2 }] as const) {
    await t.step(JSON.stringify(media), () => {
      const target = readReceiveTarget(VLC_ES, { media });
      assert.deepEqual([target.media.index, target.media.type, target.port], [2, "audio", 5006]);
      assert.equal(target.formats[0]?.encoding, "mpeg4-generic");
      assert.equal(target.formats[0]?.clockRate, 48000);
    });
  }
  const video = readReceiveTarget(VLC_ES, { media: { kind: "type", type: "video" } });
  assert.equal(video.port, 5004);
});

Deno.test("readReceiveTarget() names what the description has when --media finds nothing usable", async (t) => {
  const head = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nc=IN IP4 239.0.0.1/1\r\n";
  const cases: [string, string, Parameters<typeof readReceiveTarget>[1], RegExp][] = [
    [
      "no such type",
      VLC_ES,
      { media: { kind: "type", type: "text" } },
      /--media text: the description has no m=text line \(it has video, audio\)/,
    ],
    [
      "no such number",
      VLC_ES,
      { media: { kind: "index", index: 3 } },
      /--media 3: .*no m-line 3 \(it has video, audio\)/,
    ],
    [
      "rejected",
      head + "m=audio 0 RTP/AVP 14\r\nm=video 5004 RTP/AVP 33\r\n",
      { media: { kind: "type", type: "audio" } },
      /--media audio: m=audio is rejected \(port 0\)/,
    ],
    [
      "unicast",
      head + "m=audio 5006 RTP/AVP 14\r\nc=IN IP4 10.0.0.1\r\nm=video 5004 RTP/AVP 33\r\n",
      { media: { kind: "index", index: 1 } },
      /--media 1: Refusing to join: .*not a multicast address/,
    ],
  ];
  for (const [name, text, options, pattern] of cases) {
    await t.step(name, () => {
      assert.throws(
        () => readReceiveTarget(text, options),
        (e) => e instanceof SdpError && pattern.test(e.message),
      );
    });
  }
});

Deno.test("readReceiveTarget() skips an m-line it cannot receive when nothing was chosen", () => {
  const text = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n" +
    "m=audio 5006 RTP/AVP 14\r\nc=IN IP4 10.0.0.1\r\n" +
    "m=video 5004 RTP/AVP 33\r\nc=IN IP4 239.0.0.9/4\r\n";
  const target = readReceiveTarget(text);
  assert.deepEqual([target.media.index, target.group, target.port], [2, "239.0.0.9", 5004]);
  // Audio first and receivable: it is the default, as the first RTP m-line.
  const audioFirst = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nc=IN IP4 239.0.0.1/1\r\nt=0 0\r\n" +
    "m=audio 5006 RTP/AVP 14\r\nm=video 5004 RTP/AVP 33\r\n";
  assert.equal(readReceiveTarget(audioFirst).media.type, "audio");
});

/** Captured from VLC 3.0.24's SAP announcement of `#std{access=udp,mux=ts,dst=239.255.1.1:1234,sap,name=rawtv}`. */
const VLC_UDP = Deno.readTextFileSync(new URL("../testdata/vlc_udp.sdp", import.meta.url));

Deno.test("readReceiveTarget() reads VLC's raw UDP description (m=video 1234 udp mpeg)", () => {
  const target = readReceiveTarget(VLC_UDP);
  assert.deepEqual(
    [target.transport, target.group, target.port, target.ttl, target.name],
    ["udp", "239.255.1.1", 1234, 255, "rawtv"],
  );
  assert.deepEqual(target.formats, [], "no RTP payload formats");
  assert.deepEqual(target.sources, [], "VLC's source 0.0.0.0 is no sender to filter on");
  assert.equal(readReceiveTarget(VLC_ES).transport, "rtp");
  const rtpFirst = VLC_UDP.replace(
    "m=video 1234 udp mpeg",
    "m=video 1234 udp mpeg\r\nm=video 5004 RTP/AVP 33",
  );
  assert.equal(readReceiveTarget(rtpFirst).transport, "udp", "the first receivable m-line");
  const real = VLC_UDP.replace("* 0.0.0.0", "* 192.0.2.7");
  assert.deepEqual(readReceiveTarget(real).sources, ["192.0.2.7"]);
});

Deno.test("readReceiveTarget() applies a source filter whose dest-address is * or the group, not another one", async (t) => {
  const vlc = Deno.readTextFileSync(new URL("../testdata/vlc_udp_mpegts.sdp", import.meta.url));
  const cases = [
    { name: "VLC's * (every connection address)", sdp: vlc, sources: ["127.0.0.1"] },
    {
      name: "the group itself",
      sdp: vlc.replace("IP4 * 127.0.0.1", "IP4 239.255.0.1 127.0.0.1"),
      sources: ["127.0.0.1"],
    },
    {
      name: "another group: the filter is not for this m-line",
      sdp: vlc.replace("IP4 * 127.0.0.1", "IP4 239.255.9.9 127.0.0.1"),
      sources: [],
    },
    {
      name: "VLC's unbound 0.0.0.0 is no filter",
      sdp: vlc.replace("IP4 * 127.0.0.1", "IP4 * 0.0.0.0"),
      sources: [],
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      const target = readReceiveTarget(c.sdp);
      assert.deepEqual([target.transport, target.group, target.sources], [
        "udp",
        "239.255.0.1",
        c.sources,
      ]);
    });
  }
});

Deno.test("readReceiveTarget() with --media TYPE skips a rejected m-line of that type (port 0)", () => {
  const answer = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=raw\r\nc=IN IP4 239.255.0.1/1\r\nt=0 0\r\n" +
    "m=video 0 RTP/AVP 33\r\nm=video 1234 udp mpeg\r\na=sendonly\r\n";
  for (const media of [undefined, { kind: "type", type: "video" } as const]) {
    const target = readReceiveTarget(answer, media === undefined ? {} : { media });
    assert.deepEqual([target.transport, target.port, target.media.index, target.media.open], [
      "udp",
      1234,
      2,
      1,
    ]);
  }
  // By number the m-line is taken as it is, and a rejected one says so.
  assert.throws(
    () => readReceiveTarget(answer, { media: { kind: "index", index: 1 } }),
    (e) => e instanceof SdpError && /rejected \(port 0\)/.test(e.message),
  );
});
