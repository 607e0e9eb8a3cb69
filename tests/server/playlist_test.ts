// Tests lib/server/playlist.ts: the extended M3U of the catalog (entries, URLs for RTP, raw UDP, SSM
// and IPv6, hostile text kept on its line), and VLC opening the playlist from a real Deno.serve and
// playing its first entry while VLC itself streams to that group (inside the test namespace).
import assert from "node:assert/strict";
import {
  buildPlaylist,
  PLAYLIST_HEADERS,
  type PlaylistStream,
  streamUrl,
} from "../../lib/server/playlist.ts";
import { makeClip, startVlcRtp, vlcPlayUrl } from "../support/peers.ts";
import { randomRtpPort } from "../../scripts/support/endpoints.ts";
import { peerTest } from "../support/peer_requirements.ts";

const base = { description: "", port: 5004 } as const;

Deno.test("streamUrl() writes VLC's receive URLs: rtp://@, udp://@, SSM source@, bracketed IPv6", async (t) => {
  const cases: [PlaylistStream, string][] = [
    [{ ...base, name: "a", address: "239.0.0.1" }, "rtp://@239.0.0.1:5004"],
    [{ ...base, name: "a", address: "239.0.0.1", transport: "udp" }, "udp://@239.0.0.1:5004"],
    [{ ...base, name: "a", address: "239.0.0.1", transport: "rtp" }, "rtp://@239.0.0.1:5004"],
    [
      { ...base, name: "a", address: "232.1.1.1", source: "192.0.2.10" },
      "rtp://192.0.2.10@232.1.1.1:5004",
    ],
    [{ ...base, name: "a", address: "ff15::1:5" }, "rtp://@[ff15::1:5]:5004"],
    [
      { ...base, name: "a", address: "ff3e::8000:1", source: "2001:db8::1", transport: "udp" },
      "udp://[2001:db8::1]@[ff3e::8000:1]:5004",
    ],
  ];
  for (const [stream, url] of cases) {
    await t.step(url, () => assert.equal(streamUrl(stream), url));
  }
});

Deno.test("buildPlaylist() writes #EXTM3U, then #EXTINF and the URL of each stream", () => {
  const text = buildPlaylist([
    {
      name: "news",
      description: "News channel",
      address: "239.0.0.1",
      port: 5004,
      category: "tv.news",
    },
    { name: "radio", description: "", address: "ff15::1:5", port: 5008 },
  ]);
  assert.equal(
    text,
    "#EXTM3U\n" +
      '#EXTINF:-1 tvg-id="news" tvg-name="news" group-title="tv.news",News channel\n' +
      "rtp://@239.0.0.1:5004\n" +
      '#EXTINF:-1 tvg-id="radio" tvg-name="radio",radio\n' +
      "rtp://@[ff15::1:5]:5008\n",
  );
  assert.equal(buildPlaylist([]), "#EXTM3U\n");
  assert.equal(PLAYLIST_HEADERS["content-type"], "audio/x-mpegurl");
});

Deno.test("buildPlaylist() keeps hostile text inside its entry: no quote breaks an attribute, no line break", () => {
  const text = buildPlaylist([{
    name: "x",
    description: "line one\r\nrtp://@6.6.6.6:1\n#EXTINF:-1,evil",
    address: "239.0.0.1",
    port: 5004,
    category: 'a" tvg-logo="http://evil/\nx',
  }]);
  const lines = text.trimEnd().split("\n");
  assert.equal(lines.length, 3);
  assert.equal(
    lines[1],
    '#EXTINF:-1 tvg-id="x" tvg-name="x" group-title="a tvg-logo= http://evil/ x",' +
      "line one rtp://@6.6.6.6:1 #EXTINF:-1,evil",
  );
  assert.equal(lines[2], "rtp://@239.0.0.1:5004");
});

await peerTest({
  name: "VLC opens the playlist over HTTP and plays its first entry",
  peers: ["vlc", "ffmpeg"],
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "playlist-test-" });
    try {
      const clip = await makeClip(dir, { seconds: 12 });
      const port = randomRtpPort();
      const playlist = buildPlaylist([
        { name: "news", description: "VLC's stream", address: "239.20.0.14", port },
        { name: "other", description: "Nobody sends here", address: "239.20.0.15", port },
      ]);
      const requests: string[] = [];
      await using server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
        requests.push(new URL(req.url).pathname);
        return new Response(playlist, { headers: PLAYLIST_HEADERS });
      });
      await using _vlc = await startVlcRtp({ file: clip, group: "239.20.0.14", port });
      const url = `http://127.0.0.1:${server.addr.port}/playlist.m3u`;
      const played = await vlcPlayUrl(url, { runTimeS: 15 });
      assert.ok(played.played, `VLC did not play ${url}: ${played.errors.join("; ")}`);
      assert.deepEqual(requests, ["/playlist.m3u"]);
      assert.match(played.stderr, /rtp:\/\/@239\.20\.0\.14:\d+/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
