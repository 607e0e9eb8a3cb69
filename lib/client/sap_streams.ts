// `--sap NAME`: streams found by their SAP announcement (RFC 2974) instead of a server: listens on
// the SAP groups (lib/sap/listener.ts) until every named session (`s=`) was heard or --timeout ran
// out, and reads where each one lives out of its announced SDP (RFC 8866).
import { abortable } from "../common/abortable.ts";
import { MulticastError, NegotiationError, SdpError } from "../common/errors.ts";
import { printable } from "../common/printable.ts";
import { ipVersionOf } from "../net/multicast_address.ts";
import type { DirectorySession } from "../sap/directory.ts";
import { type ListenerOptions, SapListener } from "../sap/listener.ts";
import { DEFAULT_SAP_LISTEN_GROUPS, SAP_PORT } from "../sap/scope.ts";
import { type MediaChoice, readReceiveTarget } from "../sdp/receive_target.ts";
import type { StreamPlan } from "./stream_setup.ts";

/** Most names of other sessions a "not heard" message lists. */
const OTHERS_LISTED = 8;

/** The SAP listener's interfaces for `--interface`: an IPv4 address for the IPv4 groups, else IPv6. */
export function sapInterfaces(
  iface: string | undefined,
): Pick<ListenerOptions, "interfaceV4" | "interfaceV6"> {
  if (iface === undefined) return {};
  return ipVersionOf(iface) === 4 ? { interfaceV4: iface } : { interfaceV6: iface };
}

/** Options of {@link findAnnouncedStreams}. */
export interface AnnouncedStreamsOptions {
  /** Session names (`s=`) to wait for. */
  readonly names: readonly string[];
  /** How long to wait for all of them, seconds (--timeout). */
  readonly timeoutS: number;
  /** `--interface`. */
  readonly interface?: string;
  /** `--source`: senders accepted besides the announcement's source filter. */
  readonly sources: readonly string[];
  readonly media?: MediaChoice;
  readonly allowControlGroups: boolean;
  readonly signal: AbortSignal;
  /** SAP groups (default the three IPv4 and four IPv6 ones) and port (default 9875). */
  readonly groups?: readonly string[];
  readonly port?: number;
  /** Called once the listener is open: the groups it joined and those it could not. */
  readonly onListening?: (
    groups: readonly string[],
    failed: readonly { group: string; error: string }[],
  ) => void;
  /** Called when a named session is heard. */
  readonly onHeard?: (session: DirectorySession) => void;
}

/** The stream an announced session describes. Throws NegotiationError for an unusable SDP. */
export function planOfSession(
  session: DirectorySession,
  options: Pick<AnnouncedStreamsOptions, "sources" | "media" | "allowControlGroups">,
): StreamPlan {
  let target;
  try {
    target = readReceiveTarget(session.sdp, {
      allowControlGroups: options.allowControlGroups,
      ...(options.media === undefined ? {} : { media: options.media }),
    });
  } catch (error) {
    if (!(error instanceof SdpError)) throw error;
    throw new NegotiationError(
      `Unusable SDP in the SAP announcement of "${printable(session.name)}" from ` +
        `${session.origin}: ${printable(error.message)}`,
      { cause: error },
    );
  }
  return {
    name: session.name,
    target,
    sources: [...new Set([...target.sources, ...options.sources])],
    origin: `sap://${session.heardOn}`,
  };
}

/**
 * Listens for the named sessions and returns their streams, in the order of `names`. Throws
 * NegotiationError naming the groups listened on when one was not heard within the timeout,
 * MulticastError when no SAP group can be joined, or the signal's reason when aborted.
 */
export async function findAnnouncedStreams(
  options: AnnouncedStreamsOptions,
): Promise<StreamPlan[]> {
  const wanted = new Set(options.names);
  const heard = new Map<string, DirectorySession>();
  const others = new Set<string>();
  const { promise: allHeard, resolve } = Promise.withResolvers<void>();
  const take = (session: DirectorySession) => {
    if (!wanted.has(session.name)) {
      if (others.size < OTHERS_LISTED) others.add(session.name);
      return;
    }
    if (heard.has(session.name)) return;
    heard.set(session.name, session);
    options.onHeard?.(session);
    if (heard.size === wanted.size) resolve();
  };
  const groups = options.groups ?? DEFAULT_SAP_LISTEN_GROUPS;
  let listener: SapListener;
  try {
    listener = await SapListener.open({
      groups,
      ...(options.port === undefined ? {} : { port: options.port }),
      ...sapInterfaces(options.interface),
      onEvent: (event) => {
        if (event.type === "new" || event.type === "changed") take(event.session);
      },
    });
  } catch (error) {
    if (error instanceof MulticastError) {
      throw new MulticastError(`--sap: ${error.message}`, { cause: error });
    }
    throw error;
  }
  try {
    const snapshot = listener.snapshot();
    options.onListening?.(snapshot.groups, snapshot.failedGroups);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<"timeout">((done) => {
      timer = setTimeout(() => done("timeout"), options.timeoutS * 1000);
    });
    let outcome: "heard" | "timeout";
    try {
      outcome = await abortable(
        Promise.race([allHeard.then(() => "heard" as const), timedOut]),
        options.signal,
      );
    } finally {
      clearTimeout(timer);
    }
    if (outcome === "timeout") {
      const missing = options.names.filter((n) => !heard.has(n));
      const port = options.port ?? SAP_PORT;
      throw new NegotiationError(
        `No SAP announcement of ${missing.map((n) => `"${printable(n)}"`).join(", ")} was heard ` +
          `within ${options.timeoutS} s on ${snapshot.groups.join(", ")} port ${port}` +
          (others.size === 0
            ? " (no other session either)"
            : ` (heard: ${[...others].map((n) => printable(n)).join(", ")})`),
      );
    }
    return options.names.map((name) => planOfSession(heard.get(name)!, options));
  } finally {
    await listener.close();
  }
}
