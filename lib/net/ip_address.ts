// IP address literals as bytes and back: IPv4 dotted quads (RFC 791) and IPv6 text (RFC 4291 §2.2,
// with an embedded IPv4 tail), written in the RFC 5952 canonical form. For socket structures and
// allocation-free sender comparisons; no zone ids, no host names.

/** Address family of a parsed literal. */
export type IpFamily = 4 | 6;

/** A parsed IP literal: 4 or 16 bytes in network order. */
export interface IpAddressBytes {
  readonly family: IpFamily;
  readonly bytes: Uint8Array;
}

function ipv4Bytes(text: string): Uint8Array | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const bytes = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const part = parts[i]!;
    if (!/^[0-9]{1,3}$/.test(part) || Number(part) > 255) return undefined;
    bytes[i] = Number(part);
  }
  return bytes;
}

function ipv6Words(part: string): number[] | undefined {
  if (part === "") return [];
  const words: number[] = [];
  const groups = part.split(":");
  for (let i = 0; i < groups.length; i++) {
    const group = groups[i]!;
    if (group.includes(".") && i === groups.length - 1) {
      const v4 = ipv4Bytes(group);
      if (v4 === undefined) return undefined;
      words.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
    } else if (/^[0-9a-f]{1,4}$/i.test(group)) {
      words.push(parseInt(group, 16));
    } else {
      return undefined;
    }
  }
  return words;
}

function ipv6Bytes(text: string): Uint8Array | undefined {
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const head = ipv6Words(halves[0]!);
  const tail = halves.length === 2 ? ipv6Words(halves[1]!) : [];
  if (head === undefined || tail === undefined) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const words = [...head, ...new Array<number>(halves.length === 2 ? missing : 0).fill(0), ...tail];
  const bytes = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    bytes[2 * i] = words[i]! >> 8;
    bytes[2 * i + 1] = words[i]! & 0xff;
  }
  return bytes;
}

/**
 * Bytes of an IPv4 or IPv6 literal (an IPv6 one may be in brackets), or undefined when `text` is
 * neither. Zone ids (`%eth0`) are not accepted.
 */
export function parseIpAddress(text: string): IpAddressBytes | undefined {
  const v4 = ipv4Bytes(text);
  if (v4 !== undefined) return { family: 4, bytes: v4 };
  const bare = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
  const v6 = ipv6Bytes(bare);
  return v6 === undefined ? undefined : { family: 6, bytes: v6 };
}

/**
 * Text of the address in `bytes` at `offset`: dotted quad for family 4, RFC 5952 for family 6
 * (lowercase, the longest run of two or more zero words as `::`, the first one on a tie).
 */
export function formatIpAddress(family: IpFamily, bytes: Uint8Array, offset = 0): string {
  if (family === 4) {
    if (offset < 0 || offset + 4 > bytes.length) throw new RangeError("IPv4 address out of range");
    return `${bytes[offset]}.${bytes[offset + 1]}.${bytes[offset + 2]}.${bytes[offset + 3]}`;
  }
  if (offset < 0 || offset + 16 > bytes.length) throw new RangeError("IPv6 address out of range");
  const words: number[] = [];
  for (let i = 0; i < 8; i++) {
    words.push((bytes[offset + 2 * i]! << 8) | bytes[offset + 2 * i + 1]!);
  }
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (list: number[]) => list.map((w) => w.toString(16)).join(":");
  if (bestStart < 0) return hex(words);
  return `${hex(words.slice(0, bestStart))}::${hex(words.slice(bestStart + bestLength))}`;
}
