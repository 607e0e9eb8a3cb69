import assert from "node:assert/strict";
import { DatagramBatch, ipv4Number } from "../../lib/net/datagram_batch.ts";
import { parseIpAddress } from "../../lib/net/ip_address.ts";
import { SourceFilter } from "../../lib/net/source_filter.ts";

function batchOf(senders: string[]): DatagramBatch {
  const batch = new DatagramBatch({ data: new Uint8Array(4 * 16), capacity: 4, slotBytes: 16 });
  senders.forEach((sender, i) => {
    const parsed = parseIpAddress(sender)!;
    batch.family[i] = parsed.family;
    batch.address.set(parsed.bytes, i * 16);
    batch.lengths[i] = i + 1;
    batch.ports[i] = 5000 + i;
  });
  batch.count = senders.length;
  return batch;
}

Deno.test("DatagramBatch gives payload views, sender text and numbers, and checks indexes", () => {
  const batch = batchOf(["192.0.2.1", "fd00:6a7::1", "10.0.0.255"]);
  assert.deepEqual(batch.datagram(1), new Uint8Array(2));
  assert.equal(batch.datagram(2).byteOffset, 32, "a view into the slot, not a copy");
  assert.equal(batch.sourceAddress(0), "192.0.2.1");
  assert.equal(batch.sourceAddress(1), "fd00:6a7::1");
  assert.equal(batch.sourceIpv4(2), 0x0a0000ff);
  assert.equal(batch.sourceIpv4(1), -1, "not IPv4");
  assert.equal(ipv4Number(new Uint8Array([192, 0, 2, 1])), 0xc0000201);
  assert.throws(() => batch.datagram(3), /index 3 outside the batch of 3/);
  assert.throws(() => batch.sourceAddress(-1), RangeError);
  assert.throws(() => ipv4Number(new Uint8Array(3)), RangeError);
  batch.lengths[0] = 100;
  assert.equal(batch.datagram(0).length, 16, "never past the slot");
});

Deno.test("DatagramBatch refuses storage that cannot hold its slots", () => {
  assert.throws(
    () => new DatagramBatch({ data: new Uint8Array(10), capacity: 2, slotBytes: 8 }),
    /cannot hold 2 × 8/,
  );
  assert.throws(
    () => new DatagramBatch({ data: new Uint8Array(10), capacity: 0, slotBytes: 8 }),
    /capacity/,
  );
});

Deno.test("SourceFilter accepts only listed senders, comparing address words", () => {
  const batch = batchOf(["192.0.2.1", "fd00:6a7::1", "192.0.2.2", "fd00:6a7::2"]);
  const accepted = (filter: SourceFilter) => [0, 1, 2, 3].filter((i) => filter.accepts(batch, i));
  assert.deepEqual(accepted(new SourceFilter([])), [0, 1, 2, 3], "empty: everything");
  assert.deepEqual(accepted(new SourceFilter(["192.0.2.2"])), [2]);
  assert.deepEqual(accepted(new SourceFilter(["fd00:6a7:0::1", "192.0.2.1"])), [0, 1]);
  assert.deepEqual(accepted(new SourceFilter(["::c000:201"])), [], "family matters");
  assert.equal(new SourceFilter(["192.0.2.1"]).accepts(batch, 9), false);
  assert.throws(() => new SourceFilter(["sender.example"]), /is not an IPv4 or IPv6 address/);
});
