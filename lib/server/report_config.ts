// The server's receiver-report settings: how many receivers it keeps per stream and in all, how long
// it keeps a silent one (lib/server/receiver_store.ts), and the per-address rate of reports; each
// checked with its origin so a bad value's error names its flag.
import { REPORT_HANDLER_DEFAULTS } from "./report_handlers.ts";
import { RECEIVER_STORE_DEFAULTS } from "./receiver_store.ts";
import { rateSetting } from "./security_config.ts";
import { integerSetting, type Sourced } from "./setting_origin.ts";

/** The report settings as given. */
export interface ReportSettings {
  readonly maxReceiversPerStream?: Sourced<string>;
  readonly maxReceivers?: Sourced<string>;
  readonly maxAge?: Sourced<string>;
  readonly rateLimit?: Sourced<string>;
}

/** The report part of the server's configuration. */
export interface ReportConfig {
  readonly maxReceiversPerStream: number;
  readonly maxReceivers: number;
  /** Seconds a receiver may stay silent before it is forgotten. */
  readonly maxAgeS: number;
  /** Reports per second per client address (sustained)... */
  readonly ratePerS: number;
  /** ...in bursts of this many. */
  readonly burst: number;
}

/** Burst of the report rate limit, in seconds of its rate (the defaults: 20/s in bursts of 100). */
const BURST_SECONDS = REPORT_HANDLER_DEFAULTS.RATE_BURST / REPORT_HANDLER_DEFAULTS.RATE_PER_S;

/** Checks the report settings (defaults: the store's and the handlers'); throws ConfigError. */
export function resolveReports(settings: ReportSettings): ReportConfig {
  const ratePerS = settings.rateLimit === undefined
    ? REPORT_HANDLER_DEFAULTS.RATE_PER_S
    : rateSetting(settings.rateLimit);
  return {
    maxReceiversPerStream: settings.maxReceiversPerStream === undefined
      ? RECEIVER_STORE_DEFAULTS.MAX_RECEIVERS_PER_STREAM
      : integerSetting(settings.maxReceiversPerStream, 1, 1_000_000),
    maxReceivers: settings.maxReceivers === undefined
      ? RECEIVER_STORE_DEFAULTS.MAX_RECEIVERS
      : integerSetting(settings.maxReceivers, 1, 10_000_000),
    maxAgeS: settings.maxAge === undefined
      ? RECEIVER_STORE_DEFAULTS.MAX_AGE_S
      : integerSetting(settings.maxAge, 1, 30 * 86_400),
    ratePerS,
    burst: Math.max(1, Math.round(ratePerS * BURST_SECONDS)),
  };
}
