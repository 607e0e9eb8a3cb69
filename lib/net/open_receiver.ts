// Chooses the receive path for a multicast group: the kernel socket through FFI on Linux x86-64 and
// arm64 (source-specific joins, kernel timestamps, drop counts), else Deno.listenDatagram; says why.
import { MulticastError } from "../common/errors.ts";
import type {
  DatagramReceiver,
  ReceiverKind,
  ReceiverOptions,
  ReceiverPreference,
} from "./datagram_receiver.ts";
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

/** The path {@link openReceiver} takes, and why (without the source-specific note). */
export interface ReceiverChoice {
  readonly kind: ReceiverKind;
  readonly reason: string;
  /** Set when `kernel` was asked for and cannot be used here: why (openReceiver would throw). */
  readonly problem?: string;
}

/**
 * Which path {@link openReceiver} takes for `prefer` in this process, and why, before any socket is
 * opened (for the run's first log line). A kernel socket that then fails to open still falls back
 * under `auto`; the receiver's own `reason` says so.
 */
export function receiverChoice(prefer: ReceiverPreference): ReceiverChoice {
  if (prefer === "deno") return { kind: "deno", reason: "asked for (--receiver deno)" };
  const problem = kernelSocketProblem();
  if (problem !== undefined) {
    return prefer === "kernel"
      ? { kind: "kernel", reason: "asked for (--receiver kernel)", problem }
      : { kind: "deno", reason: `kernel receiver unavailable: ${problem}` };
  }
  return {
    kind: "kernel",
    reason: prefer === "kernel"
      ? `asked for (--receiver kernel); ${KERNEL_REASON}`
      : `${Deno.build.os} ${Deno.build.arch} with FFI; ${KERNEL_REASON}`,
  };
}

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
  const choice = receiverChoice(prefer);
  if (choice.problem !== undefined) {
    throw new MulticastError(`Cannot use the kernel receiver: ${choice.problem}`);
  }
  if (choice.kind === "deno") {
    return await MulticastReceiver.open({ ...options, reason: choice.reason });
  }
  const reason = `${choice.reason}${sourceNote}`;
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
