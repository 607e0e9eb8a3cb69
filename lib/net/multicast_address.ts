// IP address checks for multicast groups and source addresses.
// IPv4 multicast is 224.0.0.0/4 (RFC 5771); IPv6 multicast is ff00::/8 (RFC 4291 §2.7).
import { isIPv4, isIPv6 } from "node:net";

/** IP version of an address literal, or `undefined` when the text is not an IP address. */
export function ipVersionOf(address: string): 4 | 6 | undefined {
  if (isIPv4(address)) return 4;
  if (isIPv6(address)) return 6;
  return undefined;
}

/** True when `address` is an IPv4 (224.0.0.0/4) or IPv6 (ff00::/8) multicast address. */
export function isMulticastAddress(address: string): boolean {
  const version = ipVersionOf(address);
  if (version === 4) {
    const first = Number(address.split(".", 1)[0]);
    return first >= 224 && first <= 239;
  }
  if (version === 6) {
    return /^ff[0-9a-f]{2}:/i.test(address);
  }
  return false;
}

/** Why `address` cannot be a multicast group, or `undefined` when it can. */
export function multicastProblem(address: string): string | undefined {
  const version = ipVersionOf(address);
  if (version === undefined) return `"${address}" is not an IPv4 or IPv6 address`;
  if (!isMulticastAddress(address)) {
    return version === 4
      ? `${address} is not a multicast address (IPv4 multicast is 224.0.0.0/4)`
      : `${address} is not a multicast address (IPv6 multicast is ff00::/8)`;
  }
  return undefined;
}

/**
 * Why `source` cannot be the sender address of a source-specific stream on `group` (RFC 4607: the
 * same IP version), or `undefined` when it can.
 */
export function sourceProblem(source: string, group: string): string | undefined {
  if (ipVersionOf(source) === ipVersionOf(group)) return undefined;
  return `"${source}" is not an IPv${ipVersionOf(group)} address like the group ${group}`;
}

/**
 * Why `group` is a control group no stream should be joined on, or `undefined` when it is not: the
 * IPv4 Local Network Control Block 224.0.0.0/24 (RFC 5771 §4: all hosts, routers, IGMP, mDNS
 * 224.0.0.251), and IPv6 permanent groups of interface-, link- or reserved scope (RFC 4291 §2.7:
 * flags 0, scope 0-2, such as ff02::1 all nodes, ff02::16 MLDv2, ff02::fb mDNS). Transient
 * link-local groups (ff12::/16, ff32::/16) stay allowed.
 */
export function controlGroupProblem(group: string): string | undefined {
  const version = ipVersionOf(group);
  if (version === 4) {
    const [a, b, c] = group.split(".").map(Number);
    if (a === 224 && b === 0 && c === 0) {
      return `${group} is in the local network control block 224.0.0.0/24 (IGMP, routing, mDNS)`;
    }
    return undefined;
  }
  if (version !== 6) return undefined;
  // A multicast address starts with its full first group "ffXY": flags X, scope Y.
  const head = /^ff([0-9a-f])([0-9a-f]):/i.exec(group);
  if (head === null) return undefined;
  const flags = parseInt(head[1]!, 16);
  const scope = parseInt(head[2]!, 16);
  if (flags === 0 && scope <= 2) {
    return `${group} is a permanent ${
      scope === 1 ? "interface-local" : scope === 2 ? "link-local" : "reserved-scope"
    } control group (all nodes, routers, MLD, mDNS)`;
  }
  return undefined;
}
