// Tests of controlGroupProblem() (lib/net/multicast_address.ts): control groups an answer must not
// steer a client into (RFC 5771 §4, RFC 4291 §2.7; issue 11 item 11).
import assert from "node:assert/strict";
import { controlGroupProblem } from "../../lib/net/multicast_address.ts";

Deno.test("controlGroupProblem() names 224.0.0.0/24 and permanent low-scope IPv6 groups", async (t) => {
  const cases: [string, RegExp | undefined][] = [
    ["224.0.0.1", /local network control block/],
    ["224.0.0.22", /local network control block/],
    ["224.0.0.251", /local network control block/],
    ["224.0.0.255", /local network control block/],
    ["224.0.1.1", undefined],
    ["239.0.0.1", undefined],
    ["232.1.1.1", undefined],
    ["ff02::1", /link-local control group/],
    ["FF02::FB", /link-local control group/],
    ["ff02::16", /link-local control group/],
    ["ff01::1", /interface-local control group/],
    ["ff00::1", /reserved-scope control group/],
    ["ff12::1", undefined], // transient link-local: a stream may live there
    ["ff32::8000:1", undefined],
    ["ff05::1:3", undefined],
    ["ff0e::1", undefined],
    ["not an address", undefined],
  ];
  for (const [group, pattern] of cases) {
    await t.step(group, () => {
      const problem = controlGroupProblem(group);
      if (pattern === undefined) assert.equal(problem, undefined);
      else assert.match(problem ?? "", pattern);
    });
  }
});
