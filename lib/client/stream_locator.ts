// Where the client's streams come from, read from its flags and environment: offers to the server
// (RFC 3264; `/offer`, `/streams/NAME/offer`), SDP descriptions (files or URLs), or the server's
// whole catalog (--all); the server URL that reports and the catalog are sent to.
import { ConfigError } from "../common/errors.ts";
import { checkStreamName } from "../sdp/stream.ts";
import { DEFAULT_SERVER_URL } from "./usage.ts";

/** Environment variables the client reads. */
export const CLIENT_ENV = {
  server: "GATEWAY_HTTP_URL",
  token: "GATEWAY_TOKEN",
} as const;

/** Where the client gets the stream description from. */
export type StreamLocator =
  | { readonly kind: "offer"; readonly url: string }
  | { readonly kind: "sdp"; readonly location: string };

/** Most streams named with --stream and --sdp together. */
export const MAX_NAMED_STREAMS = 256;

/** The offer URL for a server URL and optional stream name. */
export function offerUrl(server: string, stream: string | undefined, field: string): string {
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw new ConfigError(field, `${field}: "${server}" is not a URL (e.g. http://127.0.0.1:8080)`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ConfigError(field, `${field}: "${server}" must be an http:// or https:// URL`);
  }
  let base = url.pathname.replace(/\/+$/, "");
  if (base.endsWith("/offer")) base = base.slice(0, -"/offer".length);
  base = base.replace(/\/streams\/[^/]+$/, "");
  url.pathname = stream === undefined
    ? `${base}/offer`
    : `${base}/streams/${encodeURIComponent(stream)}/offer`;
  return url.toString();
}

/** The flags {@link parseLocators} reads. */
export interface LocatorFlags {
  readonly server?: string;
  readonly stream?: readonly string[];
  readonly sdp?: readonly string[];
  readonly all?: boolean;
}

/**
 * The streams named (an offer per `--stream`, the default stream's offer, or a description per
 * `--sdp`; none with `--all`) and the server URL (undefined with `--sdp`). Throws ConfigError
 * naming the flag for a bad combination, name or URL.
 */
export function parseLocators(
  values: LocatorFlags,
  env: (name: string) => string | undefined,
): { locators: StreamLocator[]; server: string | undefined } {
  const streams = values.stream ?? [];
  const sdps = values.sdp ?? [];
  for (const stream of streams) checkStreamName(stream, "--stream");
  if (streams.length + sdps.length > MAX_NAMED_STREAMS) {
    throw new ConfigError(
      "--stream",
      `At most ${MAX_NAMED_STREAMS} streams can be named with --stream and --sdp; use --all`,
    );
  }
  const all = values.all ?? false;
  let locators: StreamLocator[];
  let server: string | undefined;
  if (sdps.length > 0) {
    if (streams.length > 0 || values.server !== undefined) {
      throw new ConfigError(
        "--sdp",
        "--sdp reads a description directly; drop --server and --stream",
      );
    }
    if (all) throw new ConfigError("--sdp", "--sdp reads a description directly; drop --all");
    for (const sdp of sdps) {
      if (sdp.trim() === "") throw new ConfigError("--sdp", "--sdp: expected a file or URL");
    }
    locators = sdps.map((location) => ({ kind: "sdp", location }));
  } else {
    if (all && streams.length > 0) {
      throw new ConfigError("--all", "--all watches every stream of the catalog; drop --stream");
    }
    const fromEnv = env(CLIENT_ENV.server);
    server = values.server ?? (fromEnv === "" ? undefined : fromEnv) ?? DEFAULT_SERVER_URL;
    const field = values.server !== undefined
      ? "--server"
      : fromEnv
      ? CLIENT_ENV.server
      : "--server";
    const names: (string | undefined)[] = streams.length > 0 ? [...new Set(streams)] : [undefined];
    locators = names.map((name) => ({ kind: "offer", url: offerUrl(server!, name, field) }));
    if (all) locators = [];
  }
  return { locators, server };
}
