// Summary of a V8 CPU profile (the Chrome DevTools Protocol `Profiler.Profile`, as a .cpuprofile
// file holds it): self time per function and per part of the program, top first.
// Used by scripts/bench/server_profile.ts; not a runnable script.

/** A call frame of a profile node (CDP Runtime.CallFrame). */
export interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  /** 0-based. */
  readonly lineNumber: number;
  readonly columnNumber: number;
}

/** A profile node (CDP Profiler.ProfileNode). */
export interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly hitCount?: number;
  readonly children?: readonly number[];
}

/** A CPU profile (CDP Profiler.Profile): times in µs. */
export interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  /** Node id of each sample. */
  readonly samples?: readonly number[];
  /** µs since the previous sample (the first: since startTime). */
  readonly timeDeltas?: readonly number[];
}

/** Self time of one function, or of one part of the program. */
export interface SelfTime {
  readonly name: string;
  readonly selfUs: number;
  /** Share of the busy (non-idle) time, 0-1. */
  readonly share: number;
}

/** What {@link summariseProfile} returns. */
export interface ProfileSummary {
  /** Sampled time, µs. */
  readonly totalUs: number;
  /** Time the thread was idle (waiting in the event loop), µs. */
  readonly idleUs: number;
  /** Functions by self time, largest first (idle left out). */
  readonly functions: readonly SelfTime[];
  /** Parts of the program ({@link areaOf}) by self time, largest first (idle left out). */
  readonly areas: readonly SelfTime[];
}

/**
 * The part of the program a frame belongs to: V8's own pseudo-frames (GC, native code outside any
 * JavaScript frame), Deno's HTTP layer, its fetch classes (Request, Response, Headers, bodies),
 * the rest of the runtime, LogTape, npm packages, and the project's own folders.
 */
export function areaOf(frame: CallFrame, root: string): string {
  const { functionName, url } = frame;
  if (url === "") {
    if (functionName === "(garbage collector)") return "V8 garbage collector";
    if (functionName === "(program)") return "native (Rust ops, V8 runtime)";
    if (functionName === "(idle)") return "idle";
    if (functionName === "(root)") return "native (Rust ops, V8 runtime)";
    return `V8 ${functionName}`;
  }
  if (url.startsWith("ext:deno_http/")) return "Deno HTTP layer (ext:deno_http)";
  if (url.startsWith("ext:deno_fetch/")) return "Request/Response/Headers (ext:deno_fetch)";
  if (url.startsWith("ext:")) return "Deno runtime (other ext:)";
  if (url.includes("/@logtape/")) return "LogTape";
  if (url.includes("/registry.npmjs.org/")) return "npm packages";
  const rel = url.startsWith(`file://${root}/`) ? url.slice(`file://${root}/`.length) : url;
  const folder = /^(lib\/[^/]+\/|scripts\/|tests\/)/.exec(rel)?.[1];
  if (folder !== undefined) return folder;
  return rel.includes("/") ? rel.slice(0, rel.lastIndexOf("/") + 1) : rel;
}

/** `name file:line` with the repository root and the npm cache path cut off. */
export function frameName(frame: CallFrame, root: string): string {
  const name = frame.functionName === "" ? "(anonymous)" : frame.functionName;
  if (frame.url === "") return name;
  let url = frame.url;
  if (url.startsWith(`file://${root}/`)) url = url.slice(`file://${root}/`.length);
  const npm = /\/registry\.npmjs\.org\/(.+)$/.exec(url);
  if (npm !== null) url = `npm:${npm[1]}`;
  return `${name} ${url}:${frame.lineNumber + 1}`;
}

function ranked(times: Map<string, number>, busyUs: number, top: number): SelfTime[] {
  return [...times]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, selfUs]) => ({ name, selfUs, share: busyUs > 0 ? selfUs / busyUs : 0 }));
}

/**
 * Self time per function and per area of `profile`. Each sample lasts until the next one (the last
 * until endTime); without samples, hitCount × the mean interval is used. Functions are keyed by
 * name and position, so the same function reached through different callers adds up.
 */
export function summariseProfile(
  profile: CpuProfile,
  options: { root: string; top?: number },
): ProfileSummary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfById = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  if (samples.length > 0 && deltas.length === samples.length) {
    let at = profile.startTime;
    const stamps = deltas.map((delta) => (at += delta));
    for (let i = 0; i < samples.length; i++) {
      const next = i + 1 < stamps.length ? stamps[i + 1]! : profile.endTime;
      const duration = Math.max(0, next - stamps[i]!);
      selfById.set(samples[i]!, (selfById.get(samples[i]!) ?? 0) + duration);
    }
  } else {
    const hits = profile.nodes.reduce((sum, node) => sum + (node.hitCount ?? 0), 0);
    const interval = hits > 0 ? (profile.endTime - profile.startTime) / hits : 0;
    for (const node of profile.nodes) selfById.set(node.id, (node.hitCount ?? 0) * interval);
  }
  const functions = new Map<string, number>();
  const areas = new Map<string, number>();
  let totalUs = 0;
  let idleUs = 0;
  for (const [id, us] of selfById) {
    const frame = byId.get(id)?.callFrame;
    if (frame === undefined) continue;
    totalUs += us;
    const area = areaOf(frame, options.root);
    if (area === "idle") {
      idleUs += us;
      continue;
    }
    const name = frameName(frame, options.root);
    functions.set(name, (functions.get(name) ?? 0) + us);
    areas.set(area, (areas.get(area) ?? 0) + us);
  }
  const busyUs = totalUs - idleUs;
  return {
    totalUs,
    idleUs,
    functions: ranked(functions, busyUs, options.top ?? 25),
    areas: ranked(areas, busyUs, Infinity),
  };
}
