// Tests of lib/client/catalog_client.ts and lib/client/catalog_follower.ts: the catalog URL, the
// checks on a catalog from the network, what changed between two catalogs (o= versions, RFC 8866
// §5.2), and following a real Deno.serve catalog through a refresh request and an outage.
import assert from "node:assert/strict";
import { NegotiationError } from "../../lib/common/errors.ts";
import {
  CATALOG_LIMITS,
  type CatalogStream,
  catalogUrl,
  fetchCatalog,
  parseCatalog,
} from "../../lib/client/catalog_client.ts";
import {
  type CatalogDiff,
  CatalogFollower,
  diffCatalog,
} from "../../lib/client/catalog_follower.ts";
import { waitUntil } from "../../scripts/support/poll.ts";

Deno.test("catalogUrl() finds /streams beside an offer, stream or base URL", () => {
  for (
    const [server, url] of [
      ["http://h:8080", "http://h:8080/streams"],
      ["http://h:8080/offer", "http://h:8080/streams"],
      ["https://h/gw/streams/tv/offer?x=1", "https://h/gw/streams"],
      ["http://h/gw/streams/tv.sdp", "http://h/gw/streams"],
    ]
  ) assert.equal(catalogUrl(server!), url);
});

Deno.test("parseCatalog() keeps well-named streams once and says how many it left out", () => {
  const listing = parseCatalog(
    JSON.stringify({
      streams: [
        { name: "news", version: 1700000000 },
        { name: "radio", version: "7", transport: "udp" },
        { name: "../etc", version: 1 },
        { name: "news", version: 2 },
        { version: 3 },
        "junk",
      ],
    }),
    "test",
  );
  assert.deepEqual(listing.streams, [
    { name: "news", version: "1700000000", transport: "rtp" },
    { name: "radio", version: "7", transport: "udp" },
  ]);
  assert.equal(listing.skipped, 4);
  for (const bad of ["{", "[]", '{"streams":{}}', "null"]) {
    assert.throws(() => parseCatalog(bad, "test"), NegotiationError, bad);
  }
  const many = {
    streams: Array.from({ length: CATALOG_LIMITS.STREAMS + 5 }, (_, i) => ({ name: `s${i}` })),
  };
  const capped = parseCatalog(JSON.stringify(many), "test");
  assert.deepEqual([capped.streams.length, capped.skipped], [CATALOG_LIMITS.STREAMS, 5]);
});

Deno.test("diffCatalog() finds added, removed and re-described streams", () => {
  const s = (name: string, version: string, transport: "rtp" | "udp" = "rtp"): CatalogStream => ({
    name,
    version,
    transport,
  });
  const known = new Map([["a", s("a", "1")], ["b", s("b", "1")], ["c", s("c", "1")]]);
  const diff = diffCatalog(known, [s("a", "1"), s("c", "2"), s("d", "1"), s("b", "1", "udp")]);
  assert.deepEqual(diff, {
    added: [s("d", "1")],
    removed: [],
    changed: [s("c", "2"), s("b", "1", "udp")],
  });
  assert.deepEqual(diffCatalog(known, [s("b", "1")]).removed, ["a", "c"]);
  assert.deepEqual(diffCatalog(known, [...known.values()]), {
    added: [],
    removed: [],
    changed: [],
  });
});

Deno.test("CatalogFollower follows a real catalog: refresh on request, one line per outage", async () => {
  let streams = [{ name: "a", version: 1 }, { name: "b", version: 1 }];
  let down = false;
  const served: string[] = [];
  await using server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, (request) => {
    served.push(new URL(request.url).pathname);
    if (request.headers.get("authorization") !== "Bearer t0ken") {
      return new Response("no", { status: 401 });
    }
    return down ? new Response("down", { status: 503 }) : Response.json({ streams });
  });
  const url = `http://127.0.0.1:${server.addr.port}/streams`;
  const changes: CatalogDiff[] = [];
  const outages: string[] = [];
  const backs: number[] = [];
  const stop = new AbortController();
  const follower = new CatalogFollower({
    url,
    fetch: { retries: 0, token: "t0ken", signal: stop.signal },
    refreshMs: 60_000, // only refresh requests and the backoff make it fetch in this test
    signal: stop.signal,
    apply: (diff) => {
      changes.push(diff);
      return Promise.resolve(new Set(diff.added.some((s) => s.name === "bad") ? ["bad"] : []));
    },
    onOutage: (message) => outages.push(message),
    onBack: (seconds) => backs.push(seconds),
    backoffMs: () => 20,
  });
  await follower.start();
  assert.deepEqual(changes.map((c) => c.added.map((s) => s.name)), [["a", "b"]]);
  const running = follower.run();
  try {
    streams = [{ name: "a", version: 2 }, { name: "c", version: 1 }, { name: "bad", version: 1 }];
    follower.refreshNow();
    await waitUntil(() => changes.length === 2, 5000, "the refresh");
    assert.deepEqual(changes[1], {
      added: [{ name: "c", version: "1", transport: "rtp" }, {
        name: "bad",
        version: "1",
        transport: "rtp",
      }],
      removed: ["b"],
      changed: [{ name: "a", version: "2", transport: "rtp" }],
    });
    assert.deepEqual([...follower.known.keys()].sort(), ["a", "c"], "a failed stream is retried");
    down = true;
    follower.refreshNow();
    await waitUntil(() => served.length >= 8, 5000, "retries while down");
    assert.equal(outages.length, 1, "one line per outage");
    assert.match(outages[0]!, /503/);
    down = false;
    await waitUntil(() => backs.length === 1, 5000, "the server is back");
    assert.equal(changes.length, 3, "the failed stream is tried again");
    assert.deepEqual(changes[2]!.added.map((s) => s.name), ["bad"]);
  } finally {
    stop.abort();
    await running;
  }
  await assert.rejects(
    fetchCatalog(url, { retries: 0 }),
    (e) => e instanceof NegotiationError && /401/.test(e.message),
  );
});
