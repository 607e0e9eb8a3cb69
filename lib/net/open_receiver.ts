// Chooses the receive path for a multicast group: the kernel socket through FFI on Linux x86-64 and
// arm64 (source-specific joins, kernel timestamps, drop counts), else Deno.listenDatagram; says why.
import { MulticastError } from "../common/errors.ts";
import type { DatagramReceiver, ReceiverOptions, ReceiverPreference } from "./datagram_receiver.ts";
import { KernelReceiver, KernelUnavailableError } from "./kernel_receiver.ts";
import { kernelSocketProblem } from "./kernel_socket.ts";
import { MulticastReceiver } from "./multicast_receiver.ts";

/** Options of {@link openReceiver}. */
export interface OpenReceiverOptions extends ReceiverOptions {
  /** `auto` (default): kernel where it works, else Deno; `kernel` or `deno` force one. */
  readonly prefer?: ReceiverPreference;
}

const KERNEL_REASON = "own socket through FFI to libc: recvmmsg batches, kernel timestamps, " +
  "kernel drop count";

/**
 * Opens a receiver on the path `prefer` asks for; its `kind` and `reason` say which and why (for
 * the run's first log line). `auto` falls back to Deno when FFI is not granted, on another OS or
 * CPU, or when the kernel socket cannot be created; errors of the group, port, interface or
 * sources are thrown as MulticastError whatever the path. `kernel` throws MulticastError when the
 * kernel path cannot be used.
 */
export async function openReceiver(options: OpenReceiverOptions): Promise<DatagramReceiver> {
  const prefer = options.prefer ?? "auto";
  const sourceNote = (options.sources?.length ?? 0) > 0 ? ", source-specific join" : "";
  if (prefer === "deno") {
    return await MulticastReceiver.open({ ...options, reason: "asked for (--receiver deno)" });
  }
  const problem = kernelSocketProblem();
  if (problem !== undefined) {
    if (prefer === "kernel") {
      throw new MulticastError(`Cannot use the kernel receiver: ${problem}`);
    }
    return await MulticastReceiver.open({
      ...options,
      reason: `kernel receiver unavailable: ${problem}`,
    });
  }
  const reason = prefer === "kernel"
    ? `asked for (--receiver kernel); ${KERNEL_REASON}${sourceNote}`
    : `${Deno.build.os} ${Deno.build.arch} with FFI; ${KERNEL_REASON}${sourceNote}`;
  try {
    return await KernelReceiver.open({ ...options, reason });
  } catch (error) {
    if (prefer === "auto" && error instanceof KernelUnavailableError) {
      return await MulticastReceiver.open({
        ...options,
        reason: error.message.replace(/^Kernel receiver unavailable/, "kernel receiver failed"),
      });
    }
    throw error;
  }
}
