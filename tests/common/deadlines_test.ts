// Many timeouts on one timer (lib/common/deadlines.ts): each deadline fires once when due, never
// when cancelled, in any order of adding; an idle timer does not hold the process open.
import assert from "node:assert/strict";
import { Deadlines } from "../../lib/common/deadlines.ts";
import { runDeno } from "../../scripts/support/process.ts";

async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("Condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

Deno.test("Deadlines calls each due callback once, later ones later, cancelled ones never", async () => {
  const deadlines = new Deadlines();
  const fired: string[] = [];
  const late = deadlines.add(200, () => fired.push("late"));
  deadlines.add(20, () => fired.push("early"));
  const cancelled = deadlines.add(10, () => fired.push("cancelled"));
  deadlines.add(40, () => fired.push("middle"));
  cancelled.cancel();
  assert.equal(deadlines.size, 3);
  await until(() => fired.length === 2);
  assert.deepEqual(fired, ["early", "middle"]);
  assert.equal(deadlines.size, 1);
  await until(() => fired.length === 3);
  assert.deepEqual(fired, ["early", "middle", "late"]);
  assert.equal(deadlines.size, 0);
  late.cancel(); // after expiry: harmless
  cancelled.cancel(); // twice: harmless
  assert.equal(deadlines.size, 0);
});

Deno.test("Deadlines keeps firing for a steady stream of equal timeouts, cancelled as they finish", async () => {
  const deadlines = new Deadlines();
  let expired = 0;
  for (let i = 0; i < 1000; i++) deadlines.add(30, () => void 0).cancel();
  for (let i = 0; i < 5; i++) deadlines.add(30, () => void expired++);
  assert.equal(deadlines.size, 5);
  await until(() => expired === 5);
  assert.equal(deadlines.size, 0);
});

Deno.test("Deadlines uses its clock: atMs is now + timeout", () => {
  let now = 1000;
  const deadlines = new Deadlines({ now: () => now });
  const deadline = deadlines.add(250, () => {});
  assert.equal(deadline.atMs, 1250);
  now = 2000;
  const next = deadlines.add(5, () => {});
  assert.equal(next.atMs, 2005);
  deadline.cancel();
  next.cancel();
  assert.equal(deadlines.size, 0);
});

const DEADLINES_URL = new URL("../../lib/common/deadlines.ts", import.meta.url).href;

Deno.test("a cancelled deadline's timer does not hold the process open; a pending one does", async () => {
  const idle = await runDeno([
    "eval",
    `import { Deadlines } from ${JSON.stringify(DEADLINES_URL)};
const d = new Deadlines();
d.add(60_000, () => console.log("fired")).cancel();
console.log("end");`,
  ], { timeoutMs: 20_000 });
  assert.equal(idle.stdout, "end\n");
  const pending = await runDeno([
    "eval",
    `import { Deadlines } from ${JSON.stringify(DEADLINES_URL)};
new Deadlines().add(50, () => console.log("fired"));
console.log("end");`,
  ], { timeoutMs: 20_000 });
  assert.equal(pending.stdout, "end\nfired\n");
});
