// The one-line health summary of a transport stream (ETSI TR 101 290 §5.2.1/§5.2.2): "TS OK", or the
// failing indicators with their counts, for the client's terminal view under the RTP table.

import { type IndicatorKey, TR101290_INDICATORS } from "./tr101290.ts";
import type { TsSnapshot } from "./ts_report.ts";

/** What the health line reads: the indicator counts and the upstream continuity errors. */
export type TsHealthFigures = Pick<TsSnapshot, IndicatorKey | "ccErrorsWithoutRtpLoss">;

/**
 * `TS OK` when no counted TR 101 290 indicator is above zero in `snapshot`, else `TS` and each
 * failing one as `id name count`, in section order, e.g. `TS 1.3 PAT 2, 1.4 CC 5 (3 upstream)`.
 * The upstream note gives ccErrorsWithoutRtpLoss when some continuity errors were not network loss.
 */
export function formatTsHealth(snapshot: TsHealthFigures): string {
  const failing: string[] = [];
  for (const indicator of TR101290_INDICATORS) {
    const count = snapshot[indicator.key];
    if (count === 0) continue;
    let text = `${indicator.id} ${indicator.short} ${count}`;
    const upstream = snapshot.ccErrorsWithoutRtpLoss;
    if (indicator.key === "ccErrors" && upstream !== null && upstream > 0) {
      text += ` (${upstream} upstream)`;
    }
    failing.push(text);
  }
  return failing.length === 0 ? "TS OK" : `TS ${failing.join(", ")}`;
}
