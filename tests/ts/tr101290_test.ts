// Tests of lib/ts/tr101290.ts: the ETSI TR 101 290 limits, their defaults and validation.

import assert from "node:assert/strict";
import { ConfigError } from "../../lib/common/errors.ts";
import {
  DEFAULT_LIMITS,
  resolveLimits,
  TR101290,
  TR101290_INDICATORS,
} from "../../lib/ts/tr101290.ts";

Deno.test("resolveLimits() fills defaults and names a bad field", () => {
  assert.deepEqual(resolveLimits(), DEFAULT_LIMITS);
  assert.equal(resolveLimits({ pcrIntervalMs: 40 }).pcrIntervalMs, 40);
  assert.equal(DEFAULT_LIMITS.patIntervalMs, TR101290.PAT_INTERVAL_MS);
  for (const bad of [0, 0.5, -1, Number.POSITIVE_INFINITY, 3_600_001]) {
    assert.throws(
      () => resolveLimits({ ptsIntervalMs: bad }),
      (e) => e instanceof ConfigError && e.field === "ptsIntervalMs",
    );
  }
});

Deno.test("TR101290_INDICATORS lists each counted indicator once, in section order", () => {
  const ids = TR101290_INDICATORS.map((i) => i.id);
  assert.deepEqual(ids, [
    "1.1",
    "1.2",
    "1.3",
    "1.4",
    "1.5",
    "1.6",
    "2.1",
    "2.2",
    "2.3a",
    "2.3b",
    "2.5",
  ]);
  assert.equal(new Set(TR101290_INDICATORS.map((i) => i.key)).size, ids.length);
});
