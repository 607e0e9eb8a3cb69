// Tests of lib/client/key_input.ts: keys are read only from a terminal, cbreak mode is set and
// restored (close, and SIGQUIT, which also ends the run), and every key pressed is delivered.
import assert from "node:assert/strict";
import { KeyInput, type KeyStdin } from "../../lib/client/key_input.ts";

/** A terminal's stdin whose keys the test types. */
function fakeStdin(terminal = true) {
  const modes: string[] = [];
  const typed: Uint8Array[] = [];
  let wake: (() => void) | undefined;
  const stdin: KeyStdin = {
    isTerminal: () => terminal,
    setRaw(mode, options) {
      modes.push(mode ? (options?.cbreak ? "cbreak" : "raw") : "cooked");
    },
    async read(buffer) {
      while (typed.length === 0) await new Promise<void>((resolve) => (wake = resolve));
      const bytes = typed.shift()!;
      buffer.set(bytes);
      return bytes.length;
    },
  };
  const type = (text: string) => {
    typed.push(new TextEncoder().encode(text));
    wake?.();
  };
  return { stdin, modes, type };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 10));

Deno.test("KeyInput delivers the keys typed and restores the terminal on close", async () => {
  const { stdin, modes, type } = fakeStdin();
  const keys: string[] = [];
  const input = KeyInput.start({
    stdin,
    onKey: (k) => keys.push(k),
    onSignal: () => {},
    handleSighup: false,
  });
  assert.ok(input !== undefined);
  assert.deepEqual(modes, ["cbreak"], "cbreak: Ctrl-C stays SIGINT");
  type("p");
  type("xP");
  await tick();
  assert.deepEqual(keys, ["p", "x", "P"]);
  input.close();
  input.close();
  assert.deepEqual(modes, ["cbreak", "cooked"], "restored once");
  type("p");
  await tick();
  assert.deepEqual(keys, ["p", "x", "P"], "nothing after close");
});

Deno.test("KeyInput leaves a stdin that is not a terminal alone", () => {
  const { stdin, modes } = fakeStdin(false);
  const input = KeyInput.start({ stdin, onKey: () => {}, onSignal: () => {}, handleSighup: true });
  assert.equal(input, undefined);
  assert.deepEqual(modes, []);
});

Deno.test("KeyInput restores the terminal on SIGQUIT and says so, before the run ends", async () => {
  const { stdin, modes } = fakeStdin();
  let signalled = 0;
  // Keep the test process alive through its own SIGQUIT (KeyInput's listener replaces the default).
  const input = KeyInput.start({
    stdin,
    onKey: () => {},
    onSignal: () => signalled++,
    handleSighup: false,
  });
  assert.ok(input !== undefined);
  Deno.kill(Deno.pid, "SIGQUIT");
  for (let i = 0; i < 100 && signalled === 0; i++) await tick();
  assert.equal(signalled, 1);
  assert.deepEqual(modes, ["cbreak", "cooked"]);
  input.close(); // idempotent: nothing more
  assert.deepEqual(modes, ["cbreak", "cooked"]);
});
