// Tests lib/common/abortable.ts: the promise's own outcome, the signal's reason when it aborts
// first (or had already), and no abort listener left behind.
import assert from "node:assert/strict";
import { abortable } from "../../lib/common/abortable.ts";

Deno.test("abortable() passes the promise's value and error through, and leaves no listener", async () => {
  const controller = new AbortController();
  let listeners = 0;
  const signal = controller.signal;
  const add = signal.addEventListener.bind(signal);
  const remove = signal.removeEventListener.bind(signal);
  signal.addEventListener = (...args: Parameters<typeof add>) => (listeners++, add(...args));
  signal.removeEventListener = (
    ...args: Parameters<typeof remove>
  ) => (listeners--, remove(...args));
  assert.equal(await abortable(Promise.resolve(7), signal), 7);
  await assert.rejects(abortable(Promise.reject(new RangeError("no")), signal), RangeError);
  await Promise.resolve();
  assert.equal(listeners, 0);
  assert.equal(await abortable(Promise.resolve(8), undefined), 8);
});

Deno.test("abortable() rejects with the signal's reason when it aborts first, or already had", async () => {
  const controller = new AbortController();
  const never = new Promise<never>(() => {});
  const waiting = abortable(never, controller.signal);
  controller.abort(new Error("stop"));
  await assert.rejects(waiting, /stop/);
  assert.throws(() => abortable(never, controller.signal), /stop/);
});
