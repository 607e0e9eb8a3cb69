// Tests of lib/source/impaired_sender.ts, the impaired-send pipeline the test source and the relay
// share: over real UDP multicast inside the test network namespace (scripts/netns_test.sh), the
// datagrams arrive in the order the seeded decisions predict, and the truth equals a receiver's count.

import assert from "node:assert/strict";
import { ConfigError } from "../../lib/common/errors.ts";
import {
  ImpairedSender,
  resolveImpairment,
  resolveLimits,
} from "../../lib/source/impaired_sender.ts";
import { resolveSend } from "../../lib/source/multicast_sender.ts";
import { randomGroup4, randomRtpPort } from "../../scripts/support/endpoints.ts";
import { inPrivateNetns } from "../../scripts/support/netns.ts";
import { assertCountsMatch, expectedOrder } from "../support/impairment_truth.ts";
import { Collector } from "../support/multicast_collector.ts";

Deno.test({
  name:
    "ImpairedSender sends, drops, duplicates and holds datagrams as seeded, from a reused buffer",
  ignore: !inPrivateNetns(),
  fn: async () => {
    const group = randomGroup4();
    const port = randomRtpPort();
    await using collector = await Collector.open(group, port);
    const impairment = resolveImpairment({ loss: 0.1, duplicate: 0.1, reorder: 0.2, seed: 99 });
    const count = 200;
    const buffer = new Uint8Array(16);
    let truth;
    {
      using sender = await ImpairedSender.open(resolveSend({ group, port }), impairment, 16);
      assert.equal(sender.seed, 99);
      for (let k = 0; k < count; k++) {
        // Datagram k: its index, then k % 7 filler bytes, so a held copy must keep its own length.
        const length = 2 + (k % 7);
        buffer.fill(0xee);
        buffer[0] = k >>> 8;
        buffer[1] = k & 0xff;
        await sender.send(buffer.subarray(0, length));
      }
      await sender.flush();
      truth = sender.snapshot();
    }
    assert.equal(truth.generated, count);
    assert.ok(truth.dropped > 0 && truth.duplicated > 0 && truth.reordered > 0);
    assert.ok(await collector.waitFor(truth.sent), `got ${collector.datagrams.length}`);
    const indices = collector.datagrams.map((d) => (d[0]! << 8) | d[1]!);
    assert.deepEqual(indices, expectedOrder({ ...impairment }, count), "the seeded decisions");
    collector.datagrams.forEach((d, i) => {
      assert.equal(d.length, 2 + (indices[i]! % 7), `length of datagram ${i}`);
      assert.ok(d.subarray(2).every((b) => b === 0xee));
    });
    assertCountsMatch(indices, truth);
  },
});

Deno.test("resolveLimits() and resolveImpairment() check their options, naming the bad one", async (t) => {
  await t.step("defaults: no packet limit, no duration, a random 32-bit seed", () => {
    assert.deepEqual(resolveLimits({}), { packets: Infinity, durationS: undefined });
    assert.deepEqual(resolveLimits({ packets: 0, durationS: 0 }), { packets: 0, durationS: 0 });
    const { seed } = resolveImpairment({});
    assert.ok(Number.isInteger(seed) && seed >= 0 && seed <= 0xffff_ffff);
  });
  const cases: [string, () => unknown, string, RegExp][] = [
    ["negative packets", () => resolveLimits({ packets: -1 }), "packets", /integer from 0/],
    ["fractional packets", () => resolveLimits({ packets: 1.5 }), "packets", /integer/],
    ["negative duration", () => resolveLimits({ durationS: -1 }), "duration", /seconds/],
    ["infinite duration", () => resolveLimits({ durationS: Infinity }), "duration", /seconds/],
    ["loss above 1", () => resolveImpairment({ loss: 1.5 }), "loss", /probability/],
    ["negative reorder", () => resolveImpairment({ reorder: -0.1 }), "reorder", /probability/],
    ["seed above 32 bits", () => resolveImpairment({ seed: 2 ** 32 }), "seed", /4294967295/],
    ["negative warmup", () => resolveImpairment({ warmup: -1 }), "warmup", /integer from 0/],
  ];
  for (const [name, call, field, pattern] of cases) {
    await t.step(name, () => {
      assert.throws(call, (error: unknown) => {
        assert.ok(error instanceof ConfigError, String(error));
        assert.equal(error.field, field);
        assert.match(error.message, pattern);
        return true;
      });
    });
  }
});
