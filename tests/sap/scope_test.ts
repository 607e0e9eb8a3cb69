// Tests lib/sap/scope.ts: the SAP group of each multicast scope (RFC 2974 §3, as VLC picks it), the
// fallback for 239/8 outside the named ranges, and what cannot be announced.
import assert from "node:assert/strict";
import { SAP_LISTEN_GROUPS_V6, sapGroupFor } from "../../lib/sap/scope.ts";

Deno.test("sapGroupFor() picks the group of the session's scope (RFC 2974 §3)", async (t) => {
  const cases: [string, string, string][] = [
    ["224.2.130.1", "224.2.127.254", "global"],
    ["232.1.1.1", "224.2.127.254", "global"],
    ["233.0.0.1", "224.2.127.254", "global"],
    ["239.255.0.1", "239.255.255.255", "local"],
    ["239.255.255.254", "239.255.255.255", "local"],
    ["239.192.0.1", "239.195.255.255", "organization"],
    ["239.195.10.20", "239.195.255.255", "organization"],
    ["ff02::1:5", "ff02::2:7ffe", "ipv6"],
    ["ff15::1:5", "ff05::2:7ffe", "ipv6"],
    ["ff38::1", "ff08::2:7ffe", "ipv6"],
    ["ff0e::1234", "ff0e::2:7ffe", "ipv6"],
  ];
  for (const [address, group, scope] of cases) {
    await t.step(`${address} -> ${group}`, () => {
      const choice = sapGroupFor(address);
      assert.equal(choice.group, group);
      assert.equal(choice.scope, scope);
      assert.equal(choice.port, 9875);
      assert.equal(choice.warning, undefined);
    });
  }
  assert.deepEqual(SAP_LISTEN_GROUPS_V6, [
    "ff02::2:7ffe",
    "ff05::2:7ffe",
    "ff08::2:7ffe",
    "ff0e::2:7ffe",
  ]);
});

Deno.test("sapGroupFor() announces 239/8 outside the named ranges on 224.2.127.254, with a warning", async (t) => {
  for (
    const address of ["239.0.0.1", "239.1.2.3", "239.191.255.255", "239.196.0.0", "239.254.0.1"]
  ) {
    await t.step(address, () => {
      const choice = sapGroupFor(address);
      assert.equal(choice.group, "224.2.127.254");
      assert.equal(choice.scope, "administrative");
      assert.match(
        choice.warning ?? "",
        new RegExp(`${address.replaceAll(".", "\\.")} is in 239\\.0\\.0\\.0/8`),
      );
      assert.match(choice.warning ?? "", /VLC refuses it/);
    });
  }
});

Deno.test("sapGroupFor() refuses unicast addresses and reserved IPv6 scopes", () => {
  assert.throws(() => sapGroupFor("192.0.2.1"), /not a multicast address/);
  assert.throws(() => sapGroupFor("ff00::1"), /scope 0 is reserved/);
  assert.throws(() => sapGroupFor("ff1f::1"), /scope 15 is reserved/);
});
