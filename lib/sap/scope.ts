// Which SAP group announces a session (RFC 2974 §3): the group of the session's multicast scope, as
// VLC picks it, on port 9875; and the groups a listener joins.
import { parseIpAddress } from "../net/ip_address.ts";
import { ipVersionOf, isMulticastAddress } from "../net/multicast_address.ts";

/** SAP's UDP port (RFC 2974 §3). */
export const SAP_PORT = 9875;

/** The IPv4 SAP groups (RFC 2974 §3, RFC 2365 §6). */
export const SAP_GROUPS_V4 = {
  /** Global scope (sap.mcast.net). */
  GLOBAL: "224.2.127.254",
  /** The highest address of the IPv4 Local Scope 239.255.0.0/16. */
  LOCAL: "239.255.255.255",
  /** The highest address of the IPv4 Organization Local Scope 239.192.0.0/14. */
  ORGANIZATION: "239.195.255.255",
} as const;

/** IPv6 scopes listened to by default (RFC 4291 §2.7): link, site, organization, global. */
export const SAP_LISTEN_SCOPES_V6 = [2, 5, 8, 0xe] as const;

/** Scope of an announcement, for logs and the listener's view. */
export type SapScope = "global" | "local" | "organization" | "administrative" | "ipv6";

/** Where a session's announcements go. */
export interface SapGroupChoice {
  readonly group: string;
  readonly port: number;
  readonly scope: SapScope;
  /** Set when the choice is a fallback the operator should know about. */
  readonly warning?: string;
}

/** The IPv6 SAP group of a scope: ff0X::2:7ffe (RFC 2974 §3). */
export function sapGroupV6(scope: number): string {
  return `ff0${scope.toString(16)}::2:7ffe`;
}

/**
 * The SAP group for a session in `address` (RFC 2974 §3, as VLC chooses it): 239.255.255.255 for
 * 239.255.0.0/16, 239.195.255.255 for 239.192.0.0/14, 224.2.127.254 for any other IPv4 group, and
 * ff0X::2:7ffe for an IPv6 group of scope X. A group elsewhere in 239.0.0.0/8 (administratively
 * scoped, but in no range RFC 2365 names) has no SAP group of its own: VLC refuses it ("Out-of-scope
 * multicast address not supported by SAP"); here it is announced on 224.2.127.254 with a warning,
 * its reach bounded by the stream's TTL. Throws RangeError for a non-multicast address and for the
 * reserved IPv6 scopes 0 and 15.
 */
export function sapGroupFor(address: string): SapGroupChoice {
  if (!isMulticastAddress(address)) {
    throw new RangeError(`Cannot announce ${address}: not a multicast address`);
  }
  if (ipVersionOf(address) === 6) {
    const bytes = parseIpAddress(address.split("%", 1)[0]!)?.bytes;
    if (bytes === undefined) {
      throw new RangeError(`Cannot announce ${address}: not an IPv6 literal`);
    }
    const scope = bytes[1]! & 0x0f;
    if (scope === 0 || scope === 0xf) {
      throw new RangeError(`Cannot announce ${address}: IPv6 multicast scope ${scope} is reserved`);
    }
    return { group: sapGroupV6(scope), port: SAP_PORT, scope: "ipv6" };
  }
  const [a, b] = address.split(".").map(Number) as [number, number];
  if (a === 239 && b === 255) return { group: SAP_GROUPS_V4.LOCAL, port: SAP_PORT, scope: "local" };
  if (a === 239 && b >= 192 && b <= 195) {
    return { group: SAP_GROUPS_V4.ORGANIZATION, port: SAP_PORT, scope: "organization" };
  }
  if (a === 239) {
    return {
      group: SAP_GROUPS_V4.GLOBAL,
      port: SAP_PORT,
      scope: "administrative",
      warning: `${address} is in 239.0.0.0/8 but outside 239.255.0.0/16 and 239.192.0.0/14, so ` +
        `RFC 2974 gives it no SAP group (VLC refuses it); announcing it on ` +
        `${SAP_GROUPS_V4.GLOBAL} within the stream's TTL`,
    };
  }
  return { group: SAP_GROUPS_V4.GLOBAL, port: SAP_PORT, scope: "global" };
}

/** The IPv6 SAP groups of {@link SAP_LISTEN_SCOPES_V6}: ff02::2:7ffe, ff05::, ff08::, ff0e::. */
export const SAP_LISTEN_GROUPS_V6: readonly string[] = SAP_LISTEN_SCOPES_V6.map(sapGroupV6);

/**
 * The groups a listener joins by default: the three IPv4 ones and the four IPv6 ones (VLC on a
 * host with IPv6 multicast announces even IPv4 streams on ff0e::2:7ffe).
 */
export const DEFAULT_SAP_LISTEN_GROUPS: readonly string[] = [
  SAP_GROUPS_V4.GLOBAL,
  SAP_GROUPS_V4.LOCAL,
  SAP_GROUPS_V4.ORGANIZATION,
  ...SAP_LISTEN_GROUPS_V6,
];
