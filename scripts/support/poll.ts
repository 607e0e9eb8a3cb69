// Waiting for a condition instead of sleeping, for tests, scripts and benchmarks: poll it on a short
// period until it holds or a deadline passes (the events waited for have no callback to await).
import { delay } from "../../lib/common/delay.ts";

/** A condition to poll: plain or asynchronous (e.g. reading a terminal's screen). */
export type Condition = () => boolean | Promise<boolean>;

/**
 * Polls `condition` every `everyMs` (default 5) until it holds; resolves true then, or false once
 * `timeoutMs` has passed without it holding.
 */
export async function pollUntil(
  condition: Condition,
  timeoutMs: number,
  everyMs = 5,
): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() >= deadline) return false;
    await delay(everyMs);
  }
  return true;
}

/**
 * Polls `condition` like {@link pollUntil}; throws `Timed out after N ms: WHAT` when it has not
 * held within `timeoutMs`.
 */
export async function waitUntil(
  condition: Condition,
  timeoutMs: number,
  what: string,
  everyMs = 5,
): Promise<void> {
  if (!(await pollUntil(condition, timeoutMs, everyMs))) {
    throw new Error(`Timed out after ${timeoutMs} ms: ${what}`);
  }
}
