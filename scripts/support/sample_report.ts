// Receiver reports as the client writes them (lib/common/receiver_report.ts): two intervals with
// MPEG-TS figures and a summary, for the receiver-store memory figure and the server's tests.
// Not a runnable script.

/** A report as the client sends it: two intervals of one SSRC with MPEG-TS figures, one summary. */
export function sampleReport(
  receiverId = "probe-1",
  stream = "news",
  options: { pids?: number; services?: number; nameLength?: number; pidErrors?: number } = {},
): Record<string, unknown> {
  // deno-fmt-ignore
  const ts = {
    packets: 7000,
    syncLosses: 0,
    syncByteErrors: 0,
    patErrors: 0,
    ccErrors: 2,
    ccErrorsWithoutRtpLoss: 1,
    pmtErrors: 0,
    pidErrors: 0,
    transportErrors: 0,
    crcErrors: 0,
    pcrRepetitionErrors: 0,
    pcrDiscontinuityErrors: 0,
    ptsErrors: 0,
    nullPackets: 30,
    pids: [
      { pid: 0, role: "PAT", streamType: null, packets: 10, bitrateBps: 15000, ccErrors: 0, scrambled: false },
      { pid: 256, role: "video", streamType: "H.264", packets: 6000, bitrateBps: 1800000, ccErrors: 2, scrambled: false },
      ...Array.from({ length: Math.max(0, (options.pids ?? 2) - 2) }, (_, n) => ({
        pid: 257 + n, role: "audio", streamType: "AAC", packets: 600, bitrateBps: 128000, ccErrors: options.pidErrors ?? 0,
        scrambled: false,
      })),
    ],
    services: Array.from({ length: options.services ?? 1 }, (_, n) => ({
      number: 1 + n,
      pmtPid: 4096 + n,
      pcrPid: 256,
      name: n === 0 && options.nameLength === undefined ? "News" : "N".repeat(options.nameLength ?? 8),
      provider: options.nameLength === undefined ? "VLC" : "P".repeat(options.nameLength),
    })),
  };
  const stats = (second: number, lost: number) => ({
    type: "stats",
    time: `2026-12-01T10:00:0${second}.000Z`,
    stream,
    transport: "rtp",
    group: "239.0.0.1",
    port: 5004,
    ssrc: 305441741,
    payloadType: 33,
    packets: 190,
    bytes: 252320,
    expected: 190 + lost,
    lost,
    fractionLost: lost / (190 + lost),
    duplicates: 1,
    reordered: 0,
    jitterMs: 0.054 + second,
    bitrateBps: 2000000 + second,
    packetsPerSecond: 190,
    invalid: 0,
    state: "receiving",
    ts,
  });
  return {
    receiverId,
    stream,
    records: [stats(1, 0), stats(2, 10)],
    summary: [{
      ...stats(2, 10),
      type: "summary",
      packets: 5000,
      expected: 5020,
      lost: 20,
      durationS: 26.3,
      stalls: 1,
      stalledS: 2.5,
      filtered: 0,
      unexpectedPayloadType: 0,
      restarts: 0,
    }],
  };
}
