// The defaults of the Rollout schema, applied again by the parser so that a spec the API server did
// not default (a manifest read from a file, an object stored before a default was added) means the
// same. test/unit/api/crd-defaults.test.ts checks that crds/rollouts.vireo.dev.yaml agrees.

export const ROLLOUT_DEFAULTS = {
  targetApiVersion: "apps/v1",
  portName: "http",
  retryOn: "5xx,reset,connect-failure",
  outlierConsecutive5xx: 5,
  outlierInterval: "10s",
  outlierBaseEjectionTime: "30s",
  outlierMaxEjectionPercent: 10,
  /** maxWeight of the stepWeight shorthand (not a schema default: it would clash with steps). */
  maxWeight: 100,
  mirrorPercent: 100,
  analysisInterval: "30s",
  threshold: 3,
  webhookType: "rollout",
  webhookTimeout: "10s",
  webhookRetries: 0,
  alertSeverity: "info",
  progressDeadlineSeconds: 600,
  skipAnalysis: false,
  suspend: false,
  revertOnDeletion: false,
  /** The sequential judge's margins when `maxIncrease` is left out (not schema defaults: each
   * depends on the metric). */
  judgeErrorMargin: "0.5%",
  judgeLatencyMargin: "20ms",
} as const;

/** Metrics the controller knows without a MetricTemplate. */
export const BUILTIN_METRICS = ["request-success-rate", "request-duration"] as const;

export type BuiltinMetric = (typeof BUILTIN_METRICS)[number];

/** The sequential judge's error levels when the spec leaves them out (docs/analysis.md). */
export const JUDGE_DEFAULTS = { alpha: 0.01, passAlpha: 0.05 } as const;
