// lib/net/kernel_socket.ts's Linux constants (socket(7), ip(7), ipv6(7) options, errno(3)) and
// struct layouts against what gcc and this machine's C library headers say (tests/testdata/kernel_abi.c).
import assert from "node:assert/strict";
import { ERRNO, LINUX, LP64_LAYOUT } from "../../lib/net/kernel_socket.ts";
import { peerTest } from "../support/peer_requirements.ts";
import { runToEnd } from "../../scripts/support/process.ts";

const linux = Deno.build.os === "linux";
const source = new URL("../testdata/kernel_abi.c", import.meta.url).pathname;

/** What gcc and the C library headers of this machine say (tests/testdata/kernel_abi.c). */
async function abiFromC(): Promise<{
  constants: Record<string, number>;
  errno: Record<string, number>;
  layout: Record<string, unknown>;
}> {
  const binary = await Deno.makeTempFile({ prefix: "kernel_abi_" });
  try {
    const build = await runToEnd("gcc", ["-Wall", "-Werror", "-o", binary, source]);
    assert.ok(build.success, build.stderr);
    const run = await runToEnd(binary, []);
    assert.ok(run.success);
    return JSON.parse(run.stdout);
  } finally {
    await Deno.remove(binary);
  }
}

await peerTest({
  name: "kernel_socket.ts option numbers, errno values and struct layouts match the C headers",
  peers: ["gcc"],
  netns: false,
  ignore: !linux || (Deno.build.arch !== "x86_64" && Deno.build.arch !== "aarch64"),
  async fn(t) {
    const abi = await abiFromC();
    await t.step("socket, IP and IPv6 option numbers", () => {
      assert.deepEqual({ ...LINUX }, abi.constants);
    });
    await t.step("errno values", () => {
      assert.deepEqual({ ...ERRNO }, abi.errno);
    });
    await t.step("mmsghdr, iovec, cmsghdr, timespec, sockaddr and membership requests", () => {
      assert.deepEqual(JSON.parse(JSON.stringify(LP64_LAYOUT)), abi.layout);
    });
  },
});
