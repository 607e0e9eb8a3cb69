// Memory of the server's receiver store (lib/server/receiver_store.ts): heap used by N receivers'
// last reports, each parsed from its own JSON body as the server does, typical (6 PIDs, 1 service)
// and worst case (64-character ids, IPv6 addresses, 64 PIDs all with continuity errors, 32 services,
// 256-character names). One JSON figure line each on stdout.
// Run: deno run --v8-flags=--expose-gc scripts/bench/receiver_store_memory.ts [--receivers 1000]
import { parseFlags } from "../../lib/common/flags.ts";
import { REPORT_LIMITS } from "../../lib/common/receiver_report.ts";
import { ReceiverStore } from "../../lib/server/receiver_store.ts";
import { parseReport } from "../../lib/server/report_validation.ts";
import { sampleReport } from "../support/sample_report.ts";

const gc = (globalThis as { gc?: () => void }).gc;

function heapUsed(): number {
  for (let i = 0; i < 3; i++) gc!();
  return Deno.memoryUsage().heapUsed;
}

/** Heap bytes held by `receivers` receivers of one stream with reports shaped by `options`. */
function measure(
  receivers: number,
  options: Parameters<typeof sampleReport>[2],
  worst = false,
): number {
  const encoder = new TextEncoder();
  const store = new ReceiverStore({ maxReceiversPerStream: receivers, maxReceivers: receivers });
  const before = heapUsed();
  for (let i = 0; i < receivers; i++) {
    const id = worst ? `${i}`.padStart(64, "r") : `probe-${i}`;
    const address = worst
      ? `fd00:6a7:1234:5678:9abc:def0:${(i >> 16).toString(16)}:${(i & 0xffff).toString(16)}`
      : `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`;
    const body = encoder.encode(JSON.stringify(sampleReport(id, "news", options)));
    store.put("news", address, parseReport(body, "news"));
  }
  const after = heapUsed();
  if (store.size !== receivers) {
    throw new Error(`Expected ${receivers} receivers, kept ${store.size}`);
  }
  return after - before;
}

function figure(name: string, bytes: number, receivers: number): string {
  const value = Math.round((bytes / receivers) * 1000 / 1e6 * 1000) / 1000;
  return JSON.stringify({
    name,
    value,
    unit: "MB",
    baseline: null,
    baselineValue: null,
    ratio: null,
  });
}

if (import.meta.main) {
  if (gc === undefined) {
    console.error("receiver_store_memory: run with --v8-flags=--expose-gc");
    Deno.exit(2);
  }
  const flags = parseFlags(Deno.args, { receivers: { type: "string", default: "1000" } });
  const receivers = Number(flags.receivers);
  const typical = measure(receivers, { pids: 6, services: 1 });
  console.log(figure("server.receiver_store_mb_per_1000", typical, receivers));
  const worst = measure(receivers, {
    pids: REPORT_LIMITS.MAX_PIDS,
    services: REPORT_LIMITS.MAX_SERVICES,
    nameLength: REPORT_LIMITS.MAX_STRING_LENGTH,
    pidErrors: 3,
  }, true);
  console.log(figure("server.receiver_store_mb_per_1000_worst", worst, receivers));
}
