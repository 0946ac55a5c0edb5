// One analysis of a canary: every metric check and every `rollout` webhook of a Rollout, run
// concurrently, each reported with its value, threshold and outcome. It judges and reports; what a
// failure, an error or no data means for the release is the planner's decision.
import { describeError } from "../common/errors.js";
import type { Logger } from "../common/logger.js";
import type { AnalysisSpec, MetricCheck, WebhookSpec } from "../domain/rollout.js";
import { BUILTIN_CHECKS, isBuiltinMetric, promDuration, requestCountQuery } from "./builtin.js";
import type { Source } from "./assess.js";
import { absoluteBounds, assess } from "./assess.js";
import type { AnalysisReport, CheckReport } from "./judge.js";
import { summarize } from "./judge.js";
import type {
  ProviderCredentials,
  ProviderSpec,
  ProviderType,
  TemplateRef,
  TemplateResolution,
} from "./metric-template.js";
import { providerOptions, renderQuery } from "./metric-template.js";
import type { MetricProvider, QueryOutcome } from "./prometheus.js";
import { PrometheusClient } from "./prometheus.js";
import type { WebhookRunner } from "./webhooks.js";
import type { CountSource } from "./counts.js";
import { PrometheusCounts } from "./counts.js";
import type { JudgeContext, JudgedRun } from "./sequential-checks.js";
import { isJudged, judgeConfig, runJudged } from "./sequential-checks.js";
import { emptyState } from "./sequential/run-state.js";

export interface AnalysisInput {
  readonly namespace: string;
  readonly rolloutName: string;
  /** The canary workload: the Rollout's target Deployment. */
  readonly targetName: string;
  /** `<target>-primary`. */
  readonly primaryName: string;
  /** The apex Service, for templates' `{{ service }}`. */
  readonly service: string;
  readonly spec: AnalysisSpec;
  /** The window of checks without an interval of their own: normally the analysis interval. */
  readonly windowMs: number;
  /** When to evaluate the queries (ms since the epoch). */
  readonly now: number;
  /** For the webhooks' payload: the Rollout's phase and the revision under release. */
  readonly phase: string;
  readonly revision: string;
  /** Reads a MetricTemplate and its Secret; a missing one is a value, not an exception. */
  readonly resolveTemplate: (ref: TemplateRef) => Promise<TemplateResolution>;
  /** For the checks the sequential judge makes: its state, the confirmed weight and the step. */
  readonly judge?: JudgeContext;
}

export interface AnalysisRunner {
  run(input: AnalysisInput): Promise<AnalysisReport>;
}

export interface AnalysisRunnerDeps {
  /** The Prometheus that scrapes vireo's proxies: built-in checks and request counts. */
  readonly prometheus: MetricProvider;
  readonly webhooks: WebhookRunner;
  /** A provider for a MetricTemplate's spec; by default a PrometheusClient. */
  readonly connect?: (provider: ProviderSpec, credentials: ProviderCredentials) => MetricProvider;
  /** The proxies' counters for the sequential judge (the app gives ProxyCounts); else `prometheus`. */
  readonly counts?: CountSource;
  readonly log?: Logger;
}

/** What the checks of one run share: request counts by window, templates by reference. */
interface RunMemo {
  readonly counts: Map<number, Promise<QueryOutcome>>;
  readonly templates: Map<string, Promise<TemplateResolution>>;
}

/** Template providers kept for their connections; more distinct ones than this start afresh. */
const MAX_PROVIDERS = 64;

export class MetricAnalysisRunner implements AnalysisRunner {
  private readonly providers = new Map<string, MetricProvider>();

  constructor(private readonly deps: AnalysisRunnerDeps) {}

  async run(input: AnalysisInput): Promise<AnalysisReport> {
    const memo: RunMemo = { counts: new Map(), templates: new Map() };
    const judged = input.spec.metrics.some(isJudged)
      ? this.judged(input).catch((err: unknown) => judgeFailed(input, describeError(err)))
      : undefined;
    const [others, sequential] = await Promise.all([
      Promise.all([
        ...input.spec.webhooks
          .filter((h) => h.type === "rollout")
          .map((h) => guard(h.name, "webhook", () => this.webhook(h, input))),
        ...input.spec.metrics
          .filter((m) => !isJudged(m))
          .map((m) => guard(m.name, "metric", () => this.metric(m, input, memo))),
      ]),
      judged,
    ]);
    // Every check in the Rollout's order: webhooks first, then metrics as listed.
    const byName = new Map((sequential?.reports ?? []).map((r) => [r.name, r]));
    const hooks = others.filter((c) => c.kind === "webhook");
    const metrics = others.filter((c) => c.kind === "metric");
    const checks = [
      ...hooks,
      ...input.spec.metrics.flatMap((m) => {
        const r = isJudged(m) ? byName.get(m.name) : metrics.find((c) => c.name === m.name);
        return r === undefined ? [] : [r];
      }),
    ];
    const { outcome } = summarize(others);
    const { message } = summarize(checks);
    this.deps.log?.debug("analysis ran", { outcome, message, judge: sequential?.outcome.decision });
    return {
      at: input.now,
      outcome,
      message,
      checks,
      ...(sequential === undefined ? {} : { sequential: sequential.outcome }),
    };
  }

  /** The checks the sequential judge makes, all at once: they share one e-process. */
  private async judged(input: AnalysisInput): Promise<JudgedRun> {
    const context = input.judge;
    if (context === undefined) {
      throw new Error("the sequential judge needs the run's state, weight and step (a bug)");
    }
    const source = this.deps.counts ?? new PrometheusCounts(this.deps.prometheus);
    return runJudged(source, {
      spec: input.spec,
      revision: input.revision,
      canary: { namespace: input.namespace, workload: input.targetName },
      primary: { namespace: input.namespace, workload: input.primaryName },
      now: input.now,
      context,
    });
  }

  private async webhook(h: WebhookSpec, input: AnalysisInput): Promise<CheckReport> {
    const ctx = {
      name: input.rolloutName,
      namespace: input.namespace,
      phase: input.phase,
      checksum: input.revision,
    };
    const out = await this.deps.webhooks.call([h], "rollout", ctx);
    const detail = out.details.join("; ");
    return {
      name: h.name,
      kind: "webhook",
      threshold: {},
      outcome: out.ok ? "pass" : "fail",
      message: `webhook ${detail}`,
    };
  }

  private async metric(
    check: MetricCheck,
    input: AnalysisInput,
    memo: RunMemo,
  ): Promise<CheckReport> {
    const windowMs = check.intervalMs ?? input.windowMs;
    const source = await this.source(check, input, windowMs, memo);
    if (typeof source === "string") {
      return {
        name: check.name,
        kind: "metric",
        threshold: absoluteBounds(check),
        outcome: "error",
        message: `${check.name}: ${source}`,
      };
    }
    const min = input.spec.minRequests;
    const [count, canary, primary] = await Promise.all([
      min === undefined ? undefined : this.count(input, windowMs, memo),
      source.provider.query(source.canary, input.now),
      source.primary === undefined ? undefined : source.provider.query(source.primary, input.now),
    ]);
    const scope = {
      namespace: input.namespace,
      targetName: input.targetName,
      primaryName: input.primaryName,
      windowMs,
      minRequests: min,
    };
    return assess(check, scope, source, { count, canary, primary });
  }

  /** The check's rendered queries, or why there are none. */
  private async source(
    check: MetricCheck,
    input: AnalysisInput,
    windowMs: number,
    memo: RunMemo,
  ): Promise<Source | string> {
    const relative = check.relativeToPrimary !== undefined;
    if (check.templateRef === undefined) {
      if (!isBuiltinMetric(check.name)) return "not a built-in check, and no templateRef";
      const b = BUILTIN_CHECKS[check.name];
      const scope = (workload: string) => ({ namespace: input.namespace, workload, windowMs });
      return {
        provider: this.deps.prometheus,
        unit: b.unit,
        builtin: true,
        canary: b.query(scope(input.targetName)),
        ...(relative ? { primary: b.query(scope(input.primaryName)) } : {}),
      };
    }
    const ref = {
      name: check.templateRef.name,
      namespace: check.templateRef.namespace ?? input.namespace,
    };
    const key = `${ref.namespace}/${ref.name}`;
    let resolving = memo.templates.get(key);
    if (resolving === undefined) {
      resolving = input.resolveTemplate(ref);
      memo.templates.set(key, resolving);
    }
    const resolved = await resolving;
    if (!resolved.ok) return resolved.message;
    const { template, credentials } = resolved;
    const render = (target: string) =>
      renderQuery(template.query, {
        name: input.rolloutName,
        namespace: input.namespace,
        target,
        service: input.service,
        interval: promDuration(windowMs),
        variables: check.templateVariables ?? {},
      });
    const canary = render(input.targetName);
    const primary = render(input.primaryName);
    const what = `MetricTemplate ${ref.namespace}/${ref.name}`;
    if (!canary.ok) return `${what}: ${canary.message}`;
    if (!primary.ok) return `${what}: ${primary.message}`;
    return {
      provider: this.provider(template.provider, credentials),
      unit: "",
      builtin: false,
      canary: canary.query,
      ...(relative ? { primary: primary.query } : {}),
    };
  }

  /** Requests the canary received in the window. */
  private count(input: AnalysisInput, windowMs: number, memo: RunMemo): Promise<QueryOutcome> {
    let pending = memo.counts.get(windowMs);
    if (pending === undefined) {
      const q = requestCountQuery({
        namespace: input.namespace,
        workload: input.targetName,
        windowMs,
      });
      pending = this.deps.prometheus.query(q, input.now);
      memo.counts.set(windowMs, pending);
    }
    return pending;
  }

  private provider(spec: ProviderSpec, credentials: ProviderCredentials): MetricProvider {
    const key = JSON.stringify([spec, credentials]);
    let p = this.providers.get(key);
    if (p === undefined) {
      if (this.providers.size >= MAX_PROVIDERS) this.providers.clear();
      p = (this.deps.connect ?? connect)(spec, credentials);
      this.providers.set(key, p);
    }
    return p;
  }
}

/** The judge threw (a bug): its checks are errors, the run's state stays as it was. */
function judgeFailed(input: AnalysisInput, message: string): JudgedRun {
  const state = input.judge?.state ?? emptyState(input.revision, judgeConfig(input.spec));
  return {
    reports: input.spec.metrics.filter(isJudged).map((m) => ({
      name: m.name,
      kind: "metric",
      threshold: {},
      outcome: "error",
      message: `${m.name}: ${message}`,
    })),
    outcome: { decision: "inconclusive", state, message },
  };
}

/** A check that throws (a bug, or a resolver that broke its promise) is reported as an error. */
async function guard(
  name: string,
  kind: CheckReport["kind"],
  job: () => Promise<CheckReport>,
): Promise<CheckReport> {
  try {
    return await job();
  } catch (err) {
    return {
      name,
      kind,
      threshold: {},
      outcome: "error",
      message: `${name}: ${describeError(err)}`,
    };
  }
}

/** The provider registry: one implementation per provider type (the compiler asks for each). */
const PROVIDERS: Readonly<
  Record<ProviderType, (spec: ProviderSpec, credentials: ProviderCredentials) => MetricProvider>
> = {
  prometheus: (spec, credentials) => new PrometheusClient(providerOptions(spec, credentials)),
};

function connect(spec: ProviderSpec, credentials: ProviderCredentials): MetricProvider {
  return PROVIDERS[spec.type](spec, credentials);
}
