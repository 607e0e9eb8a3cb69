// The web page's inline style and script (served under a hash-based Content-Security-Policy, see
// web_page.ts): the script refreshes the catalog and receiver health from the JSON endpoints,
// building every element with textContent so that no catalog string is ever parsed as HTML.

/** How often the page refreshes, ms. */
export const PAGE_REFRESH_MS = 5000;

/** What the formats column says for a raw-UDP stream (MPEG-TS without RTP). */
export const RAW_UDP_LABEL = "MPEG-TS over UDP (no RTP)";

/** The page's style sheet (no external assets). */
export const PAGE_STYLE = `
:root { color-scheme: light dark; --ok: #1a7f37; --warn: #b35900; --bad: #c62828; --muted: #6b7280;
  --line: #d0d7de; --stripe: rgba(127, 127, 127, 0.07); --accent: #0a58ca; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
header { display: flex; flex-wrap: wrap; align-items: baseline; gap: 0.5rem 1.5rem;
  padding: 0.9rem 1.5rem; border-bottom: 1px solid var(--line); }
header h1 { font-size: 1.15rem; margin: 0; }
header nav a { margin-right: 1rem; }
main { padding: 0.5rem 1.5rem 2rem; }
h2 { font-size: 1rem; margin: 1.25rem 0 0.5rem; }
a { color: var(--accent); }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 0.35rem 0.6rem; border-bottom: 1px solid var(--line);
  vertical-align: top; }
th { font-weight: 600; white-space: nowrap; }
#streams tr:nth-child(4n+3), #streams tr:nth-child(4n+4), #receivers tr:nth-child(even) {
  background: var(--stripe); }
tr.stream td { border-bottom: none; }
tr.command-row td { padding-top: 0; }
td.formats, td.address { white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
code, input.command { font: 12px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
input.command { width: 34rem; max-width: 70%; padding: 0.2rem 0.3rem; border: 1px solid var(--line);
  border-radius: 4px; background: transparent; color: inherit; }
button { font: inherit; padding: 0.15rem 0.6rem; border: 1px solid var(--line); border-radius: 4px;
  background: transparent; color: inherit; cursor: pointer; }
.name { font-weight: 600; }
.category { display: inline-block; margin-left: 0.4rem; padding: 0 0.4rem; border-radius: 999px;
  border: 1px solid var(--line); color: var(--muted); font-size: 12px; }
.muted { color: var(--muted); }
.ok { color: var(--ok); } .warn { color: var(--warn); } .bad { color: var(--bad); font-weight: 600; }
#status { color: var(--muted); }
#error { color: var(--bad); }
#auth { margin: 1rem 0; padding: 0.75rem 1rem; border: 1px solid var(--warn); border-radius: 6px; }
#auth input { padding: 0.2rem 0.4rem; }
`;

/** The page's script: reads `/streams` and `/streams/{name}/receivers` every PAGE_REFRESH_MS. */
export const PAGE_SCRIPT = `
"use strict";
(() => {
  const REFRESH_MS = ${PAGE_REFRESH_MS};
  const TOKEN_KEY = "rtp-multicast-gateway.token";
  const $ = (id) => document.getElementById(id);
  let token = sessionStorage.getItem(TOKEN_KEY) ?? "";
  let timer;

  function el(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }

  class HttpError extends Error {
    constructor(status, path) {
      super(path + ": HTTP " + status);
      this.status = status;
    }
  }

  async function getJson(path) {
    const headers = { accept: "application/json" };
    if (token !== "") headers.authorization = "Bearer " + token;
    const response = await fetch(path, { headers, cache: "no-store" });
    if (response.status === 404) return null;
    if (!response.ok) throw new HttpError(response.status, path);
    return await response.json();
  }

  const shellWord = (w) => /^[A-Za-z0-9._\\/:@%+=-]+$/.test(w) ? w : "'" + w.replaceAll("'", "'\\\\''") + "'";
  const clientCommand = (name) =>
    "deno task client -- --server " + shellWord(location.origin) + " --stream " + shellWord(name);
  const sdpPath = (name) => "/streams/" + encodeURIComponent(name) + ".sdp";
  const formatText = (f) =>
    f.payloadType + " " + f.encoding + "/" + f.clockRate + (f.channels ? "/" + f.channels : "");
  const formatsOf = (stream) => stream.transport === "udp"
    ? ${JSON.stringify(RAW_UDP_LABEL)}
    : (stream.formats ?? []).map(formatText).join(", ");
  const percent = (fraction) => (100 * fraction).toFixed(fraction > 0 && fraction < 0.001 ? 3 : 2) + " %";

  function tsErrors(ts) {
    if (!ts || typeof ts !== "object") return undefined;
    let sum = 0;
    for (const [key, value] of Object.entries(ts)) {
      if (/errors$/i.test(key) && typeof value === "number") sum += value;
    }
    return sum;
  }

  function health(receivers) {
    const h = { reporting: receivers.length, receiving: 0, withLoss: 0, worstLoss: 0, worstJitter: 0, tsErrors: undefined };
    for (const r of receivers) {
      if (r.state === "receiving") h.receiving++;
      const fraction = Number(r.fractionLost) || 0;
      if ((Number(r.lost) || 0) > 0 || fraction > 0) h.withLoss++;
      h.worstLoss = Math.max(h.worstLoss, fraction);
      h.worstJitter = Math.max(h.worstJitter, Number(r.jitterMs) || 0);
      const errors = tsErrors(r.ts);
      if (errors !== undefined) h.tsErrors = (h.tsErrors ?? 0) + errors;
    }
    return h;
  }

  function copyButton(input) {
    const button = el("button", "Copy");
    button.type = "button";
    button.addEventListener("click", async () => {
      input.select();
      try {
        await navigator.clipboard.writeText(input.value);
      } catch {
        document.execCommand("copy");
      }
      button.textContent = "Copied";
      setTimeout(() => (button.textContent = "Copy"), 1500);
    });
    return button;
  }

  function streamRow(stream, receivers) {
    const row = el("tr", undefined, "stream");
    row.dataset.stream = stream.name;
    const name = el("td");
    const link = el("a", stream.name, "name");
    link.href = sdpPath(stream.name);
    name.append(link);
    const description = el("td", stream.description);
    if (stream.category) description.append(el("span", stream.category, "category"));
    if (stream.origin === "sap") description.append(el("span", "SAP", "category"));
    row.append(name, description, el("td", stream.address, "address"), el("td", stream.port, "num"),
      el("td", formatsOf(stream), "formats"),
      el("td", stream.source ?? "", "muted address"));
    if (receivers === LOCKED) {
      const none = el("td", "reports need the token", "muted");
      none.colSpan = 5;
      row.append(none);
    } else if (receivers === null) {
      const none = el("td", "no reports", "muted");
      none.colSpan = 5;
      row.append(none);
    } else {
      const h = health(receivers);
      row.append(
        el("td", h.receiving + " / " + h.reporting, "num " + (h.receiving < h.reporting ? "bad" : h.reporting ? "ok" : "muted")),
        el("td", h.withLoss, "num " + (h.withLoss > 0 ? "warn" : "")),
        el("td", h.reporting ? percent(h.worstLoss) : "–", "num " + (h.worstLoss > 0.01 ? "bad" : h.worstLoss > 0 ? "warn" : "")),
        el("td", h.reporting ? h.worstJitter.toFixed(1) + " ms" : "–", "num"),
        el("td", h.tsErrors ?? "–", "num " + (h.tsErrors ? "bad" : "")));
    }
    const commandRow = el("tr", undefined, "command-row");
    commandRow.dataset.commandFor = stream.name;
    const command = el("td");
    command.colSpan = 11;
    const input = el("input", undefined, "command");
    input.readOnly = true;
    input.defaultValue = clientCommand(stream.name);
    input.setAttribute("aria-label", "Client command for " + stream.name);
    command.append(el("span", "Client: ", "muted"), input, " ", copyButton(input));
    commandRow.append(command);
    return [row, commandRow];
  }

  function receiverRow(stream, r) {
    const row = el("tr");
    row.dataset.receiver = String(r.id);
    const ageS = r.lastReportAt ? Math.max(0, (Date.now() - Date.parse(r.lastReportAt)) / 1000) : NaN;
    const errors = tsErrors(r.ts);
    row.append(el("td", stream), el("td", r.id), el("td", r.address),
      el("td", r.state, r.state === "receiving" ? "ok" : "bad"),
      el("td", r.packets, "num"), el("td", r.lost, "num" + (r.lost > 0 ? " warn" : "")),
      el("td", percent(Number(r.fractionLost) || 0), "num"),
      el("td", (Number(r.jitterMs) || 0).toFixed(1) + " ms", "num"),
      el("td", ((Number(r.bitrateBps) || 0) / 1e6).toFixed(2) + " Mbit/s", "num"),
      el("td", errors ?? "–", "num" + (errors ? " bad" : "")),
      el("td", Number.isFinite(ageS) ? ageS.toFixed(0) + " s ago" : "", "num muted"));
    return row;
  }

  /** A receivers list the server refused without the token (it shows client addresses). */
  const LOCKED = Symbol("locked");

  async function refresh() {
    clearTimeout(timer);
    try {
      const catalog = await getJson("/streams");
      if (catalog === null) throw new Error("/streams: not found");
      const streams = Array.isArray(catalog.streams) ? catalog.streams : [];
      const reports = await Promise.all(streams.map((s) =>
        getJson("/streams/" + encodeURIComponent(s.name) + "/receivers").catch((error) =>
          error instanceof HttpError && error.status === 401 ? LOCKED : null
        )
      ));
      const locked = reports.includes(LOCKED);
      const streamRows = [];
      const receiverRows = [];
      let collected = false;
      streams.forEach((stream, i) => {
        const report = reports[i];
        const list = report === null || report === LOCKED ? report
          : Array.isArray(report.receivers) ? report.receivers : [];
        if (list !== null) collected = true;
        streamRows.push(...streamRow(stream, list));
        if (Array.isArray(list)) for (const r of list) receiverRows.push(receiverRow(stream.name, r));
      });
      // The catalog is open but the receivers need the token: offer the form for them.
      $("auth").hidden = !locked;
      $("auth-label").textContent = locked
        ? "Receiver reports need this server's bearer token:"
        : "This server needs its bearer token to show the catalog:";
      $("streams").replaceChildren(...streamRows);
      $("receivers").replaceChildren(...receiverRows);
      $("no-receivers").hidden = receiverRows.length > 0;
      $("no-receivers").textContent = locked ? "Enter the token to see the receivers."
        : collected ? "No receiver has reported yet." : "This server does not collect receiver reports.";
      $("status").textContent = "Updated " + new Date().toLocaleTimeString() + " · " + streams.length +
        (streams.length === 1 ? " stream" : " streams") + " · " + receiverRows.length +
        (receiverRows.length === 1 ? " receiver" : " receivers");
      $("error").textContent = "";
    } catch (error) {
      if (error instanceof HttpError && error.status === 401) {
        $("auth").hidden = false;
        $("auth-label").textContent = "This server needs its bearer token to show the catalog:";
        $("error").textContent = token === "" ? "" : "The token was refused.";
      } else {
        $("error").textContent = "Cannot refresh: " + (error && error.message ? error.message : String(error));
      }
    }
    timer = setTimeout(refresh, REFRESH_MS);
  }

  $("auth").addEventListener("submit", (event) => {
    event.preventDefault();
    token = $("token").value.trim();
    sessionStorage.setItem(TOKEN_KEY, token);
    refresh();
  });
  refresh();
})();
`;
