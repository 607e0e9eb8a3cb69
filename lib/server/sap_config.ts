// The server's SAP settings (RFC 2974): `--sap` announces the configured streams every
// `--sap-interval` seconds with an originating source from `--sap-origin` or the listening address;
// `--sap-listen` adds the sessions others announce to the catalog. Checked with their origins.
import { ConfigError } from "../common/errors.ts";
import { parseSecondsFlag } from "../common/flags.ts";
import { ipVersionOf, isMulticastAddress } from "../net/multicast_address.ts";
import { DEFAULT_SAP_INTERVAL_S } from "../sap/schedule.ts";
import { invalidAt, type Sourced } from "./setting_origin.ts";

/** Shortest and longest announcement interval accepted, seconds. */
export const SAP_INTERVAL_RANGE_S = { min: 0.1, max: 3600 } as const;

/** The SAP settings as given. */
export interface SapSettings {
  readonly announce: boolean;
  readonly interval?: Sourced<string>;
  readonly origin?: Sourced<string>;
  readonly listen: boolean;
  /** The address the server listens on (`--host`): the origin when it is a specific one. */
  readonly host: string;
}

/** The SAP part of the server's configuration. */
export interface SapConfig {
  /** Announce every configured stream (`--sap`). */
  readonly announce: boolean;
  /** Each stream's announcement interval, seconds. */
  readonly intervalS: number;
  /** Originating source of IPv4 announcements; unspecified (0.0.0.0) when undefined. */
  readonly originV4?: string;
  /** Originating source of IPv6 announcements; unspecified (::) when undefined. */
  readonly originV6?: string;
  /** Add the sessions others announce to the catalog (`--sap-listen`). */
  readonly listen: boolean;
}

/** True for an address that names one interface: not the wildcard, not multicast. */
function isSpecificAddress(address: string): boolean {
  return ipVersionOf(address) !== undefined && address !== "0.0.0.0" && address !== "::" &&
    !isMulticastAddress(address);
}

/**
 * Checks the SAP settings. The origin of each IP version is `--sap-origin` when it is of that
 * version, else `--host` when that is a specific address of it, else left unspecified. Throws
 * ConfigError naming the flag.
 */
export function resolveSap(settings: SapSettings): SapConfig {
  const { interval, origin } = settings;
  for (const given of [interval, origin]) {
    if (given !== undefined && !settings.announce) {
      throw new ConfigError(given.origin.name, `${given.origin.name} needs --sap`);
    }
  }
  let intervalS: number = DEFAULT_SAP_INTERVAL_S;
  if (interval !== undefined) {
    intervalS = parseSecondsFlag(interval.value, interval.origin.name);
    if (intervalS < SAP_INTERVAL_RANGE_S.min || intervalS > SAP_INTERVAL_RANGE_S.max) {
      throw invalidAt(
        interval.origin,
        `expected seconds from ${SAP_INTERVAL_RANGE_S.min} to ${SAP_INTERVAL_RANGE_S.max}, ` +
          `got "${interval.value}"`,
      );
    }
  }
  if (origin !== undefined && !isSpecificAddress(origin.value)) {
    throw invalidAt(
      origin.origin,
      `"${origin.value}" is not a unicast IPv4 or IPv6 address of this host`,
    );
  }
  const byVersion = (version: 4 | 6): string | undefined => {
    if (origin !== undefined && ipVersionOf(origin.value) === version) return origin.value;
    if (isSpecificAddress(settings.host) && ipVersionOf(settings.host) === version) {
      return settings.host;
    }
    return undefined;
  };
  const originV4 = byVersion(4);
  const originV6 = byVersion(6);
  return {
    announce: settings.announce,
    intervalS,
    ...(originV4 === undefined ? {} : { originV4 }),
    ...(originV6 === undefined ? {} : { originV6 }),
    listen: settings.listen,
  };
}
