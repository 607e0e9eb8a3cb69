// ffmpeg's MPEG-TS demuxer (ISO/IEC 13818-1) as an independent count of a live multicast stream's
// continuity and transport errors: `ffmpeg -loglevel debug -f mpegts` logs one "Continuity check
// failed" / "TEI flag set" line per error, read from raw UDP directly or from a pipe that a relay
// fills with the payloads of RTP packets (RFC 3550 §5.1 header stripped, RFC 2250) in arrival order.

/** The lines ffmpeg 5.1's libavformat/mpegts.c logs at debug level, one per error. */
export const FFMPEG_TS_LINES = {
  /** handle_packet(): a PID's continuity_counter is not the expected one. */
  CONTINUITY: "Continuity check failed",
  /** handle_packet(): transport_error_indicator set. */
  TRANSPORT_ERROR: "TEI flag set",
} as const;

/** What a finished ffmpeg demux left: its exit code and the counted lines. */
export interface FfmpegTsCounts {
  readonly code: number;
  /** "Continuity check failed" lines. */
  readonly ccErrors: number;
  /** "TEI flag set" lines. */
  readonly transportErrors: number;
  /** "Continuity check failed for pid P ..." lines by PID P. */
  readonly ccErrorsByPid: ReadonlyMap<number, number>;
  /** The last lines of its log, for messages. */
  readonly tail: string;
}

/** Lines of the log kept for {@link FfmpegTsCounts.tail}. */
const TAIL_LINES = 40;

/**
 * `ffmpeg -hide_banner -nostdin -loglevel debug -f mpegts -i INPUT -map 0 -c copy -f null -`:
 * demuxes without decoding and counts the error lines as they come (the log is never kept whole).
 * `input` is `pipe:0` (then write to {@link FfmpegTsDemux.write} and {@link FfmpegTsDemux.end})
 * or a `udp://` URL. `await using` kills it if it is still running.
 */
export class FfmpegTsDemux implements AsyncDisposable {
  readonly #process: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array> | undefined;
  readonly #log: Promise<void>;
  #cc = 0;
  #tei = 0;
  readonly #byPid = new Map<number, number>();
  #exited = false;
  readonly #tail: string[] = [];

  constructor(input: string) {
    const pipe = input === "pipe:0";
    this.#process = new Deno.Command("ffmpeg", {
      args: [
        ...["-hide_banner", "-nostdin", "-nostats", "-loglevel", "debug"],
        ...["-f", "mpegts", "-i", input, "-map", "0", "-c", "copy", "-f", "null", "-"],
      ],
      stdin: pipe ? "piped" : "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    this.#writer = pipe ? this.#process.stdin.getWriter() : undefined;
    this.#log = this.#read();
    this.#process.status.then(() => this.#exited = true);
  }

  async #read(): Promise<void> {
    let partial = "";
    const decoder = new TextDecoderStream();
    for await (const chunk of this.#process.stderr.pipeThrough(decoder)) {
      const lines = (partial + chunk).split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) this.#line(line);
    }
    if (partial !== "") this.#line(partial);
  }

  #line(line: string): void {
    if (line.includes(FFMPEG_TS_LINES.CONTINUITY)) {
      this.#cc++;
      const pid = Number(/ for pid (\d+)/.exec(line)?.[1] ?? -1);
      this.#byPid.set(pid, (this.#byPid.get(pid) ?? 0) + 1);
    }
    if (line.includes(FFMPEG_TS_LINES.TRANSPORT_ERROR)) this.#tei++;
    this.#tail.push(line);
    if (this.#tail.length > TAIL_LINES) this.#tail.shift();
  }

  /** "Continuity check failed" lines so far. */
  get ccErrors(): number {
    return this.#cc;
  }

  /** Writes TS bytes to ffmpeg's standard input (pipe:0 only); resolves once the pipe took them. */
  async write(bytes: Uint8Array): Promise<void> {
    if (this.#writer === undefined) throw new Error("FfmpegTsDemux.write() needs input pipe:0");
    await this.#writer.write(bytes);
  }

  /** Closes the standard input (pipe:0): ffmpeg demuxes what is left and exits. */
  async end(): Promise<void> {
    await this.#writer?.close();
  }

  /**
   * Waits at most `timeoutMs` for the exit (SIGKILL after that) and returns the counts; ffmpeg
   * reading udp:// ends by itself with the URL's `timeout` option.
   */
  async finished(timeoutMs: number): Promise<FfmpegTsCounts> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<void>((resolve) => timer = setTimeout(resolve, timeoutMs));
    await Promise.race([this.#process.status, deadline]);
    clearTimeout(timer);
    if (!this.#exited) this.#kill();
    const status = await this.#process.status;
    await this.#log;
    return {
      code: status.code,
      ccErrors: this.#cc,
      transportErrors: this.#tei,
      ccErrorsByPid: new Map(this.#byPid),
      tail: this.#tail.join("\n"),
    };
  }

  #kill(): void {
    try {
      this.#process.kill("SIGKILL");
    } catch {
      // Exited meanwhile.
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.#exited) this.#kill();
    await this.#writer?.close().catch(() => {});
    await this.#process.status;
    await this.#log;
  }
}

/*
 * RFC 3550 §5.1 fixed header; the relay strips it and refuses anything with CSRCs, an extension or
 * padding (the test source sends none), so the rest is exactly the RFC 2250 payload:
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |V=2|P|X|  CC   |M|     PT      |       sequence number         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                           timestamp                           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |           synchronization source (SSRC) identifier            |
 * +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 */
const RTP_FIXED_HEADER = 12;

/**
 * A plain Deno socket joined to an RTP multicast group that writes each packet's payload to an
 * {@link FfmpegTsDemux} on pipe:0, in arrival order (no reordering, duplicates passed on).
 * `await using` closes the socket.
 */
export class RtpPayloadRelay implements AsyncDisposable {
  readonly #conn: Deno.DatagramConn;
  readonly #loop: Promise<void>;
  #relayed = 0;
  #closed = false;
  #error: unknown;

  private constructor(conn: Deno.DatagramConn, sink: FfmpegTsDemux) {
    this.#conn = conn;
    this.#loop = this.#relay(sink);
  }

  /** Binds to `group`:`port` (reuseAddress, beside the client) and joins the group. */
  static async open(group: string, port: number, sink: FfmpegTsDemux): Promise<RtpPayloadRelay> {
    const conn = Deno.listenDatagram({
      transport: "udp",
      hostname: group,
      port,
      reuseAddress: true,
    });
    await conn.joinMulticastV4(group, "0.0.0.0");
    return new RtpPayloadRelay(conn, sink);
  }

  /** RTP packets relayed so far. */
  get relayed(): number {
    return this.#relayed;
  }

  async #relay(sink: FfmpegTsDemux): Promise<void> {
    const buffer = new Uint8Array(65_536);
    try {
      while (true) {
        const [datagram] = await this.#conn.receive(buffer);
        if (datagram.byteLength < RTP_FIXED_HEADER || datagram[0] !== 0x80) {
          throw new RangeError(
            `Relay: datagram ${this.#relayed + 1} (${datagram.byteLength} bytes, first byte ` +
              `0x${
                datagram[0]?.toString(16)
              }) is not an RTP packet without CSRC, extension or padding`,
          );
        }
        // The view dies with the next receive: the write completes first.
        await sink.write(datagram.subarray(RTP_FIXED_HEADER));
        this.#relayed++;
      }
    } catch (error) {
      if (!this.#closed) this.#error = error;
    }
  }

  /** Closes the socket; rethrows what stopped the relay early, if anything did. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#conn.close();
    await this.#loop;
    if (this.#error !== undefined) throw this.#error;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
