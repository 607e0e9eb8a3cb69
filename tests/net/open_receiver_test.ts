// Tests of lib/net/open_receiver.ts: which receive path is chosen and why, and that bad groups,
// ports, interfaces and sources get the same clear MulticastError on both paths.
import assert from "node:assert/strict";
import { MulticastError } from "../../lib/common/errors.ts";
import { KernelReceiver } from "../../lib/net/kernel_receiver.ts";
import { MulticastReceiver } from "../../lib/net/multicast_receiver.ts";
import { openReceiver } from "../../lib/net/open_receiver.ts";
import { kernelTest } from "./receiver_collector.ts";
import { inPrivateNetns } from "../../scripts/support/netns.ts";
import { randomGroup4, randomRtpPort } from "../../scripts/support/endpoints.ts";

kernelTest({
  name: "openReceiver() picks the kernel path on Linux with FFI, Deno when asked, and says why",
  async fn(t) {
    await t.step("auto", async () => {
      await using receiver = await openReceiver({ group: randomGroup4(), port: randomRtpPort() });
      assert.equal(receiver.kind, "kernel");
      assert.match(receiver.reason, /^linux x86_64|^linux aarch64/);
      assert.match(receiver.reason, /recvmmsg/);
      assert.equal(receiver.filtersSources, false);
      assert.equal(receiver.socketDrops, 0);
    });
    await t.step("auto with a source: source-specific join", async () => {
      await using receiver = await openReceiver({
        group: randomGroup4(),
        port: randomRtpPort(),
        sources: ["127.0.0.1"],
      });
      assert.equal(receiver.kind, "kernel");
      assert.equal(receiver.filtersSources, true);
      assert.match(receiver.reason, /source-specific join/);
    });
    await t.step("kernel", async () => {
      await using receiver = await openReceiver({
        group: randomGroup4(),
        port: randomRtpPort(),
        prefer: "kernel",
      });
      assert.equal(receiver.kind, "kernel");
      assert.match(receiver.reason, /asked for \(--receiver kernel\)/);
    });
    await t.step("deno", async () => {
      await using receiver = await openReceiver({
        group: randomGroup4(),
        port: randomRtpPort(),
        prefer: "deno",
        sources: ["127.0.0.1"],
      });
      assert.equal(receiver.kind, "deno");
      assert.equal(receiver.reason, "asked for (--receiver deno)");
      assert.equal(receiver.filtersSources, false, "the caller must filter");
      assert.equal(receiver.socketDrops, undefined);
    });
    await t.step("the receive buffer is enlarged on both paths", async () => {
      const rmemMax = Number(Deno.readTextFileSync("/proc/sys/net/core/rmem_max").trim());
      for (const prefer of ["kernel", "deno"] as const) {
        await using receiver = await openReceiver({
          group: randomGroup4(),
          port: randomRtpPort(),
          prefer,
          receiveBufferBytes: 1 << 20,
        });
        const outcome = receiver.receiveBuffer;
        assert.ok(outcome.ok, outcome.ok ? "" : outcome.reason);
        assert.equal(outcome.bytes, 2 * (outcome.forced ? 1 << 20 : Math.min(1 << 20, rmemMax)));
      }
    });
  },
});

Deno.test({
  name: "openReceiver() falls back to Deno without FFI permission, and `kernel` then refuses",
  ignore: !inPrivateNetns(),
  permissions: { ffi: false, net: true, read: true, sys: true },
  async fn() {
    await using receiver = await openReceiver({ group: randomGroup4(), port: randomRtpPort() });
    assert.equal(receiver.kind, "deno");
    assert.equal(receiver.reason, "kernel receiver unavailable: no FFI permission (--allow-ffi)");
    await assert.rejects(
      openReceiver({ group: randomGroup4(), port: randomRtpPort(), prefer: "kernel" }),
      MulticastError,
      "Cannot use the kernel receiver: no FFI permission (--allow-ffi)",
    );
  },
});

kernelTest({
  name: "bad groups, ports, interfaces and sources get the same message on both paths",
  async fn(t) {
    const port = randomRtpPort();
    const cases: [string, Parameters<typeof KernelReceiver.open>[0], string | RegExp][] = [
      [
        "a unicast group",
        { group: "10.0.0.1", port },
        "Refusing to join: 10.0.0.1 is not a multicast address (IPv4 multicast is 224.0.0.0/4)",
      ],
      [
        "not an address",
        { group: "channel-1", port },
        'Refusing to join: "channel-1" is not an IPv4 or IPv6 address',
      ],
      ["port 0", { group: "239.1.1.1", port: 0 }, "Cannot receive on port 0: expected 1-65535"],
      [
        "an interface address no interface has",
        { group: "239.1.1.1", port, interface: "10.9.9.9" },
        `Cannot join 239.1.1.1 port ${port} on 10.9.9.9: no such interface`,
      ],
      [
        "an IPv6 interface for an IPv4 group",
        { group: "239.1.1.1", port, interface: "gw1" },
        'Cannot join 239.1.1.1: --interface must be an IPv4 address for an IPv4 group, got "gw1"',
      ],
      [
        "an IPv6 interface that does not exist",
        { group: "ff15::1", port, interface: "nosuchif0" },
        'No IPv6 network interface named "nosuchif0"',
      ],
      [
        "an IPv6 interface address no interface has",
        { group: "ff15::1", port, interface: "fd00:6a7::77" },
        "No local interface has the address fd00:6a7::77",
      ],
      [
        "an IPv6 source for an IPv4 group",
        { group: "239.1.1.1", port, sources: ["fd00::1"] },
        'Cannot join 239.1.1.1: source "fd00::1" is not an IPv4 address',
      ],
    ];
    for (const [name, options, message] of cases) {
      await t.step(name, async () => {
        const errors: string[] = [];
        for (const open of [KernelReceiver.open, MulticastReceiver.open]) {
          await assert.rejects(open(options), (error: Error) => {
            assert.ok(error instanceof MulticastError, `${error}`);
            errors.push(error.message);
            return true;
          });
        }
        assert.equal(errors[0], errors[1], "both paths say the same");
        if (typeof message === "string") assert.equal(errors[0], message);
        else assert.match(errors[0]!, message);
      });
    }
    await t.step("a link-local IPv6 group without an interface (kernel)", async () => {
      await assert.rejects(
        KernelReceiver.open({ group: "ff02::1:3", port }),
        MulticastError,
        `Cannot bind ff02::1:3 port ${port}: EINVAL (Invalid argument): an interface- or ` +
          "link-local group needs --interface",
      );
    });
  },
});
