// Tests of lib/client/discovery_table.ts: the `--discover` table (sessions sorted by name, category
// and description under each, ignored-packet counts, fitted to the width) and its JSON records.
import assert from "node:assert/strict";
import {
  announcementRecord,
  discoveryRecord,
  ignoredText,
  renderDiscovery,
} from "../../lib/client/discovery_table.ts";
import type { DirectorySession } from "../../lib/sap/directory.ts";
import type { ListenerSnapshot } from "../../lib/sap/listener.ts";
import { SAP_PROBLEMS } from "../../lib/sap/packet.ts";

const NOW = Date.parse("2026-12-01T12:00:00Z");

function session(fields: Partial<DirectorySession> & { name: string }): DirectorySession {
  return {
    description: "",
    identity: "- 1 IN IP4 10.0.0.1",
    version: "1",
    group: "239.255.0.1",
    port: 5004,
    transport: "rtp",
    formats: ["33 MP2T/90000"],
    payloadFormats: [],
    key: `10.0.0.1/${fields.name}`,
    hash: 1,
    origin: "10.0.0.1",
    sender: "10.0.0.1",
    heardOn: "239.255.255.255",
    sdp: "",
    firstHeardMs: NOW - 60_000,
    lastHeardMs: NOW - 3_000,
    announcements: 12,
    expiresMs: NOW + 50_000,
    ...fields,
  };
}

const ignored = Object.fromEntries(
  [...SAP_PROBLEMS, "tooManySessions", "foreignDeletion"].map((k) => [k, 0]),
) as ListenerSnapshot["counters"]["ignored"];

const SNAPSHOT: ListenerSnapshot = {
  sessions: [
    session({
      name: "zeta radio",
      description: "Music all day",
      category: "radio",
      group: "ff0e::1:2",
      port: 6000,
      formats: ["96 opus/48000/2"],
      origin: "fd00::7",
      lastHeardMs: NOW - 125_000,
    }),
    session({ name: "alpha", transport: "udp", formats: ["mpeg"], port: 1234 }),
  ],
  counters: {
    announcements: 30,
    deletions: 1,
    duplicates: 2,
    unmatchedDeletions: 0,
    expired: 0,
    ignored: { ...ignored, encrypted: 3, deflateBomb: 1 },
    datagrams: 40,
  },
  groups: ["224.2.127.254", "239.255.255.255"],
  failedGroups: [],
};

Deno.test("renderDiscovery() lists the sessions by name with their details and the ignored packets", () => {
  const text = renderDiscovery(SNAPSHOT, NOW, { columns: 79, elapsedS: 12, port: 9875 });
  assert.equal(
    text,
    [
      "SAP discovery (listening, 12 s) on 2 groups port 9875: 2 sessions",
      "packets 40, announcements 30, deletions 1, expired 0",
      "ignored: encrypted 3, deflateBomb 1",
      "NAME                GROUP:PORT            FORMATS        ORIGIN           HEARD",
      "alpha               239.255.0.1:1234      udp mpeg       10.0.0.1            3s",
      "zeta radio          [ff0e::1:2]:6000      96 opus/48000… fd00::7           2m5s",
      "  radio · Music all day",
      "",
    ].join("\n"),
  );
  const narrow = renderDiscovery(SNAPSHOT, NOW, {
    columns: 50,
    elapsedS: 1,
    port: 9875,
    final: true,
  });
  for (const line of narrow.trimEnd().split("\n")) assert.ok([...line].length <= 50, line);
  assert.match(narrow, /^SAP discovery \(ended, 1 s\)/);
  const empty = { ...SNAPSHOT, sessions: [], counters: { ...SNAPSHOT.counters, ignored } };
  const none = renderDiscovery(empty, NOW, { elapsedS: 0, port: 9875 });
  assert.match(none, /^ignored: none$/m);
  assert.match(none, /\(no announcement heard yet\)/);
  assert.equal(ignoredText(ignored), "none");
});

Deno.test("announcementRecord() and discoveryRecord() are the JSON lines of --discover", () => {
  const zeta = SNAPSHOT.sessions[0]!;
  const record = announcementRecord({ type: "new", session: zeta }, new Date(NOW));
  assert.deepEqual(record, {
    type: "announcement",
    time: "2026-12-01T12:00:00.000Z",
    event: "new",
    name: "zeta radio",
    description: "Music all day",
    category: "radio",
    tool: null,
    origin: "fd00::7",
    sender: "10.0.0.1",
    heardOn: "239.255.255.255",
    group: "ff0e::1:2",
    port: 6000,
    transport: "rtp",
    formats: ["96 opus/48000/2"],
    source: null,
    hash: 1,
    announcements: 12,
    intervalMs: null,
    lastHeard: "2026-12-01T11:57:55.000Z",
  });
  const summary = discoveryRecord(SNAPSHOT, new Date(NOW), true);
  assert.deepEqual(
    [summary.type, summary.final, summary.sessions, summary.datagrams, summary.duplicates],
    ["discovery", true, 2, 40, 2],
  );
  assert.equal((summary.ignored as Record<string, number>).encrypted, 3);
});
