// Where the client's streams come from, read from its flags and environment: offers to the server
// (RFC 3264; `/offer`, `/streams/NAME/offer`), SDP descriptions (files or URLs), sessions announced
// with SAP (RFC 2974, by `s=` name), or the server's whole catalog (--all); the server URL that
// reports and the catalog are sent to.
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
  | { readonly kind: "sdp"; readonly location: string }
  | { readonly kind: "sap"; readonly name: string };

/** Longest `--sap` name, in characters (an SDP `s=` line is short text). */
export const MAX_SAP_NAME_CHARS = 256;

/** Most streams named with --stream, --sdp and --sap together. */
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
  readonly sap?: readonly string[];
  readonly all?: boolean;
}

/** Checks a `--sap` name: the `s=` text of an announcement, printable, 1-256 characters. */
function checkSapName(name: string): void {
  // deno-lint-ignore no-control-regex -- refuses control characters in the name
  if (name.trim() === "" || name.length > MAX_SAP_NAME_CHARS || /[\x00-\x1f\x7f]/.test(name)) {
    throw new ConfigError(
      "--sap",
      `--sap: expected the session name (s=) of an announcement, 1-${MAX_SAP_NAME_CHARS} ` +
        `printable characters, got ${JSON.stringify(name.slice(0, 80))}`,
    );
  }
}

/**
 * The streams named (an offer per `--stream`, a description per `--sdp`, an announced session per
 * `--sap`, or else the default stream's offer; none with `--all`) and the server URL (undefined
 * with `--sdp`, and with `--sap` alone: an announced session needs no server). Throws ConfigError
 * naming the flag for a bad combination, name or URL.
 */
export function parseLocators(
  values: LocatorFlags,
  env: (name: string) => string | undefined,
): { locators: StreamLocator[]; server: string | undefined } {
  const streams = values.stream ?? [];
  const sdps = values.sdp ?? [];
  const saps = [...new Set(values.sap ?? [])];
  for (const stream of streams) checkStreamName(stream, "--stream");
  for (const name of saps) checkSapName(name);
  if (streams.length + sdps.length + saps.length > MAX_NAMED_STREAMS) {
    throw new ConfigError(
      "--stream",
      `At most ${MAX_NAMED_STREAMS} streams can be named with --stream, --sdp and --sap; use --all`,
    );
  }
  const all = values.all ?? false;
  if (all && saps.length > 0) {
    throw new ConfigError("--sap", "--all watches the server's catalog; drop --sap");
  }
  const announced: StreamLocator[] = saps.map((name) => ({ kind: "sap", name }));
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
    locators = [
      ...sdps.map((location): StreamLocator => ({ kind: "sdp", location })),
      ...announced,
    ];
  } else if (saps.length > 0 && streams.length === 0) {
    if (values.server !== undefined) {
      throw new ConfigError(
        "--server",
        "--server names the stream server: add --stream NAME, or drop --server (--sap needs none)",
      );
    }
    locators = announced;
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
    locators = [
      ...names.map((name): StreamLocator => ({
        kind: "offer",
        url: offerUrl(server!, name, field),
      })),
      ...announced,
    ];
    if (all) locators = [];
  }
  return { locators, server };
}
