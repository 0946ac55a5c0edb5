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
} as const;

/** Metrics the controller knows without a MetricTemplate. */
export const BUILTIN_METRICS = ["request-success-rate", "request-duration"] as const;
