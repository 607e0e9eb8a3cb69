// Where test, script and benchmark traffic goes: random multicast groups and RTP ports, so that runs
// side by side do not collide (RTP on an even port, RTCP on the next, RFC 3550 §11), and free TCP
// ports on 127.0.0.1 with a wait until something listens there.
import { delay } from "../../lib/common/delay.ts";

function randomInt(min: number, max: number): number {
  return min + (crypto.getRandomValues(new Uint32Array(1))[0]! % (max - min + 1));
}

/** An even UDP port in 20000-59998 (RTP on even, RTCP on the next odd port). */
export function randomRtpPort(): number {
  return 20_000 + 2 * randomInt(0, 19_999);
}

/** A random IPv4 group in 239.1.1.1-239.254.254.254 (administratively scoped, RFC 2365). */
export function randomGroup4(): string {
  return `239.${randomInt(1, 254)}.${randomInt(1, 254)}.${randomInt(1, 254)}`;
}

/** A random IPv6 group under `prefix`, e.g. `ff15` (site-local) or `ff01` (interface-local). */
export function randomGroup6(prefix: string): string {
  return `${prefix}::${randomInt(1, 0xfffe).toString(16)}:${randomInt(1, 0xfffe).toString(16)}`;
}

/** A free TCP port on 127.0.0.1 (bound, read and released; fine inside the private namespace). */
export function freeTcpPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  return port;
}

/** Waits until a TCP connection to 127.0.0.1:port succeeds; throws after `timeoutMs`. */
export async function waitForTcp(port: number, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (true) {
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conn.close();
      return;
    } catch (error) {
      if (performance.now() > deadline) {
        throw new Error(`nothing listens on 127.0.0.1:${port}`, { cause: error });
      }
      await delay(20);
    }
  }
}
