// IP address literals to and from their network-order bytes: 4 bytes for IPv4 (RFC 791), 16 for
// IPv6 (RFC 4291 §2.2 text forms in, RFC 5952 canonical text out), as binary protocols carry them.
import { ipVersionOf } from "./multicast_address.ts";

/** The 4 (IPv4) or 16 (IPv6) network-order bytes of an address literal; throws RangeError. */
export function ipToBytes(address: string): Uint8Array {
  const version = ipVersionOf(address);
  if (version === 4) return Uint8Array.from(address.split(".").map(Number));
  if (version !== 6) throw new RangeError(`"${address}" is not an IPv4 or IPv6 address`);
  let text = address.split("%", 1)[0]!;
  // An embedded IPv4 tail (::ffff:192.0.2.1) becomes two groups.
  const tail = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (tail !== null) {
    const [a, b, c, d] = tail[2]!.split(".").map(Number) as [number, number, number, number];
    text = `${tail[1]}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, rest] = text.split("::") as [string, string | undefined];
  const left = head === "" ? [] : head.split(":");
  const right = rest === undefined || rest === "" ? [] : rest.split(":");
  const zeros = rest === undefined ? 0 : 8 - left.length - right.length;
  const groups = [...left, ...Array<string>(zeros).fill("0"), ...right];
  const bytes = new Uint8Array(16);
  groups.forEach((group, i) => {
    const value = parseInt(group, 16);
    bytes[2 * i] = value >> 8;
    bytes[2 * i + 1] = value & 0xff;
  });
  return bytes;
}

/** The text of 4 (IPv4) or 16 (IPv6, RFC 5952 form: lower case, longest zero run as `::`) bytes. */
export function bytesToIp(bytes: Uint8Array): string {
  if (bytes.length === 4) return Array.from(bytes).join(".");
  if (bytes.length !== 16) {
    throw new RangeError(`Expected 4 or 16 address bytes, got ${bytes.length}`);
  }
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!);
  // RFC 5952 §4.2: the longest run of two or more zero groups (the first on a tie) becomes "::".
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLength).join(":")}`;
}
