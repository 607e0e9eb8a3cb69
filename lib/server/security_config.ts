// The server's security and limit settings (RFC 6750 bearer token, TLS files, CORS origin, rate and
// concurrency and connection limits, body and idle timeouts), checked with their origins so a bad
// value's error names its flag or variable.
import { ConfigError } from "../common/errors.ts";
import { HANDLER_DEFAULTS } from "./http_app.ts";
import { defaultMaxConnections } from "./open_file_limit.ts";
import { integerSetting, invalidAt, type Sourced } from "./setting_origin.ts";

/** The security settings as given, each with its origin. */
export interface SecuritySettings {
  readonly token?: Sourced<string>;
  readonly cert?: Sourced<string>;
  readonly key?: Sourced<string>;
  readonly corsOrigin?: Sourced<string>;
  readonly rateLimit?: Sourced<string>;
  readonly maxConcurrent?: Sourced<string>;
  readonly bodyTimeout?: Sourced<string>;
  readonly maxPerAddress?: Sourced<string>;
  readonly maxConnections?: Sourced<string>;
  readonly idleTimeout?: Sourced<string>;
  readonly protectReads: boolean;
}

/** The security part of the server's configuration. */
export interface SecurityConfig {
  /** Bearer token required on offers. */
  readonly token?: string;
  readonly protectReads: boolean;
  /** TLS certificate and key files (PEM). */
  readonly tls?: { readonly certFile: string; readonly keyFile: string };
  readonly corsOrigin?: string;
  /** Requests per second per client address. */
  readonly rateLimit?: number;
  readonly maxConcurrent: number;
  readonly bodyTimeoutS: number;
  /** Requests per client address receiving a body at once. */
  readonly maxPerAddress: number;
  /** Open connections at most. */
  readonly maxConnections: number;
  /** Seconds a connection may stay open with no request in flight. */
  readonly idleTimeoutS: number;
  /** The token came from `--token` (visible in `ps`), not from the environment. */
  readonly tokenFromFlag: boolean;
}

/** Bearer tokens: 8-512 characters of the RFC 6750 b64token alphabet. */
const TOKEN_PATTERN = /^[A-Za-z0-9._~+/=-]{8,512}$/;

/** Requests per second from `N` or `N/s` (0 < N ≤ 1 000 000); throws ConfigError at its origin. */
export function rateSetting(rate: Sourced<string>): number {
  const match = /^([0-9]+(?:\.[0-9]+)?)(?:\/s)?$/.exec(rate.value.trim());
  const perS = match === null ? NaN : Number(match[1]);
  if (!(perS > 0) || perS > 1_000_000) {
    throw invalidAt(
      rate.origin,
      `expected requests per second like 20 or 20/s, got "${rate.value}"`,
    );
  }
  return perS;
}

/** Checks the security settings; throws ConfigError naming the bad one. */
export function resolveSecurity(settings: SecuritySettings): SecurityConfig {
  const { token, cert, key, corsOrigin } = settings;
  if (token !== undefined && token.value !== "" && !TOKEN_PATTERN.test(token.value)) {
    throw invalidAt(token.origin, "a token is 8-512 characters of letters, digits and -._~+/=");
  }
  if ((cert === undefined) !== (key === undefined)) {
    throw new ConfigError(cert === undefined ? "--cert" : "--key", "--cert and --key go together");
  }
  if (corsOrigin !== undefined && corsOrigin.value !== "*") {
    let parsed: URL | undefined;
    try {
      parsed = new URL(corsOrigin.value);
    } catch {
      parsed = undefined;
    }
    if (parsed === undefined || parsed.origin !== corsOrigin.value) {
      throw invalidAt(
        corsOrigin.origin,
        `"${corsOrigin.value}" is not an origin like https://app.example or *`,
      );
    }
  }
  const rateLimit = settings.rateLimit === undefined ? undefined : rateSetting(settings.rateLimit);
  const bodyTimeout = settings.bodyTimeout;
  const bodyTimeoutS = bodyTimeout === undefined ? 10 : Number(bodyTimeout.value);
  if (bodyTimeout !== undefined && (!(bodyTimeoutS > 0) || bodyTimeoutS > 3600)) {
    throw invalidAt(bodyTimeout.origin, `expected seconds (0-3600), got "${bodyTimeout.value}"`);
  }
  const idleTimeout = settings.idleTimeout;
  const idleTimeoutS = idleTimeout === undefined ? 30 : Number(idleTimeout.value);
  if (idleTimeout !== undefined && (!(idleTimeoutS > 0) || idleTimeoutS > 3600)) {
    throw invalidAt(idleTimeout.origin, `expected seconds (0-3600), got "${idleTimeout.value}"`);
  }
  return {
    ...(token === undefined || token.value === "" ? {} : { token: token.value }),
    tokenFromFlag: token !== undefined && token.value !== "" && token.origin.kind === "flag",
    protectReads: settings.protectReads,
    ...(cert !== undefined && key !== undefined
      ? { tls: { certFile: cert.value, keyFile: key.value } }
      : {}),
    ...(corsOrigin === undefined ? {} : { corsOrigin: corsOrigin.value }),
    ...(rateLimit === undefined ? {} : { rateLimit }),
    maxConcurrent: settings.maxConcurrent === undefined
      ? HANDLER_DEFAULTS.maxConcurrent
      : integerSetting(settings.maxConcurrent, 1, 100_000),
    bodyTimeoutS,
    maxPerAddress: settings.maxPerAddress === undefined
      ? HANDLER_DEFAULTS.maxPerAddress
      : integerSetting(settings.maxPerAddress, 1, 100_000),
    maxConnections: settings.maxConnections === undefined
      ? defaultMaxConnections()
      : integerSetting(settings.maxConnections, 1, 1_000_000),
    idleTimeoutS,
  };
}
