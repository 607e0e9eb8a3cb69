// Tests of lib/client/stream_setup.ts: the catalog name in offer and description URLs, and stream
// labels kept unique when two descriptions share an `s=`.
import assert from "node:assert/strict";
import { streamNameOf, uniquelyNamed } from "../../lib/client/stream_setup.ts";
import { mp2tTarget } from "../support/receiver_fixtures.ts";

Deno.test("streamNameOf() reads the stream name of /streams/NAME/offer and /streams/NAME.sdp", () => {
  assert.equal(streamNameOf("http://h:8080/streams/news/offer"), "news");
  assert.equal(streamNameOf("https://h/gw/streams/a.b.sdp"), "a.b");
  assert.equal(streamNameOf("http://h/streams/caf%C3%A9.sdp"), "café");
  for (
    const none of ["http://h/offer", "http://h/streams", "not a url", "http://h/streams/%E0.sdp"]
  ) {
    assert.equal(streamNameOf(none), undefined, none);
  }
});

Deno.test("uniquelyNamed() appends group and port, then a number, to a label already taken", () => {
  const plan = { name: "tv", target: mp2tTarget(), sources: [], origin: "a.sdp" };
  assert.equal(uniquelyNamed(plan, new Set()).name, "tv");
  assert.equal(uniquelyNamed(plan, new Set(["tv"])).name, "tv@239.1.2.3:5004");
  assert.equal(
    uniquelyNamed(plan, new Set(["tv", "tv@239.1.2.3:5004"])).name,
    "tv@239.1.2.3:5004#2",
  );
});
