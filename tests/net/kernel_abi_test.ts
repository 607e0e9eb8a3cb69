import assert from "node:assert/strict";
import { ERRNO, LINUX, LP64_LAYOUT } from "../../lib/net/kernel_socket.ts";

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
    const build = await new Deno.Command("gcc", {
      args: ["-Wall", "-Werror", "-o", binary, source],
      stderr: "piped",
    }).output();
    assert.ok(build.success, new TextDecoder().decode(build.stderr));
    const run = await new Deno.Command(binary, { stdout: "piped" }).output();
    assert.ok(run.success);
    return JSON.parse(new TextDecoder().decode(run.stdout));
  } finally {
    await Deno.remove(binary);
  }
}

Deno.test({
  name: "kernel_socket.ts option numbers, errno values and struct layouts match the C headers",
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
