// The client's `--help` text and exit codes, in one place so that --help, main() and the README
// agree (RFC 3550 receiver statistics, ETSI TR 101 290 MPEG-TS analysis, several streams).
import { SOCKET_RECEIVE_BUFFER_BYTES } from "../net/socket_buffer.ts";
import { CATALOG_REFRESH_S } from "./catalog_follower.ts";
import { MEMBERSHIP_TIMING } from "./membership_schedule.ts";
import { REPORTER_DEFAULTS } from "./reporter.ts";
import { TR101290 } from "../ts/tr101290.ts";

/** Client exit codes (documented in --help and README). */
export const CLIENT_EXIT = {
  /** Packets were received (or the run was interrupted by SIGINT/SIGTERM after starting to receive). */
  OK: 0,
  /** Usage or configuration error. */
  USAGE: 2,
  /** Negotiation failed: server unreachable, rejected offer, unusable answer or SDP. */
  NEGOTIATION: 3,
  /** Nothing received before --timeout (or before the run ended). */
  NO_PACKETS: 4,
  /** `--output` could not be written (a closed pipe is not this: it ends the run normally). */
  OUTPUT: 5,
  /** Interrupted by SIGINT before reception started. */
  INTERRUPTED: 130,
} as const;

/** Default server URL (the original tool's). */
export const DEFAULT_SERVER_URL = "http://127.0.0.1:8080/offer";

/** `--help` text of the client. */
export const CLIENT_USAGE =
  `rtp-multicast-client: receives multicast RTP streams and shows RFC 3550 statistics.

Usage: rtp-multicast-client [options]

It POSTs an SDP offer to the server, reads the answer (group, port, TTL, formats, source
filter), joins the group and shows loss, jitter, reordering, duplicates and bitrate per SSRC:
a live table on a terminal, JSON lines otherwise (or with --json). MPEG-TS streams (PT 33,
MP2T, or raw MPEG-TS over UDP) are also checked against ETSI TR 101 290.

Where to find the streams:
  --server URL          Server offer URL ($GATEWAY_HTTP_URL; default ${DEFAULT_SERVER_URL});
                        a base URL like http://host:8080 gets /offer appended
  --stream NAME         Ask for a named stream: POST to /streams/NAME/offer (repeatable)
  --all                 Watch every stream of the server's catalog (GET /streams) and follow
                        it: streams added, removed or re-described are joined, left or
                        re-joined within one --refresh period; SIGHUP refreshes at once
  --refresh SECONDS     Catalog refresh period with --all (default ${CATALOG_REFRESH_S})
  --sdp FILE|URL        Skip negotiation: read any SDP description (e.g. one VLC wrote, or
                        http://host:8080/streams/NAME.sdp); repeatable
  --sap NAME            No server: join the session announced with SAP (RFC 2974) whose s= is
                        NAME (VLC's sap,name=..., ffmpeg -f sap, the server's --sap); waits up
                        to --timeout (exit 3 if it is not heard); repeatable, and combines with
                        --stream and --sdp
  --discover            List the sessions announced with SAP: a table redrawn every --interval
                        on a terminal, else JSON lines ({"type":"announcement",...} per change,
                        {"type":"discovery",...} with the ignored-packet counts); ends at
                        --duration or SIGINT. Takes --interface, --interval, --duration, --json
  --payload-type N      Also offer this payload type (with --encoding for dynamic types)
  --encoding NAME/RATE  Encoding of --payload-type, e.g. H264/90000
  --retries N           Retries when the server is unreachable, answers 5xx or its answer
                        breaks off (default 5)
  --negotiation-timeout SECONDS
                        Time for one attempt: connect, headers and the whole answer (default 10)
  --allow-control-groups  Join an answer's group even in 224.0.0.0/24 or a link-scope control
                        group such as ff02::1 (refused by default: exit 3)
  --token TOKEN         Bearer token for a protected server; visible in ps, so prefer
                        $GATEWAY_TOKEN
  --ca FILE             Extra CA certificate (PEM) to trust for an https server
  --media video|audio|N Which m-line of the description to receive: the first of that media
                        type, or the N-th (1-based). Default: the first RTP (or raw UDP) m-line
                        with a port and a multicast c=; the client logs which one it took

Reception:
  --interface ADDRESS   Local interface to join on: IPv4 address, or for IPv6 an interface
                        name or index (default: any, the kernel's choice)
  --source ADDRESS      Accept packets only from this sender (adds to an answer's source filter)
  --receiver auto|kernel|deno
                        Receive path: kernel (own socket through FFI: recvmmsg, kernel
                        timestamps, drop counts, source-specific joins; Linux x86-64/arm64),
                        deno (Deno.listenDatagram), auto (default: kernel where it works)
  --rejoin-every SECONDS  Renew each membership by leave and join (a fresh IGMP/MLD report)
                        this often; 0 turns it off (default ${MEMBERSHIP_TIMING.REFRESH_EVERY_S})
  --timeout SECONDS     Give up when nothing arrives for this long at the start (default 10)
  --stall-after SECONDS Report "stalled" when packets stop for this long (default 2)
  --duration SECONDS    Stop after this long
  --packets N           Stop after N packets (of every stream, with several)
  --json                JSON lines on stdout even on a terminal
  --interval SECONDS    Statistics interval (default 1)
  --receive-buffer BYTES  Kernel socket receive buffer to ask for (default ${SOCKET_RECEIVE_BUFFER_BYTES}, capped by
                        net.core.rmem_max; 0 keeps the kernel default). Needs --allow-ffi, which
                        the client's permission set grants: Deno has no API for SO_RCVBUF

Transport stream output:
  --output FILE|-       Write the stream's MPEG-TS to FILE (created or truncated), or to stdout
                        with -: RTP payloads in sequence order within a 64-packet, 100 ms
                        reorder window (duplicates dropped, gaps left as they are), raw UDP as
                        received, e.g. --output - | ffplay -. With -, the statistics go to stderr
                        (a table on a terminal, else JSON lines). One stream only. A 4 MiB queue
                        bounds memory (a slower reader loses what does not fit, counted); a
                        reader that closes the pipe ends the run (exit as usual), a failed
                        write ends it with exit 5
  --no-ts               No MPEG-TS analysis (TR 101 290): RTP statistics only, less CPU
  --pids                On a terminal, show the PID table from the start (role, stream type,
                        packets, Mbit/s, CC errors, scrambled per PID); the p key shows or
                        hides it at any time (JSON lines carry the same in "ts":{"pids":[...]})

MPEG-TS (ETSI TR 101 290 limits, milliseconds):
  --pcr-interval-ms MS  2.3a: longest gap between PCRs (default ${TR101290.PCR_INTERVAL_MS}; DVB asks 40)
  --pat-interval-ms MS  1.3: longest gap between PATs (default ${TR101290.PAT_INTERVAL_MS})
  --pmt-interval-ms MS  1.5: longest gap between PMTs (default ${TR101290.PMT_INTERVAL_MS})

Monitoring:
  --metrics HOST:PORT   Serve GET /metrics (Prometheus text format), e.g. 127.0.0.1:9464
  --report              POST each stream's figures to the server it was negotiated with
                        (/streams/NAME/reports), never blocking reception
  --report-every SECONDS  Period of --report (default ${REPORTER_DEFAULTS.EVERY_S})
  --receiver-id ID      Id the reports carry (1-64 of A-Z a-z 0-9 . _ ~ : -; default a random
                        UUID)
  -h, --help            Show this help and exit
  -V, --version         Show the version and exit

Output (terminal): one stream: a table redrawn in place, fitted to the terminal's width, one row
per recent source with its state (ok, LOSS, STALLED, ended). Several streams: one row per stream
and SSRC with its state, unhealthy ones first. MPEG-TS streams get a health line under the table
("TS OK" or the failing TR 101 290 indicators), and with --pids (or after the p key) the PID
table. Loss and stalls in red unless NO_COLOR is set. Log lines stay above it. At exit the last
table shows how the run ended.

Output (JSON lines): one {"type":"stats",...} object per source per interval with the figures of
that interval, and at exit one {"type":"summary",...} per source with the run's totals (rates
averaged over the time the source was sending; "discarded": packets RFC 3550 A.1 did not count).
Every record names its "stream" and "transport" (rtp, or udp for raw MPEG-TS) and carries
"socketDrops"; MPEG-TS streams add a "ts" object. A stream that is left (--all) gets its summary
then.

Exit codes: 0 packets received (or SIGINT/SIGTERM during reception, or the --output reader
closed the pipe), 2 usage or configuration error, 3 negotiation failed (or a --sap session not
heard within --timeout), 4 nothing received before the timeout, 5 --output could not be written,
130 interrupted before reception started. With several streams or --all: 3 when a named stream
or the first catalog cannot be had; 4 when no stream received anything within --timeout of the
start (a stream still silent then is logged and watched on); else 0 when any stream received
packets. --discover: 0, or 2 when no SAP group can be joined.
`;
