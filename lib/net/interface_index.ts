// Resolves the IPv6 interface a multicast group is joined on (RFC 3493 §4 interface index) from an
// index, a name or one of its addresses: Deno.networkInterfaces() scope ids, else /proc/net/if_inet6.
import { MulticastError } from "../common/errors.ts";
import { ipVersionOf } from "./multicast_address.ts";

/**
 * Index of an IPv6 interface given as index, name or one of its addresses (0 when undefined): from
 * the scope id of its link-local address, else from /proc/net/if_inet6 (Linux, per network
 * namespace). Throws MulticastError when there is no such interface.
 */
export function ipv6InterfaceIndex(value: string | undefined): number {
  if (value === undefined) return 0;
  if (/^[0-9]+$/.test(value)) return Number(value);
  const interfaces = Deno.networkInterfaces();
  let name = value;
  if (ipVersionOf(value) !== undefined) {
    const found = interfaces.find((i) => i.address === value);
    if (found === undefined) {
      throw new MulticastError(`No local interface has the address ${value}`);
    }
    name = found.name;
  }
  const linkLocal = interfaces.find((i) =>
    i.family === "IPv6" && i.name === name && (i.scopeid ?? 0) > 0
  );
  if (linkLocal?.scopeid) return linkLocal.scopeid;
  try {
    for (const line of Deno.readTextFileSync("/proc/net/if_inet6").split("\n")) {
      const fields = line.trim().split(/\s+/);
      if (fields[5] === name && fields[1] !== undefined) return parseInt(fields[1], 16);
    }
  } catch {
    // not Linux: fall through
  }
  throw new MulticastError(`No IPv6 network interface named "${name}"`);
}
