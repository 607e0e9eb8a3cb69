// Receiver for the kernel-path benchmark (kernel_bench.ts): joins an IPv4 multicast group through
// lib/net/open_receiver.ts (the FFI recvmmsg path or the Deno path), and feeds every RTP datagram
// (RFC 3550) to ReceiverStats as the client does, with the arrival time the path gives.
// Run (inside a private network namespace; kernel_bench.ts starts it):
//   deno run -A scripts/bench/kernel_loop.ts --group 239.1.2.3 --port 40000 --receiver kernel \
//     [--packets N] [--seconds S] [--no-stats] [--window-ms MS] [--batch N]
// Writes "ready" to stderr once joined; stops at --packets, after --seconds or on SIGTERM, then
// prints one JSON line: {"received":N,"kind":"kernel","jitterMs":J,"lost":L,"socketDrops":D,...}.
import { parseArgs } from "node:util";
import type { DatagramReceiver } from "../../lib/net/datagram_receiver.ts";
import { KernelReceiver } from "../../lib/net/kernel_receiver.ts";
import { MulticastReceiver } from "../../lib/net/multicast_receiver.ts";
import { ReceiverStats } from "../../lib/rtp/session_stats.ts";

/** Runs one receiver; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      group: { type: "string" },
      port: { type: "string" },
      receiver: { type: "string", default: "kernel" },
      packets: { type: "string", default: "100000000" },
      seconds: { type: "string", default: "60" },
      "no-stats": { type: "boolean", default: false },
      "window-ms": { type: "string" },
      batch: { type: "string" },
    },
  });
  const group = values.group ?? "";
  const port = Number(values.port);
  const packets = Number(values.packets);
  const seconds = Number(values.seconds);
  if (!/^2(2[4-9]|3\d)\./.test(group) || !(port > 0 && port < 65536)) {
    console.error("kernel_loop: --group must be an IPv4 multicast group and --port a UDP port");
    return 2;
  }
  if (values.receiver !== "kernel" && values.receiver !== "deno") {
    console.error("kernel_loop: --receiver must be kernel or deno");
    return 2;
  }
  const receiver: DatagramReceiver = values.receiver === "kernel"
    ? await KernelReceiver.open({
      group,
      port,
      ...(values["window-ms"] === undefined ? {} : { windowMs: Number(values["window-ms"]) }),
      ...(values.batch === undefined ? {} : { batch: Number(values.batch) }),
    })
    : await MulticastReceiver.open({ group, port });
  const stats = new ReceiverStats();
  const feed = !values["no-stats"];
  let received = 0;
  let batches = 0;
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    receiver.close();
  };
  Deno.addSignalListener("SIGTERM", stop);
  const timer = setTimeout(stop, seconds * 1000);
  console.error("ready");
  try {
    while (received < packets) {
      const batch = await receiver.receiveBatch();
      if (batch === null) break;
      batches++;
      for (let i = 0; i < batch.count; i++) {
        if (feed) stats.onDatagram(batch.datagram(i), batch.arrivalMs[i]!);
      }
      received += batch.count;
    }
  } finally {
    clearTimeout(timer);
    Deno.removeSignalListener("SIGTERM", stop);
  }
  const socketDrops = receiver.socketDrops;
  await receiver.close();
  const source = stats.snapshot(performance.now()).sources[0];
  console.log(JSON.stringify({
    received: Math.min(received, packets),
    kind: receiver.kind,
    batches,
    jitterMs: source?.jitterMs ?? null,
    lost: source?.lost ?? null,
    packets: source?.packets ?? null,
    socketDrops: socketDrops ?? null,
    rcvbuf: receiver.receiveBuffer.ok ? receiver.receiveBuffer.bytes : null,
  }));
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
