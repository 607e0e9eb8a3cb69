// Turning what the user named into streams to watch: an offer to the server (RFC 3264) or an SDP
// description per stream, its `stream` label (catalog name, the SDP's `s=`, else group:port, kept
// unique), its source filter, and the log lines that describe it.
import { formatEncoding } from "../rtp/payload_format.ts";
import type { ReceiveTarget } from "../sdp/receive_target.ts";
import type { StreamLocator } from "./stream_locator.ts";
import { type FetchOptions, loadDescription, negotiate } from "./negotiate.ts";
import type { PayloadFormat } from "../rtp/payload_format.ts";
import { STREAM_NAME_PATTERN } from "../sdp/stream.ts";

/** A stream ready to be watched. */
export interface StreamPlan {
  /** The `stream` label. */
  readonly name: string;
  /** The name the server knows it by (for reports), when it came from a server. */
  readonly catalogName?: string;
  readonly target: ReceiveTarget;
  /** The description's source filter and `--source`, without repeats. */
  readonly sources: readonly string[];
  /** Where it was negotiated or read (the server's URL for reports). */
  readonly origin: string;
}

/** The catalog name in an offer or description URL (`/streams/NAME/offer`, `/streams/NAME.sdp`). */
export function streamNameOf(url: string): string | undefined {
  let path: string;
  try {
    path = new URL(url).pathname;
  } catch {
    return undefined;
  }
  const match = /\/streams\/([^/]+?)(?:\/offer|\.sdp)$/.exec(path);
  if (match === null) return undefined;
  try {
    return decodeURIComponent(match[1]!);
  } catch {
    return undefined;
  }
}

/**
 * Negotiates (an offer locator) or reads (an SDP locator) one stream (announced ones: see
 * sap_streams.ts). Throws NegotiationError (or the signal's reason when aborted).
 */
export async function resolveStream(
  locator: Exclude<StreamLocator, { kind: "sap" }>,
  options: FetchOptions & {
    readonly formats: readonly PayloadFormat[];
    readonly sources: readonly string[];
  },
): Promise<StreamPlan> {
  const target = locator.kind === "offer"
    ? await negotiate(locator.url, options)
    : await loadDescription(locator.location, options);
  const origin = locator.kind === "offer" ? locator.url : locator.location;
  // The server's answer names its stream in s= (lib/sdp/answer.ts): the default stream of /offer.
  const catalogName = /^https?:\/\//i.test(origin)
    ? streamNameOf(origin) ??
      (locator.kind === "offer" && STREAM_NAME_PATTERN.test(target.name) ? target.name : undefined)
    : undefined;
  const name = catalogName ??
    (target.name.trim() === "" || target.name === "-"
      ? `${target.group}:${target.port}`
      : target.name);
  return {
    name,
    ...(catalogName === undefined ? {} : { catalogName }),
    target,
    sources: [...new Set([...target.sources, ...options.sources])],
    origin,
  };
}

/**
 * `plan` with a `stream` label no other stream in `taken` has: a repeated one gets its group and
 * port appended (`tv@239.0.0.1:5004`), then a number.
 */
export function uniquelyNamed(plan: StreamPlan, taken: ReadonlySet<string>): StreamPlan {
  if (!taken.has(plan.name)) return plan;
  let name = `${plan.name}@${plan.target.group}:${plan.target.port}`;
  for (let n = 2; taken.has(name); n++) {
    name = `${plan.name}@${plan.target.group}:${plan.target.port}#${n}`;
  }
  return { ...plan, name };
}

/** The formats of a target as the log shows them. */
export function describeFormats(target: ReceiveTarget): string {
  if (target.transport === "udp") return "MPEG-TS over UDP (no RTP)";
  const formats = target.formats.map((f) => `${formatEncoding(f)} (PT ${f.payloadType})`);
  return formats.join(", ") || "no known format";
}
