// The analysis part of a Rollout's spec on the wire: the interval and threshold, the metric
// checks (built-in, judged or from a MetricTemplate) and the webhooks, defaults applied.
import type {
  AnalysisSpec,
  JudgeMargin,
  MetricCheck,
  RelativeBounds,
  WebhookSpec,
} from "../domain/rollout.js";
import { WEBHOOK_TYPES } from "../domain/rollout.js";
import type { BuiltinMetric } from "./defaults.js";
import { BUILTIN_METRICS, ROLLOUT_DEFAULTS as D } from "./defaults.js";
import type { Field } from "./field.js";
import { readObjectRef, uniqueNames } from "./field.js";

export function readAnalysis(a: Field): AnalysisSpec {
  if (!a.absent) a.object();
  const interval = a.at("interval");
  const intervalMs = interval.duration(D.analysisInterval);
  if (intervalMs < 1000) interval.fail("must be at least 1s");
  const minRequests = a.at("minRequests").optional((f) => f.int({ min: 1, max: 1_000_000_000 }));
  const level = (f: Field) => f.number({ min: 1e-9, max: 0.5 });
  const alpha = a.at("alpha").optional(level);
  const passAlpha = a.at("passAlpha").optional(level);
  return {
    intervalMs,
    threshold: a.at("threshold").int({ min: 1, max: 100, default: D.threshold }),
    metrics: uniqueNames(a.at("metrics"), "metric", 16).map(readMetric),
    webhooks: uniqueNames(a.at("webhooks"), "webhook", 16).map(readWebhook),
    ...(minRequests === undefined ? {} : { minRequests }),
    ...(alpha === undefined ? {} : { alpha }),
    ...(passAlpha === undefined ? {} : { passAlpha }),
  };
}

function readMetric(m: Field): MetricCheck {
  const name = m.at("name").string();
  const templateRef = m.at("templateRef").optional(readObjectRef);
  if (templateRef === undefined && !(BUILTIN_METRICS as readonly string[]).includes(name)) {
    m.fail(
      `metric '${name}' has no templateRef, so it must be a built-in: ${BUILTIN_METRICS.join(" or ")}`,
    );
  }
  const relativeToPrimary = m.at("relativeToPrimary").optional(readRelative);
  const range = m.at("thresholdRange");
  const threshold = !range.absent || relativeToPrimary !== undefined;
  const increase = m.at("maxIncrease");
  if (!increase.absent && (threshold || templateRef !== undefined)) {
    increase.fail(
      "maxIncrease is the sequential judge's margin, for a built-in check without thresholdRange or relativeToPrimary",
    );
  }
  if (!threshold && templateRef !== undefined) {
    range.fail("required unless relativeToPrimary is set");
  }
  const judge =
    threshold || templateRef !== undefined
      ? undefined
      : { margin: readMargin(increase, name as BuiltinMetric) };
  const min = range.at("min").optional((f) => f.number());
  const max = range.at("max").optional((f) => f.number());
  if (!range.absent && min === undefined && max === undefined) {
    range.object().fail("thresholdRange needs min, max or both");
  }
  if (min !== undefined && max !== undefined && min > max) {
    range.fail(`thresholdRange.min (${min}) must not exceed thresholdRange.max (${max})`);
  }
  const intervalMs = m.at("interval").optional((f) => f.duration());
  const templateVariables = m.at("templateVariables").stringMap();
  return {
    name,
    ...(intervalMs === undefined ? {} : { intervalMs }),
    ...(min === undefined ? {} : { min }),
    ...(max === undefined ? {} : { max }),
    ...(relativeToPrimary === undefined ? {} : { relativeToPrimary }),
    ...(templateRef === undefined ? {} : { templateRef }),
    ...(templateVariables === undefined ? {} : { templateVariables }),
    ...(judge === undefined ? {} : { judge }),
  };
}

const MARGIN = /^([0-9]+(?:[.][0-9]+)?)(%|ms|x)$/;

/**
 * `maxIncrease`: for request-success-rate points of error rate ("0.5%") or a ratio ("1.5x"); for
 * request-duration milliseconds ("20ms") or percent ("10%").
 */
function readMargin(f: Field, metric: BuiltinMetric): JudgeMargin {
  const errors = metric === "request-success-rate";
  const text = f.absent ? (errors ? D.judgeErrorMargin : D.judgeLatencyMargin) : f.string();
  const m = MARGIN.exec(text.trim());
  const value = Number(m?.[1]);
  const unit = m?.[2];
  if (errors && unit === "%" && value > 0 && value <= 100) return { kind: "points", points: value };
  if (errors && unit === "x" && value > 1) return { kind: "ratio", ratio: value };
  if (!errors && unit === "ms" && value > 0) return { kind: "ms", ms: value };
  if (!errors && unit === "%" && value > 0) return { kind: "percent", percent: value };
  return f.fail(
    errors
      ? `${JSON.stringify(text)} is not a margin for error rates: points of error rate ("0.5%", more than 0 and at most 100) or a ratio above 1 ("1.5x")`
      : `${JSON.stringify(text)} is not a margin for latency: milliseconds ("20ms") or percent ("10%"), more than 0`,
  );
}

function readRelative(r: Field): RelativeBounds {
  const points = r
    .object()
    .at("maxDecreasePoints")
    .optional((f) => f.number({ min: 0 }));
  const percent = r.at("maxIncreasePercent").optional((f) => f.number({ min: 0 }));
  if (points === undefined && percent === undefined) {
    r.fail("relativeToPrimary needs maxDecreasePoints, maxIncreasePercent or both");
  }
  return {
    ...(points === undefined ? {} : { maxDecreasePoints: points }),
    ...(percent === undefined ? {} : { maxIncreasePercent: percent }),
  };
}

function readWebhook(w: Field): WebhookSpec {
  const type = w.at("type").oneOf(WEBHOOK_TYPES, D.webhookType);
  const url = w.at("url").string();
  if (!isHttpUrl(url)) {
    w.at("url").fail(`${JSON.stringify(url)} is not an absolute http or https URL`);
  }
  const deadlineMs = w.at("deadline").optional((d) => d.duration());
  if (deadlineMs !== undefined && !type.startsWith("confirm-")) {
    w.at("deadline").fail(
      "deadline applies only to the confirm-rollout, confirm-traffic-increase and confirm-promotion gates",
    );
  }
  const metadata = w.at("metadata").stringMap();
  return {
    name: w.at("name").string(),
    type,
    url,
    timeoutMs: w.at("timeout").duration(D.webhookTimeout),
    retries: w.at("retries").int({ min: 0, max: 10, default: D.webhookRetries }),
    ...(metadata === undefined ? {} : { metadata }),
    ...(deadlineMs === undefined ? {} : { deadlineMs }),
  };
}

function isHttpUrl(s: string): boolean {
  try {
    const { protocol } = new URL(s);
    return protocol === "http:" || protocol === "https:";
  } catch {
    return false;
  }
}
