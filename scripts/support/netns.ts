// The private network namespace that multicast tests, scripts and benchmarks run in, so no packet
// can leave the host: `unshare -rn` (user_namespaces(7), network_namespaces(7)), lo up and
// 224.0.0.0/4 routed to it; scripts/netns_test.sh and scripts/bench/netns_bench.sh set it up too.
import { fileURLToPath } from "node:url";
import { Child, REPO_ROOT } from "./process.ts";

/** True inside the private network namespace (GATEWAY_NETNS=1: netns_test.sh or a re-exec). */
export function inPrivateNetns(): boolean {
  return Deno.env.get("GATEWAY_NETNS") === "1";
}

/**
 * The interfaces of this network namespace (/proc/net/dev) when it is not the private one with only
 * `lo` that scripts/bench/netns_bench.sh makes (no way out at all), else undefined.
 */
export function interfacesBesideLoopback(): string[] | undefined {
  const interfaces = Deno.readTextFileSync("/proc/net/dev").split("\n").slice(2)
    .map((line) => line.trim().split(":", 1)[0]!).filter((name) => name !== "");
  return inPrivateNetns() && interfaces.every((name) => name === "lo") ? undefined : interfaces;
}

/** Throws unless {@link inPrivateNetns}: nothing here may send multicast on a real network. */
export function assertPrivateNetns(what: string): void {
  if (!inPrivateNetns()) {
    throw new Error(
      `${what} sends multicast and runs only inside a private network namespace (GATEWAY_NETNS=1)`,
    );
  }
}

/**
 * Re-runs `script` with `args` as `deno run -A` inside `unshare -rn` (a new user and network
 * namespace: only lo, brought up, with 224.0.0.0/4 routed to it and GATEWAY_NETNS=1), with this
 * process's stdin, stdout and stderr, forwarding SIGINT/SIGTERM; returns its exit code.
 */
export async function runInPrivateNetns(script: URL, args: string[]): Promise<number> {
  const setup = "ip link set lo up && ip route add 224.0.0.0/4 dev lo src 127.0.0.1 && " +
    'export GATEWAY_NETNS=1 && exec "$@"';
  const child = new Child("unshare", [
    "-rn",
    "bash",
    "-euc",
    setup,
    "netns",
    Deno.execPath(),
    "run",
    "-A",
    "--frozen",
    fileURLToPath(script),
    ...args,
  ], { cwd: REPO_ROOT, stdin: "inherit", stdout: "inherit", stderr: "inherit" });
  const onInt = () => child.kill("SIGINT");
  const onTerm = () => child.kill("SIGTERM");
  Deno.addSignalListener("SIGINT", onInt);
  Deno.addSignalListener("SIGTERM", onTerm);
  try {
    return (await child.status).code;
  } finally {
    Deno.removeSignalListener("SIGINT", onInt);
    Deno.removeSignalListener("SIGTERM", onTerm);
  }
}
