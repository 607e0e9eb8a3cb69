// Tests of lib/client/live_view.ts and terminal_text.ts: the redraw moves up by screen rows (wrapped
// lines count twice), messages are written above the table and the table is drawn again below them.
import assert from "node:assert/strict";
import { eraseRows, LiveView, type TerminalSize } from "../../lib/client/live_view.ts";
import {
  paint,
  screenRows,
  truncateVisible,
  visibleLength,
} from "../../lib/client/terminal_text.ts";

function recorder(size: TerminalSize, redraw = true) {
  const events: [string, string][] = [];
  let current = size;
  const view = new LiveView({
    write: (text) => (events.push(["out", text]), true),
    writeMessage: (text) => void events.push(["err", text]),
    size: () => current,
    redraw,
  });
  return { view, events, resize: (next: TerminalSize) => (current = next) };
}

Deno.test("terminal text: visible length ignores SGR, truncation ends in … and resets, rows count wraps", () => {
  const red = paint("lost 5", "red", true);
  assert.equal(red, "\x1b[31mlost 5\x1b[0m");
  assert.equal(paint("lost 5", "red", false), "lost 5");
  assert.equal(visibleLength(red + " ok"), 9);
  assert.equal(truncateVisible("abcdefgh", 5), "abcd…");
  assert.equal(truncateVisible("abc", 5), "abc");
  assert.equal(truncateVisible(`ab${red}`, 5), "ab\x1b[31mlo…\x1b[0m");
  assert.equal(visibleLength(truncateVisible(`ab${red}`, 5)), 5);
  assert.equal(
    screenRows(["", "x".repeat(80), "x".repeat(81), "y".repeat(200)], 80),
    1 + 1 + 2 + 3,
  );
});

Deno.test("LiveView erases exactly the screen rows of its previous drawing", () => {
  const { view, events, resize } = recorder({ columns: 80, rows: 24 });
  view.draw("a\n" + "b".repeat(100) + "\nc\n");
  assert.deepEqual(events.at(-1), ["out", "a\n" + "b".repeat(100) + "\nc\n"]);
  view.draw("d\n");
  assert.equal(events.at(-1)![1], eraseRows(4) + "d\n", "the 100-column line took two rows");
  assert.equal(eraseRows(4), "\x1b[4F\x1b[J");
  // A narrower terminal re-wraps what is on the screen: count at the current width.
  view.draw("x".repeat(70) + "\n");
  resize({ columns: 30, rows: 24 });
  view.draw("e\n");
  assert.equal(events.at(-1)![1], eraseRows(3) + "e\n");
});

Deno.test("LiveView writes messages above the table and draws the table again below them", () => {
  const { view, events } = recorder({ columns: 80, rows: 24 });
  view.message("before any table\n");
  assert.deepEqual(events, [["err", "before any table\n"]]);
  view.draw("header\nrow\n");
  view.message("No packets for 2 s");
  assert.deepEqual(events.slice(2), [
    ["out", eraseRows(2)],
    ["err", "No packets for 2 s\n"],
    ["out", "header\nrow\n"],
  ]);
  view.draw("header 2\nrow\n");
  assert.equal(events.at(-1)![1], eraseRows(2) + "header 2\nrow\n", "erases the redrawn table");
  view.finish("final\n");
  view.message("after the end\n");
  assert.deepEqual(events.slice(-2), [["out", eraseRows(2) + "final\n"], [
    "err",
    "after the end\n",
  ]]);
});

Deno.test("LiveView without cursor movement (TERM=dumb) appends every drawing", () => {
  const { view, events } = recorder({ columns: 80, rows: 24 }, false);
  view.draw("one\n");
  view.draw("two\n");
  view.message("note\n");
  assert.deepEqual(events, [["out", "one\n"], ["out", "two\n"], ["err", "note\n"]]);
});
