// Clear messages for failures to bind or join a multicast group (IGMP/MLD via setsockopt, ip(7),
// ipv6(7)), the same for both receive paths: from Deno's error text, or from a libc errno.
import { MulticastError } from "../common/errors.ts";
import { ERRNO, errnoText } from "./kernel_socket.ts";

/** What a join failure means, independent of how it was reported. */
type JoinProblem =
  | "noInterface"
  | "badInterface"
  | "alreadyJoined"
  | "noAddress"
  | "noRoute"
  | "tooMany"
  | "other";

/** The group, port and interface a message names. */
export interface JoinTarget {
  readonly group: string;
  readonly port: number;
  readonly interface?: string;
}

function message(problem: JoinProblem, target: JoinTarget, detail: string): string {
  const where = `${target.group} port ${target.port}`;
  const iface = target.interface ?? "any interface";
  switch (problem) {
    case "noInterface":
      return `Cannot join ${where} on ${iface}: no such interface`;
    case "badInterface":
      return `Cannot join ${where}: invalid interface address "${iface}"`;
    case "alreadyJoined":
      return `Cannot join ${where} on ${iface}: already joined`;
    case "noAddress":
      return `Cannot join ${where} on ${iface}: the interface has no such address`;
    case "noRoute":
      return `Cannot join ${where} on ${iface}: no route for multicast (add one or choose --interface)`;
    case "tooMany":
      return `Cannot join ${where} on ${iface}: too many memberships or sources on one socket ` +
        `(net.ipv4.igmp_max_memberships, igmp_max_msf)`;
    case "other":
      return `Cannot join ${where} on ${iface}: ${detail}`;
  }
}

/** Maps an error thrown by Deno's joinMulticastV4/V6 to a MulticastError naming group and interface. */
export function explainJoinError(error: unknown, target: JoinTarget): MulticastError {
  const text = (error as Error).message ?? String(error);
  const problem: JoinProblem = /No such device|os error 19/i.test(text)
    ? "noInterface"
    : /invalid.*address|syntax/i.test(text)
    ? "badInterface"
    : /Address already in use|AddrInUse/i.test(text)
    ? "alreadyJoined"
    : /Cannot assign requested address|os error 99/i.test(text)
    ? "noAddress"
    : /No route|unreachable/i.test(text)
    ? "noRoute"
    : /No buffer space|os error 105/i.test(text)
    ? "tooMany"
    : "other";
  return new MulticastError(message(problem, target, text), { cause: error });
}

/** Maps the errno of a failed membership setsockopt to the same messages as explainJoinError(). */
export function explainJoinErrno(
  errno: number,
  target: JoinTarget,
  cause?: unknown,
): MulticastError {
  const problem: JoinProblem = errno === ERRNO.ENODEV
    ? "noInterface"
    : errno === ERRNO.EADDRINUSE
    ? "alreadyJoined"
    : errno === ERRNO.EADDRNOTAVAIL
    ? "noAddress"
    : errno === ERRNO.ENETUNREACH || errno === ERRNO.EHOSTUNREACH
    ? "noRoute"
    : errno === ERRNO.ENOBUFS
    ? "tooMany"
    : "other";
  return new MulticastError(message(problem, target, errnoText(errno)), { cause });
}
