// Which programs beyond Deno a test needs (VLC, ffmpeg/ffprobe, GStreamer, Chromium, tshark,
// Prometheus/promtool, tmux, openssl, gcc), and whether it runs: on a machine without them the test
// is ignored and the peer is noted for the closing line of scripts/netns_test.sh; under CI=true
// (.ci/run) a missing peer is a failure.
import { inPrivateNetns } from "../../scripts/support/netns.ts";
import { runToEnd } from "../../scripts/support/process.ts";
import { peersAvailable } from "./peers.ts";

/** A peer: what to call it, the Debian packages that install it (as .ci/run does), how to probe it. */
export interface PeerSpec {
  readonly name: string;
  readonly packages: readonly string[];
  /**
   * Command lines that must all succeed where the peer is usable; without them the media peers'
   * own probe decides ({@link peersAvailable}: VLC as nobody, ffmpeg and ffprobe, GStreamer's
   * elements).
   */
  readonly probes?: readonly (readonly string[])[];
}

/** The peers. */
export const PEERS = {
  vlc: { name: "VLC", packages: ["vlc-bin", "vlc-plugin-base"] },
  ffmpeg: { name: "ffmpeg/ffprobe", packages: ["ffmpeg"] },
  gst: {
    name: "GStreamer",
    packages: [
      "gstreamer1.0-tools",
      "gstreamer1.0-plugins-base",
      "gstreamer1.0-plugins-good",
      "gstreamer1.0-plugins-bad",
    ],
  },
  chromium: { name: "chromium", packages: ["chromium"], probes: [["chromium", "--version"]] },
  tshark: { name: "tshark", packages: ["tshark"], probes: [["tshark", "--version"]] },
  prometheus: {
    name: "prometheus/promtool",
    packages: ["prometheus"],
    probes: [["prometheus", "--version"], ["promtool", "--version"]],
  },
  tmux: { name: "tmux", packages: ["tmux"], probes: [["tmux", "-V"]] },
  openssl: { name: "openssl", packages: ["openssl"], probes: [["openssl", "version"]] },
  gcc: { name: "gcc", packages: ["gcc", "libc6-dev"], probes: [["gcc", "--version"]] },
} as const satisfies Record<string, PeerSpec>;

/** One of {@link PEERS}. */
export type Peer = keyof typeof PEERS;

/** Environment variable naming the file that collects the peers tests were skipped for. */
export const SKIPPED_PEERS_FILE_ENV = "GATEWAY_SKIPPED_PEERS_FILE";

/** True when `command` runs and exits 0 (false when the program is missing). */
async function runs(command: readonly string[]): Promise<boolean> {
  const [program, ...args] = command;
  if (program === undefined) return false;
  try {
    return (await runToEnd(program, args, { stdout: "null", stderr: "null", timeoutMs: 30_000 }))
      .success;
  } catch {
    return false;
  }
}

const cache = new Map<Peer, Promise<boolean>>();

/** True when `peer` can run here (probed once). */
export function peerAvailable(peer: Peer): Promise<boolean> {
  let result = cache.get(peer);
  if (result === undefined) {
    const spec: PeerSpec = PEERS[peer];
    result = spec.probes === undefined
      ? peersAvailable().then((available) => available[peer as keyof typeof available])
      : Promise.all(spec.probes.map(runs)).then((ok) => ok.every(Boolean));
    cache.set(peer, result);
  }
  return result;
}

/** True when the run must prove interop: CI=true (set by .ci/run after installing the peers). */
export function peersRequired(): boolean {
  return Deno.env.get("CI") === "true";
}

/**
 * Whether to ignore a test that needs `peers`: true when one is missing here (the peer is then
 * noted in $GATEWAY_SKIPPED_PEERS_FILE for the closing line); false when all are present, and
 * always false under CI=true, so the test runs and fails on the missing peer.
 */
export async function skipWithout(...peers: Peer[]): Promise<boolean> {
  const missing: Peer[] = [];
  for (const peer of peers) if (!(await peerAvailable(peer))) missing.push(peer);
  if (missing.length === 0 || peersRequired()) return false;
  const file = Deno.env.get(SKIPPED_PEERS_FILE_ENV);
  if (file !== undefined && file !== "") {
    const lines = missing.map((p) => `${PEERS[p].name}\t${PEERS[p].packages.join(" ")}\n`);
    await Deno.writeTextFile(file, lines.join(""), { append: true });
  }
  return true;
}

/** Throws naming the missing peers and how to install them (a test that runs must have them). */
export async function requirePeers(...peers: Peer[]): Promise<void> {
  const missing: Peer[] = [];
  for (const peer of peers) if (!(await peerAvailable(peer))) missing.push(peer);
  if (missing.length === 0) return;
  throw new Error(
    `${missing.map((p) => PEERS[p].name).join(", ")} not installed: apt-get install ${
      missing.flatMap((p) => PEERS[p].packages).join(" ")
    } (.ci/run installs them)`,
  );
}

/** A test with real peers (see {@link peerTest}). */
export interface PeerTestDefinition {
  readonly name: string;
  /** The peers the test needs. */
  readonly peers: readonly Peer[];
  /**
   * Run only inside the private network namespace of scripts/netns_test.sh (default true: the test
   * sends multicast, or runs a peer as root there); false for a peer that only reads text or
   * serves loopback HTTP (promtool, a Prometheus scraping 127.0.0.1, gcc).
   */
  readonly netns?: boolean;
  /** Ignored whatever the peers when true (another platform, say). */
  readonly ignore?: boolean;
  fn(t: Deno.TestContext): Promise<void>;
}

/**
 * Registers a test with real peers: it runs only inside the private network namespace (unless
 * `netns: false`); where a peer is missing it is skipped ({@link skipWithout}), except under CI=true
 * where it fails plainly first ({@link requirePeers}).
 */
export async function peerTest(test: PeerTestDefinition): Promise<void> {
  const ignore = test.ignore === true || ((test.netns ?? true) && !inPrivateNetns()) ||
    await skipWithout(...test.peers);
  Deno.test({
    name: test.name,
    ignore,
    async fn(t) {
      await requirePeers(...test.peers);
      await test.fn(t);
    },
  });
}

/**
 * Runs a step of test `t` that needs real peers: ignored where one is missing, failing plainly under
 * CI=true, like {@link peerTest} (the enclosing test decides about the namespace). Resolves as
 * `t.step` does.
 */
export async function peerStep(
  t: Deno.TestContext,
  step: Omit<PeerTestDefinition, "netns" | "ignore">,
): Promise<boolean> {
  return await t.step({
    name: step.name,
    ignore: await skipWithout(...step.peers),
    async fn(inner) {
      await requirePeers(...step.peers);
      await step.fn(inner);
    },
  });
}
