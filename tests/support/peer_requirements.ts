// Which programs beyond Deno a test needs (VLC, ffmpeg/ffprobe, GStreamer, tmux, openssl, gcc), and
// whether it runs: on a machine without them the test is ignored and the peer is noted for the
// closing line of scripts/netns_test.sh; under CI=true (.ci/run) a missing peer is a failure.
import { inPrivateNetns } from "../../scripts/support/netns.ts";
import { peersAvailable } from "./peers.ts";

/** The peers, each with what to call it and the Debian packages that install it (as .ci/run does). */
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
  tmux: { name: "tmux", packages: ["tmux"] },
  openssl: { name: "openssl", packages: ["openssl"] },
  gcc: { name: "gcc", packages: ["gcc", "libc6-dev"] },
} as const;

/** One of {@link PEERS}. */
export type Peer = keyof typeof PEERS;

/** Environment variable naming the file that collects the peers tests were skipped for. */
export const SKIPPED_PEERS_FILE_ENV = "GATEWAY_SKIPPED_PEERS_FILE";

async function runs(program: string, args: string[]): Promise<boolean> {
  try {
    const output = await new Deno.Command(program, {
      args,
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).output();
    return output.success;
  } catch {
    return false;
  }
}

const cache = new Map<Peer, Promise<boolean>>();

/** True when `peer` can run here. */
export function peerAvailable(peer: Peer): Promise<boolean> {
  let result = cache.get(peer);
  if (result === undefined) {
    result = peer === "tmux"
      ? runs("tmux", ["-V"])
      : peer === "openssl"
      ? runs("openssl", ["version"])
      : peer === "gcc"
      ? runs("gcc", ["--version"])
      : peersAvailable().then((available) => available[peer]);
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
  fn(t: Deno.TestContext): Promise<void>;
}

/**
 * Registers a test with real peers: it runs only inside the private network namespace; where a
 * peer is missing it is skipped ({@link skipWithout}), except under CI=true where it fails plainly
 * first ({@link requirePeers}).
 */
export async function peerTest(test: PeerTestDefinition): Promise<void> {
  const ignore = !inPrivateNetns() || await skipWithout(...test.peers);
  Deno.test({
    name: test.name,
    ignore,
    async fn(t) {
      await requirePeers(...test.peers);
      await test.fn(t);
    },
  });
}
