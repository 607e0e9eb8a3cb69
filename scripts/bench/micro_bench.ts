// Micro benchmarks of the hot paths: RTP header parsing (RFC 3550 §5.1), receiver statistics update
// (RFC 3550 A.1 sequence validation, A.8 jitter) and SDP offer/answer (RFC 3264 §6, RFC 8866).
// Run: deno bench scripts/bench/micro_bench.ts   (each group compares with a `baseline: true` bench)
// @ts-types="@types/sdp-transform"
import * as sdpTransform from "sdp-transform";
import { Catalog, validateStream } from "../../lib/server/catalog.ts";
import { ReceiverStats } from "../../lib/rtp/session_stats.ts";
import { createRtpHeaderFields, parseRtpPacket, readRtpHeader } from "../../lib/rtp/packet.ts";
import { answerOffer } from "../../lib/sdp/answer.ts";
import { parseSdp } from "../../lib/sdp/parse.ts";

/** A 1328-byte RTP/MPEG-TS datagram: PT 33, 7 null TS packets (RFC 2250). */
function mp2tDatagram(): Uint8Array {
  const packet = new Uint8Array(1328).fill(0xff);
  packet.set([0x80, 33, 0x12, 0x34, 0, 0, 0, 0, 0x5e, 0xed, 0x12, 0x34]);
  for (let i = 0; i < 7; i++) packet.set([0x47, 0x1f, 0xff, 0x10], 12 + i * 188);
  return packet;
}

const packet = mp2tDatagram();
const view = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
const fields = createRtpHeaderFields();
let sink = 0;

Deno.bench({
  name: "DataView reads of the fixed header",
  group: "rtp-parse",
  baseline: true,
  fn() {
    sink ^= view.getUint8(1) & 0x7f ^ view.getUint16(2) ^ view.getUint32(4) ^ view.getUint32(8);
  },
});

Deno.bench({
  name: "readRtpHeader()",
  group: "rtp-parse",
  fn() {
    sink ^= readRtpHeader(packet, fields) ^ fields.sequenceNumber;
  },
});

Deno.bench({
  name: "parseRtpPacket()",
  group: "rtp-parse",
  fn() {
    sink ^= parseRtpPacket(packet).sequenceNumber;
  },
});

/** Writes the next sequence number and timestamp (3 000 ticks, ~1900 packets/s at 90 kHz). */
function advance(state: { seq: number; ts: number }): void {
  state.seq = (state.seq + 1) & 0xffff;
  state.ts = (state.ts + 3000) >>> 0;
  packet[2] = state.seq >> 8;
  packet[3] = state.seq & 0xff;
  view.setUint32(4, state.ts);
}

const baselineState = { seq: 0, ts: 0 };
Deno.bench({
  name: "readRtpHeader() of in-order packets",
  group: "stats-update",
  baseline: true,
  fn() {
    advance(baselineState);
    sink ^= readRtpHeader(packet, fields);
  },
});

const stats = new ReceiverStats({ clockRates: new Map([[33, 90000]]) });
const statsState = { seq: 0, ts: 0 };
let arrivalMs = 0;
Deno.bench({
  name: "ReceiverStats.onDatagram() of in-order packets",
  group: "stats-update",
  fn() {
    advance(statsState);
    arrivalMs += 0.5;
    stats.onDatagram(packet, arrivalMs);
  },
});

/** tests/testdata/offer_vlc_style.sdp, inline so that `deno bench` needs no permission. */
const offer = [
  "v=0",
  "o=- 16985326731404820419 16985326731404820419 IN IP4 host",
  "s=Unnamed",
  "i=N/A",
  "c=IN IP4 239.0.0.1/255",
  "t=0 0",
  "a=tool:vlc 3.0.24",
  "a=recvonly",
  "a=type:broadcast",
  "a=charset:UTF-8",
  "m=video 5004 RTP/AVP 33",
  "b=RR:0",
  "a=rtpmap:33 MP2T/90000",
  "",
].join("\r\n");
const entry = new Catalog([
  validateStream({
    name: "default",
    address: "239.0.0.1",
    port: 5004,
    formats: [{ payloadType: 33 }],
  }, "s"),
]).defaultEntry;

Deno.bench({
  name: "sdp-transform parse() + write() of the VLC offer",
  group: "offer-answer",
  baseline: true,
  fn() {
    sink ^= sdpTransform.write(sdpTransform.parse(offer)).length;
  },
});

Deno.bench({
  name: "parseSdp() of the VLC offer",
  group: "offer-answer",
  fn() {
    sink ^= parseSdp(offer).media.length;
  },
});

Deno.bench({
  name: "answerOffer() of the VLC offer",
  group: "offer-answer",
  fn() {
    sink ^= answerOffer(offer, entry).sdp.length;
  },
});

// Keeps `sink` observable so the JIT cannot drop the work above.
globalThis.addEventListener("unload", () => {
  if (sink === 0.5) console.log(sink);
});
