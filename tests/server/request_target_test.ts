// Tests of lib/server/request_target.ts: Host header grammar (RFC 9110 §7.2, RFC 3986 §3.2.2) and
// the path routing uses, taken from the request target whatever Host says (issue 11, item 3).
import assert from "node:assert/strict";
import { isValidHost, requestPath } from "../../lib/server/request_target.ts";

Deno.test("isValidHost() accepts host[:port] and nothing else", async (t) => {
  const cases: [string, boolean][] = [
    ["gateway.example", true],
    ["gateway.example:8080", true],
    ["127.0.0.1:0", true],
    ["[::1]", true],
    ["[fd00::1]:443", true],
    ["xn--bcher-kva.example", true],
    ["a%20b", true],
    ["", true], // RFC 9112 §3.2: empty when the target has no authority
    ["a:", true],
    ["a b", false],
    ["[", false],
    ["[::1", false],
    ["[::1]x", false],
    ["[nope]", false],
    ["a@b", false],
    ["a:99999", false],
    ["a:123456", false],
    ["a:b:c", false],
    ["x\\streams#", false],
    ["x/streams", false],
    ["a?b", false],
    ["a%zz", false],
  ];
  for (const [host, valid] of cases) {
    await t.step(JSON.stringify(host), () => assert.equal(isValidHost(host), valid));
  }
});

Deno.test("requestPath() is the target's path without the query, or undefined for a bad Host", async (t) => {
  const cases: [string, string | null, string | undefined][] = [
    ["http://gateway/healthz", "gateway", "/healthz"],
    ["http://gateway:8080/streams/a%20b.sdp?x=1", "gateway:8080", "/streams/a%20b.sdp"],
    ["http://localhost:8080/healthz", null, "/healthz"], // HTTP/1.0 without Host
    ["http://other/streams", "gateway", "/streams"], // absolute-form target
    ["http://gateway", "gateway", "/"],
    ["http://x\\streams#/healthz", "x\\streams#", undefined],
    ["http://a b/healthz", "a b", undefined],
    ["http://gateway/healthz", "a@b", undefined],
    ["https://[::1]:8443/offer", "[::1]:8443", "/offer"],
  ];
  for (const [url, host, expected] of cases) {
    await t.step(`${url} (Host ${host})`, () => assert.equal(requestPath(url, host), expected));
  }
});
