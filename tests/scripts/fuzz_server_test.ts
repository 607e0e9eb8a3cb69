import assert from "node:assert/strict";
import { runServerFuzz } from "../../scripts/fuzz_server.ts";

Deno.test("a real server answers 3 000 random offers, reports and reads and the hostile peers of issue 11 without a 5xx and stays up", async () => {
  const report = await runServerFuzz({
    requests: 3000,
    warmup: 500,
    seed: 20261124,
    concurrency: 16,
  });
  assert.equal(report.serverErrors, 0, JSON.stringify(report));
  assert.equal(report.transportErrors, 0, JSON.stringify(report));
  assert.ok(report.alive);
  assert.deepEqual(report.errorLogs, []);
  const statuses = Object.keys(report.statuses).map(Number);
  // 204: reports accepted, so the fuzzed ones reached the validator too.
  for (const expected of [200, 204, 400, 404, 405, 413, 415]) {
    assert.ok(statuses.includes(expected), `saw ${expected}`);
  }
  assert.deepEqual(report.hostile.unexpected, [], JSON.stringify(report.hostile));
  assert.equal(report.hostile.idleConnections, 200);
  assert.deepEqual(report.hostile.statuses["trickled body"], { 408: 1 });
});
