// Tests of lib/common/flags.ts: the numeric flag parsers every program and script shares.
import assert from "node:assert/strict";
import {
  parseIntegerFlag,
  parseProbabilityFlag,
  parseSecondsFlag,
} from "../../lib/common/flags.ts";

Deno.test("parseIntegerFlag(), parseProbabilityFlag(), parseSecondsFlag() accept the documented forms and reject the rest", () => {
  assert.equal(parseIntegerFlag("0xdeadbeef", "--ssrc", 0, 0xffff_ffff), 0xdeadbeef);
  assert.equal(parseIntegerFlag("42", "--seed", 0, 100), 42);
  assert.throws(() => parseIntegerFlag("1e3", "--packets", 1, 10_000), /--packets: expected/);
  assert.throws(() => parseIntegerFlag("101", "--seed", 0, 100), /0 to 100/);
  assert.equal(parseProbabilityFlag("0.25", "--loss"), 0.25);
  assert.equal(parseProbabilityFlag("1", "--loss"), 1);
  for (const text of ["1.01", "-0.1", "abc", "NaN", ""]) {
    assert.throws(() => parseProbabilityFlag(text, "--loss"), /--loss: expected a probability/);
  }
  assert.equal(parseSecondsFlag("2.5", "--duration"), 2.5);
  for (const text of ["0", "-1", "Infinity", "1s"]) {
    assert.throws(() => parseSecondsFlag(text, "--duration"), /--duration: expected seconds/);
  }
});
