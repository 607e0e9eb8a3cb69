// Tests lib/server/web_page.ts: the HTML is parsed with parse5 (the WHATWG parser jsdom uses) to
// check escaping and that the CSP hashes match the inline script and style; then headless Chromium
// loads the page from a real Deno.serve with canned JSON, runs its script under the CSP, and the DOM
// it leaves shows every stream and receiver, the hostile names as text; a screenshot is saved.
import assert from "node:assert/strict";
import { type DefaultTreeAdapterMap, parse } from "parse5";
import { buildPlaylist, PLAYLIST_HEADERS } from "../../lib/server/playlist.ts";
import {
  escapeHtml,
  renderWebPage,
  WEB_PAGE_CSP,
  WEB_PAGE_HEADERS,
} from "../../lib/server/web_page.ts";
import type { CatalogEntry, StreamDefinition } from "../../lib/sdp/stream.ts";
import { runChromium } from "../support/chromium.ts";
import { peerTest } from "../support/peer_requirements.ts";

type Node = DefaultTreeAdapterMap["node"];
type Element = DefaultTreeAdapterMap["element"];

const XSS = "<img src=x onerror=alert(1)>";
const MP2T = { payloadType: 33, encoding: "MP2T", clockRate: 90000 } as const;

const STREAMS: StreamDefinition[] = [
  {
    name: "news",
    description: "News channel, MPEG-TS from VLC",
    address: "239.0.0.1",
    port: 5004,
    ttl: 16,
    formats: [MP2T],
    category: "tv.news",
  },
  {
    name: "camera",
    description: "Lobby camera",
    address: "232.1.1.1",
    port: 5006,
    ttl: 1,
    source: "192.0.2.10",
    formats: [{ payloadType: 96, encoding: "H264", clockRate: 90000 }],
  },
  {
    name: "radio",
    description: "Opus radio",
    address: "ff15::1:5",
    port: 5008,
    ttl: 1,
    formats: [{ payloadType: 97, encoding: "opus", clockRate: 48000, channels: 2 }],
  },
  {
    name: XSS,
    description: `<script>alert("description")</script> & "quotes"`,
    address: "239.255.0.9",
    port: 5010,
    ttl: 1,
    formats: [MP2T],
    category: `<b onmouseover=alert(2)>cat</b>`,
  },
];

const ENTRIES: CatalogEntry[] = STREAMS.map((stream, i) => ({
  stream,
  sessionId: String(1000 + i),
  version: 1_700_000_000,
}));

const NOW = new Date().toISOString();
const RECEIVERS: Record<string, unknown> = {
  news: {
    receivers: [
      {
        id: "rx-lobby",
        address: "192.0.2.21",
        lastReportAt: NOW,
        state: "receiving",
        packets: 950,
        lost: 0,
        fractionLost: 0,
        jitterMs: 1.25,
        bitrateBps: 2_000_000,
        ts: { continuityErrors: 0, patErrors: 0 },
        total: { packets: 95_000, lost: 0, duplicates: 0, stalls: 0 },
      },
      {
        id: "rx-office",
        address: "192.0.2.22",
        lastReportAt: NOW,
        state: "receiving",
        packets: 926,
        lost: 24,
        fractionLost: 0.025,
        jitterMs: 3.2,
        bitrateBps: 1_950_000,
        ts: { continuityErrors: 3, patErrors: 0, pcrRepetitionErrors: 1 },
        total: { packets: 92_600, lost: 240, duplicates: 1, stalls: 0 },
      },
    ],
  },
  camera: { receivers: [] },
  // "radio": 404, as a server without receiver reports answers.
  [XSS]: {
    receivers: [{
      id: "<b>bold-receiver</b>",
      address: "198.51.100.7",
      lastReportAt: NOW,
      state: "stalled",
      packets: 0,
      lost: 0,
      fractionLost: 0,
      jitterMs: 0,
      bitrateBps: 0,
      total: { packets: 10, lost: 0, duplicates: 0, stalls: 1 },
    }],
  },
};

/** The JSON `GET /streams` serves (lib/server/http_app.ts catalogJson). */
function catalogJson() {
  return {
    defaultStream: "news",
    streams: ENTRIES.map(({ stream, version }) => ({
      ...stream,
      version,
      sdp: `/streams/${encodeURIComponent(stream.name)}.sdp`,
      offer: `/streams/${encodeURIComponent(stream.name)}/offer`,
    })),
  };
}

/** A tiny stand-in for the server's routes: the page, the playlist, canned JSON. */
function startPageServer(options: { token?: string } = {}) {
  const requests: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
    const url = new URL(request.url);
    requests.push(url.pathname);
    const authorized = options.token === undefined ||
      request.headers.get("authorization") === `Bearer ${options.token}`;
    if (url.pathname === "/") {
      return new Response(
        renderWebPage({
          ...(options.token === undefined ? { entries: ENTRIES } : {}),
          origin: url.origin,
        }),
        { headers: WEB_PAGE_HEADERS },
      );
    }
    if (!authorized) return new Response("{}", { status: 401 });
    if (url.pathname === "/streams") return Response.json(catalogJson());
    if (url.pathname === "/playlist.m3u") {
      return new Response(buildPlaylist(STREAMS), { headers: PLAYLIST_HEADERS });
    }
    const match = /^\/streams\/([^/]+)\/receivers$/.exec(url.pathname);
    const body = match === null ? undefined : RECEIVERS[decodeURIComponent(match[1]!)];
    if (body !== undefined) return Response.json(body);
    return Response.json({ title: "Not Found" }, { status: 404 });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    requests,
    async [Symbol.asyncDispose]() {
      await server.shutdown();
    },
  };
}

function* walk(node: Node): Generator<Node> {
  yield node;
  const children = "childNodes" in node ? node.childNodes : [];
  for (const child of children) yield* walk(child);
  if (node.nodeName === "template") yield* walk((node as Element & { content: Node }).content);
}

const elements = (root: Node, tag: string) =>
  [...walk(root)].filter((n): n is Element => "tagName" in n && n.tagName === tag);
const attr = (e: Element, name: string) => e.attrs.find((a) => a.name === name)?.value;
function text(node: Node): string {
  if (node.nodeName === "#text") return (node as DefaultTreeAdapterMap["textNode"]).value;
  return ("childNodes" in node ? node.childNodes : []).map(text).join("");
}
const byId = (root: Node, id: string) =>
  [...walk(root)].find((n): n is Element => "tagName" in n && attr(n, "id") === id);

/** The stream rows (each is followed by its command row). */
const streamRows = (doc: Node) =>
  elements(byId(doc, "streams")!, "tr").filter((r) => attr(r, "data-stream") !== undefined);
/** The client command shown under a stream. */
function commandOf(doc: Node, name: string): string | undefined {
  const row = elements(byId(doc, "streams")!, "tr").find((r) =>
    attr(r, "data-command-for") === name
  );
  return row === undefined ? undefined : attr(elements(row, "input")[0]!, "value");
}

async function sha256Base64(textValue: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(textValue));
  return btoa(String.fromCharCode(...new Uint8Array(digest)));
}

Deno.test("renderWebPage() escapes every catalog string: the hostile name is text, not an element", () => {
  const html = renderWebPage({ entries: ENTRIES, origin: "http://127.0.0.1:8080" });
  const doc = parse(html);
  assert.deepEqual(elements(doc, "img"), []);
  assert.deepEqual(elements(doc, "b"), []);
  assert.equal(elements(doc, "script").length, 1);
  const rows = streamRows(doc);
  assert.deepEqual(rows.map((r) => attr(r, "data-stream")), STREAMS.map((s) => s.name));
  const xss = rows[3]!;
  const link = elements(xss, "a")[0]!;
  assert.equal(text(link), XSS);
  assert.equal(attr(link, "href"), `/streams/${encodeURIComponent(XSS)}.sdp`);
  const cells = elements(xss, "td").map(text);
  assert.equal(cells[1], `${STREAMS[3]!.description} ${STREAMS[3]!.category}`);
  const command = commandOf(doc, XSS);
  assert.equal(
    command,
    `deno task client -- --server http://127.0.0.1:8080 --stream '${XSS}'`,
  );
  assert.equal(escapeHtml(`<a href="x">'&`), "&#60;a href=&#34;x&#34;&#62;&#39;&#38;");
});

Deno.test("renderWebPage() lists name, description, group, port, formats, source and the .sdp link", () => {
  const doc = parse(renderWebPage({ entries: ENTRIES }));
  const rows = streamRows(doc);
  const camera = elements(rows[1]!, "td").map(text);
  assert.deepEqual(camera.slice(0, 6), [
    "camera",
    "Lobby camera",
    "232.1.1.1",
    "5006",
    "96 H264/90000",
    "192.0.2.10",
  ]);
  assert.equal(elements(rows[2]!, "td").map(text)[4], "97 opus/48000/2");
  const links = elements(doc, "a").map((a) => attr(a, "href"));
  assert.ok(links.includes("/playlist.m3u"));
  assert.ok(links.includes("/streams"));
  assert.ok(links.includes("/streams/news.sdp"));
});

Deno.test("renderWebPage() without entries (reads protected) shows no catalog and keeps the token form", () => {
  const doc = parse(renderWebPage());
  assert.deepEqual(elements(byId(doc, "streams")!, "tr"), []);
  assert.equal(attr(byId(doc, "auth")!, "hidden"), "");
});

Deno.test("WEB_PAGE_CSP allows exactly the page's inline script and style, by hash", async () => {
  const doc = parse(renderWebPage({ entries: ENTRIES }));
  const script = text(elements(doc, "script")[0]!);
  const style = text(elements(doc, "style")[0]!);
  const directives = new Map(
    WEB_PAGE_CSP.split(";").map((d) => d.trim().split(/\s+/)).map(([k, ...v]) => [k!, v]),
  );
  assert.deepEqual(directives.get("default-src"), ["'none'"]);
  assert.deepEqual(directives.get("script-src"), [`'sha256-${await sha256Base64(script)}'`]);
  assert.deepEqual(directives.get("style-src"), [`'sha256-${await sha256Base64(style)}'`]);
  assert.deepEqual(directives.get("connect-src"), ["'self'"]);
  assert.deepEqual(directives.get("frame-ancestors"), ["'none'"]);
  assert.doesNotMatch(WEB_PAGE_CSP, /unsafe/);
  assert.equal(WEB_PAGE_HEADERS["content-security-policy"], WEB_PAGE_CSP);
  assert.equal(WEB_PAGE_HEADERS["content-type"], "text/html; charset=utf-8");
  assert.equal(WEB_PAGE_HEADERS["x-content-type-options"], "nosniff");
  // No external asset: nothing with src, no stylesheet link.
  assert.deepEqual([...walk(doc)].filter((n) => "attrs" in n && attr(n as Element, "src")), []);
  assert.deepEqual(elements(doc, "link"), []);
  // No inline event handler attribute (the CSP would block it anyway).
  assert.deepEqual(
    [...walk(doc)].flatMap((n) => ("attrs" in n ? n.attrs : [])).filter((a) =>
      a.name.startsWith("on")
    ),
    [],
  );
});

/** Where screenshots go: GATEWAY_TEST_OUTPUT, else tmp/test-output/ in the repository (ignored by git). */
function outputDir(): string {
  const dir = Deno.env.get("GATEWAY_TEST_OUTPUT") ??
    new URL("../../tmp/test-output/", import.meta.url).pathname;
  Deno.mkdirSync(dir, { recursive: true });
  return dir.replace(/\/$/, "");
}

await peerTest({
  name:
    "Chromium runs the page under its CSP: every stream and receiver shows, hostile names as text",
  peers: ["chromium"],
  async fn() {
    await using server = startPageServer();
    const result = await runChromium(`${server.url}/`, { output: "dump", budgetMs: 3000 });
    assert.equal(result.code, 0);
    assert.deepEqual(result.console.filter((l) => /Content Security Policy|Refused/.test(l)), []);
    const doc = parse(result.dom);
    assert.deepEqual(elements(doc, "img"), [], "no <img> element was created");
    assert.deepEqual(elements(doc, "b"), [], "no <b> element was created");
    // The script ran (CSP hash accepted) and fetched everything.
    assert.ok(server.requests.includes("/streams"));
    for (const s of STREAMS) {
      assert.ok(
        server.requests.includes(`/streams/${encodeURIComponent(s.name)}/receivers`),
        s.name,
      );
    }
    const rows = new Map(streamRows(doc).map((r) => [attr(r, "data-stream"), r]));
    assert.deepEqual([...rows.keys()], STREAMS.map((s) => s.name));
    const cells = (name: string) => elements(rows.get(name)!, "td").map((c) => text(c).trim());
    // news: 2 receiving of 2, 1 with loss, worst 2.50 %, worst jitter 3.2 ms, 3 + 1 TS errors.
    assert.deepEqual(cells("news").slice(0, 11), [
      "news",
      "News channel, MPEG-TS from VLCtv.news",
      "239.0.0.1",
      "5004",
      "33 MP2T/90000",
      "",
      "2 / 2",
      "1",
      "2.50 %",
      "3.2 ms",
      "4",
    ]);
    assert.deepEqual(cells("camera").slice(5, 11), ["192.0.2.10", "0 / 0", "0", "–", "–", "–"]);
    assert.deepEqual(cells("radio").slice(6, 7), ["no reports"]);
    assert.equal(cells(XSS)[0], XSS);
    assert.equal(cells(XSS)[6], "0 / 1");
    assert.equal(
      commandOf(doc, "news"),
      `deno task client -- --server ${server.url} --stream news`,
    );
    assert.equal(
      commandOf(doc, XSS),
      `deno task client -- --server ${server.url} --stream '${XSS}'`,
    );
    const receivers = elements(byId(doc, "receivers")!, "tr").map((r) => ({
      id: attr(r, "data-receiver"),
      cells: elements(r, "td").map((c) => text(c)),
    }));
    assert.deepEqual(receivers.map((r) => r.id), ["rx-lobby", "rx-office", "<b>bold-receiver</b>"]);
    assert.deepEqual(receivers[1]!.cells.slice(0, 10), [
      "news",
      "rx-office",
      "192.0.2.22",
      "receiving",
      "926",
      "24",
      "2.50 %",
      "3.2 ms",
      "1.95 Mbit/s",
      "4",
    ]);
    assert.deepEqual(receivers[2]!.cells.slice(0, 4), [
      XSS,
      "<b>bold-receiver</b>",
      "198.51.100.7",
      "stalled",
    ]);
    assert.match(text(byId(doc, "status")!), /· 4 streams · 3 receivers$/);
    assert.equal(text(byId(doc, "error")!), "");
  },
});

await peerTest({
  name: "Chromium screenshot of the page is saved under the test output directory",
  peers: ["chromium"],
  async fn() {
    await using server = startPageServer();
    const path = `${outputDir()}/web_page.png`;
    await Deno.remove(path).catch(() => {});
    const result = await runChromium(`${server.url}/`, {
      output: { screenshot: path },
      budgetMs: 3000,
      width: 1400,
      height: 700,
    });
    assert.equal(result.code, 0);
    const png = await Deno.readFile(path);
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    assert.ok(png.length > 20_000, `${png.length} bytes`);
    console.log(`Screenshot: ${path}`);
  },
});

await peerTest({
  name:
    "with reads protected, Chromium shows the token form and no catalog until the token is given",
  peers: ["chromium"],
  async fn() {
    await using server = startPageServer({ token: "s3cret" });
    const result = await runChromium(`${server.url}/`, { output: "dump", budgetMs: 2000 });
    const doc = parse(result.dom);
    assert.equal(attr(byId(doc, "auth")!, "hidden"), undefined, "the token form is shown");
    assert.deepEqual(elements(byId(doc, "streams")!, "tr"), []);
    assert.equal(text(byId(doc, "error")!), "");
    assert.ok(server.requests.includes("/streams"));
  },
});
