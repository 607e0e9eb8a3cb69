// The client's multicast sockets: one per group, port and interface (bound to the group, so other
// groups on the port never mix in), shared by the streams received there and told apart by sender;
// a reception loop per socket, and membership renewals (IGMP/MLD, RFC 3376 / RFC 3810) on a clock.
import { MulticastError } from "../common/errors.ts";
import type { DatagramReceiver, ReceiverPreference } from "../net/datagram_receiver.ts";
import { openReceiver, type OpenReceiverOptions } from "../net/open_receiver.ts";
import { MembershipSchedule, type RenewalReason } from "./membership_schedule.ts";
import type { StreamWatch } from "./stream_watch.ts";

/** What happened to a socket, for the log. */
export type SocketEvent =
  | { readonly kind: "opened"; readonly socket: PooledSocket }
  | { readonly kind: "reopened"; readonly socket: PooledSocket; readonly why: string }
  | { readonly kind: "renewed"; readonly socket: PooledSocket; readonly reason: RenewalReason }
  | { readonly kind: "renewFailed"; readonly socket: PooledSocket; readonly error: unknown }
  | { readonly kind: "receiveFailed"; readonly socket: PooledSocket; readonly error: unknown }
  | { readonly kind: "closed"; readonly socket: PooledSocket };

/** Options of {@link SocketPool}. */
export interface SocketPoolOptions {
  readonly prefer: ReceiverPreference;
  /** `--interface`. */
  readonly interface?: string;
  readonly receiveBufferBytes: number;
  /** `--rejoin-every` in ms (0: off). */
  readonly refreshEveryMs: number;
  /** The clock of the watches (performance.now() base: kernel timestamps are on it). */
  readonly now: () => number;
  /** Called for each socket event. */
  readonly onEvent: (event: SocketEvent) => void;
  /** Called after each batch was handed to the socket's streams (e.g. to check --packets). */
  readonly afterBatch: (socket: PooledSocket) => void;
  /** Opens a receiver; default openReceiver (tests wrap it to watch the joins). */
  readonly open?: (options: OpenReceiverOptions) => Promise<DatagramReceiver>;
}

/** One socket and the streams received on it. */
export interface PooledSocket {
  readonly key: string;
  readonly group: string;
  readonly port: number;
  /** The receiver in use (a new one after a reopen). */
  receiver: DatagramReceiver;
  /** The sources joined (source-specific) or empty for an any-source join. */
  joined: readonly string[];
  readonly watches: StreamWatch[];
  readonly schedule: MembershipSchedule;
  /** Failures in a row of receiveBatch() (logged on the first). */
  failures: number;
  closed: boolean;
  loop: Promise<void>;
}

/** Pause after a failed receive before trying again. */
const RECEIVE_RETRY_MS = 1000;

function keyOf(group: string, port: number, iface: string | undefined): string {
  return `${group.toLowerCase()}|${port}|${iface ?? ""}`;
}

/** The sources a socket must join for `watches`: their union when every one has some, else any. */
function joinSources(watches: readonly StreamWatch[]): string[] {
  if (watches.length === 0 || watches.some((w) => w.filter.size === 0)) return [];
  return [...new Set(watches.flatMap((w) => w.filter.sources.map((s) => s.toLowerCase())))].sort();
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * The sockets of a run. `add()` gives a stream a socket (opening one, or reopening it when the
 * source-specific join must change), `remove()` takes it away (closing a socket left empty),
 * `tick()` renews memberships, `close()` ends everything. A datagram goes to every stream of its
 * socket whose source filter accepts it; one that none accepts is counted `filtered` by each.
 */
export class SocketPool {
  readonly #options: SocketPoolOptions;
  readonly #sockets = new Map<string, PooledSocket>();
  readonly #open: (options: OpenReceiverOptions) => Promise<DatagramReceiver>;
  /** Serialises add/remove so two streams of one socket never open it twice. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: SocketPoolOptions) {
    this.#options = options;
    this.#open = options.open ?? openReceiver;
  }

  /** The open sockets. */
  sockets(): IterableIterator<PooledSocket> {
    return this.#sockets.values();
  }

  /** The socket `watch` is received on, if any. */
  socketOf(watch: StreamWatch): PooledSocket | undefined {
    return this.#sockets.get(this.#keyOfWatch(watch));
  }

  /** Receives `watch` on its group's socket. Throws MulticastError when the socket cannot open. */
  add(watch: StreamWatch): Promise<PooledSocket> {
    return this.#serial(async () => {
      const key = this.#keyOfWatch(watch);
      const socket = this.#sockets.get(key);
      if (socket === undefined) return await this.#create(key, watch);
      const joined = joinSources([...socket.watches, watch]);
      if (!sameList(joined, socket.joined)) {
        await this.#reopen(socket, joined, `${watch.name} joins it with another source filter`);
      }
      socket.watches.push(watch);
      // Its drop count starts now: earlier drops of the shared socket are not the stream's.
      watch.noteSocketDrops(socket.receiver, socket.receiver.socketDrops);
      return socket;
    });
  }

  /** Stops receiving `watch`; its socket closes when no stream is left on it. */
  remove(watch: StreamWatch): Promise<void> {
    return this.#serial(async () => {
      const socket = this.#sockets.get(this.#keyOfWatch(watch));
      if (socket === undefined) return;
      const index = socket.watches.indexOf(watch);
      if (index < 0) return;
      watch.noteSocketDrops(socket.receiver, socket.receiver.socketDrops); // its last count
      socket.watches.splice(index, 1);
      if (socket.watches.length === 0) {
        this.#sockets.delete(socket.key);
        await this.#closeSocket(socket);
        return;
      }
      const joined = joinSources(socket.watches);
      if (!sameList(joined, socket.joined)) {
        try {
          await this.#reopen(socket, joined, `${watch.name} left it`);
        } catch (error) {
          this.#options.onEvent({ kind: "receiveFailed", socket, error });
        }
      }
    });
  }

  /**
   * Renews the memberships that are due at `nowMs` (periodic refresh, or 10 s into a stall) by
   * leave and join on the same socket, and follows each socket's kernel drop count.
   */
  tick(nowMs: number): void {
    this.noteDrops();
    for (const socket of this.#sockets.values()) {
      const stalled = socket.watches.some((w) => w.state === "stalled");
      const reason = socket.schedule.due(nowMs, stalled);
      if (reason === undefined) continue;
      socket.schedule.renewed(nowMs);
      const receiver = socket.receiver;
      receiver.rejoin().then(
        () => this.#options.onEvent({ kind: "renewed", socket, reason }),
        (error) => {
          if (!socket.closed && receiver === socket.receiver) {
            this.#options.onEvent({ kind: "renewFailed", socket, error });
          }
        },
      );
    }
  }

  /** Hands each socket's kernel drop count to its streams (also done by every tick). */
  noteDrops(): void {
    for (const socket of this.#sockets.values()) {
      const drops = socket.receiver.socketDrops;
      for (const watch of socket.watches) watch.noteSocketDrops(socket.receiver, drops);
    }
  }

  /** Closes every socket. */
  close(): Promise<void> {
    return this.#serial(async () => {
      const sockets = [...this.#sockets.values()];
      this.#sockets.clear();
      await Promise.all(sockets.map((s) => this.#closeSocket(s)));
    });
  }

  #keyOfWatch(watch: StreamWatch): string {
    return keyOf(watch.target.group, watch.target.port, this.#options.interface);
  }

  #serial<T>(work: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(work, work);
    this.#queue = result.catch(() => {});
    return result;
  }

  #openOptions(group: string, port: number, sources: readonly string[]): OpenReceiverOptions {
    const o = this.#options;
    return {
      group,
      port,
      sources,
      receiveBufferBytes: o.receiveBufferBytes,
      prefer: o.prefer,
      ...(o.interface === undefined ? {} : { interface: o.interface }),
    };
  }

  async #create(key: string, watch: StreamWatch): Promise<PooledSocket> {
    const { group, port } = watch.target;
    const joined = joinSources([watch]);
    const receiver = await this.#open(this.#openOptions(group, port, joined));
    const socket: PooledSocket = {
      key,
      group,
      port,
      receiver,
      joined,
      watches: [watch],
      schedule: new MembershipSchedule({
        joinedMs: this.#options.now(),
        refreshEveryMs: this.#options.refreshEveryMs,
      }),
      failures: 0,
      closed: false,
      loop: Promise.resolve(),
    };
    this.#sockets.set(key, socket);
    watch.noteSocketDrops(receiver, receiver.socketDrops);
    socket.loop = this.#run(socket, receiver);
    this.#options.onEvent({ kind: "opened", socket });
    return socket;
  }

  /**
   * Replaces the socket's receiver with one joined to `joined` (a source-specific join cannot be
   * widened in place): the old one is closed first, so nothing is counted twice; datagrams in
   * flight at that moment are lost to the streams of the socket.
   */
  async #reopen(socket: PooledSocket, joined: readonly string[], why: string): Promise<void> {
    const old = socket.receiver;
    this.noteDrops();
    await old.close();
    await socket.loop;
    let receiver: DatagramReceiver;
    try {
      receiver = await this.#open(this.#openOptions(socket.group, socket.port, joined));
    } catch (error) {
      // Keep the old joins: reopen the way it was, so the other streams go on.
      receiver = await this.#open(this.#openOptions(socket.group, socket.port, socket.joined));
      socket.receiver = receiver;
      socket.loop = this.#run(socket, receiver);
      throw error instanceof MulticastError ? error : new MulticastError(String(error));
    }
    socket.receiver = receiver;
    socket.joined = joined;
    for (const watch of socket.watches) watch.noteSocketDrops(receiver, receiver.socketDrops);
    socket.schedule.renewed(this.#options.now());
    socket.loop = this.#run(socket, receiver);
    this.#options.onEvent({ kind: "reopened", socket, why });
  }

  async #closeSocket(socket: PooledSocket): Promise<void> {
    socket.closed = true;
    await socket.receiver.close();
    await socket.loop;
    this.#options.onEvent({ kind: "closed", socket });
  }

  /** Receives batches until the receiver closes, handing each datagram to its streams. */
  async #run(socket: PooledSocket, receiver: DatagramReceiver): Promise<void> {
    for (;;) {
      let batch;
      try {
        batch = await receiver.receiveBatch();
      } catch (error) {
        if (socket.closed || receiver !== socket.receiver) return;
        if (socket.failures++ === 0) {
          this.#options.onEvent({ kind: "receiveFailed", socket, error });
        }
        await new Promise((resolve) => setTimeout(resolve, RECEIVE_RETRY_MS));
        continue;
      }
      if (batch === null) return;
      socket.failures = 0;
      const watches = socket.watches;
      for (let i = 0; i < batch.count; i++) {
        const datagram = batch.datagram(i);
        const arrivalMs = batch.arrivalMs[i]!;
        let taken = false;
        for (const watch of watches) {
          if (watch.accepts(batch, i)) {
            watch.onDatagram(datagram, arrivalMs);
            taken = true;
          }
        }
        if (!taken) { for (const watch of watches) watch.countFiltered(); }
      }
      this.#options.afterBatch(socket);
    }
  }
}
