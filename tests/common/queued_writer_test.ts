// Tests of lib/common/queued_writer.ts: bytes reach the target whole and in order across the ring's
// wrap, a stalled target costs only the ring (the rest is dropped and counted), and a reader that
// goes away (a real pipe closed by `head`) ends writing with one error.
import assert from "node:assert/strict";
import { QueuedWriter, type WriteTarget } from "../../lib/common/queued_writer.ts";

/** A target that takes at most `chunk` bytes per write and can be held. */
function slowTarget(chunk: number) {
  const received: number[] = [];
  let release: (() => void) | undefined;
  let held = false;
  const target: WriteTarget = {
    async write(bytes) {
      if (held) await new Promise<void>((resolve) => (release = resolve));
      const n = Math.min(chunk, bytes.length);
      received.push(...bytes.subarray(0, n));
      await Promise.resolve();
      return n;
    },
  };
  return {
    target,
    received,
    hold: () => (held = true),
    go: () => {
      held = false;
      release?.();
    },
  };
}

async function settle(writer: QueuedWriter) {
  for (let i = 0; i < 1000 && writer.counts().queuedBytes > 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
}

Deno.test("QueuedWriter delivers every byte in order across the ring's wrap, in partial writes", async () => {
  const slow = slowTarget(7);
  const writer = new QueuedWriter(slow.target, { capacityBytes: 64 });
  const sent: number[] = [];
  for (let i = 0; i < 200; i++) {
    const bytes = Uint8Array.from({ length: 1 + (i % 13) }, (_, k) => (i * 31 + k) & 0xff);
    while (!writer.write(bytes)) await settle(writer); // wait for room, as a test may
    sent.push(...bytes);
  }
  await writer.close();
  assert.deepEqual(slow.received, sent);
  const counts = writer.counts();
  assert.equal(counts.writtenBytes, sent.length);
  assert.equal(counts.queuedBytes, 0);
});

Deno.test("QueuedWriter drops and counts what does not fit while the target is stalled", async () => {
  const slow = slowTarget(1 << 20);
  let overflows = 0;
  const writer = new QueuedWriter(slow.target, {
    capacityBytes: 1000,
    onOverflow: () => overflows++,
  });
  slow.hold();
  const chunk = new Uint8Array(300).fill(1);
  const accepted = [1, 2, 3, 4, 5].map(() => writer.write(chunk));
  assert.deepEqual(accepted, [true, true, true, false, false]);
  assert.deepEqual(
    [writer.counts().queuedBytes, writer.counts().droppedBytes, writer.counts().droppedWrites],
    [900, 600, 2],
  );
  assert.equal(overflows, 1, "reported once");
  slow.go();
  await settle(writer);
  assert.equal(slow.received.length, 900);
  assert.ok(writer.write(chunk), "room again once drained");
  await writer.close();
  assert.equal(writer.counts().writtenBytes, 1200);
});

Deno.test("QueuedWriter close() gives up after its wait on a target that never takes the bytes", async () => {
  const writer = new QueuedWriter({ write: () => new Promise<number>(() => {}) });
  writer.write(new Uint8Array(10));
  const started = performance.now();
  await writer.close(50);
  assert.ok(performance.now() - started < 1000);
  assert.equal(writer.counts().droppedBytes, 10);
  assert.equal(writer.write(new Uint8Array(1)), false, "closed");
});

Deno.test("QueuedWriter ends with one error when the reader of a real pipe goes away", async () => {
  const child = new Deno.Command("head", {
    args: ["-c", "1000"],
    stdin: "piped",
    stdout: "null",
  }).spawn();
  const stdin = child.stdin.getWriter();
  const errors: Error[] = [];
  const writer = new QueuedWriter(
    { write: async (bytes) => (await stdin.write(bytes.slice()), bytes.length) },
    { onError: (e) => errors.push(e) },
  );
  const chunk = new Uint8Array(1316).fill(0x47);
  const deadline = Date.now() + 10_000;
  while (writer.error === undefined && Date.now() < deadline) {
    writer.write(chunk);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  assert.equal((await child.status).success, true);
  assert.equal(errors.length, 1);
  assert.equal(writer.write(chunk), false, "nothing is taken after the error");
  assert.ok(writer.counts().writtenBytes >= 1000);
  await writer.close();
  await stdin.close().catch(() => {});
});
