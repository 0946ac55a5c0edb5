// A client for Prometheus's instant-query API that answers one number or says why there is none.
// Expected failures (no data, a bad query, an unreachable or overloaded server) are values: the
// analysis reports them, it does not crash on them. Transient ones are retried a bounded number of
// times with back-off; a refusal (bad query, bad credentials, bad certificate) is not.
import http from "node:http";
import https from "node:https";
import type { AxiosInstance } from "axios";
import axios from "axios";
import type { Clock } from "../common/clock.js";
import { systemClock } from "../common/clock.js";
import { describeError } from "../common/errors.js";

export type PrometheusAuth =
  | { readonly kind: "bearer"; readonly token: string }
  | { readonly kind: "basic"; readonly username: string; readonly password: string };

export interface PrometheusTls {
  readonly insecureSkipVerify?: boolean;
  /** PEM bundle trusted instead of the system's roots. */
  readonly ca?: string;
}

export interface PrometheusOptions {
  /** Base URL, e.g. `http://prometheus.monitoring:9090` or `https://host/prefix`. */
  readonly address: string;
  readonly auth?: PrometheusAuth;
  readonly tls?: PrometheusTls;
  /** Per attempt, also sent as Prometheus's own evaluation timeout. Default 5000 (Flagger's). */
  readonly timeoutMs?: number;
  /** Attempts after the first, on network errors, timeouts, 429 and 5xx. Default 2. */
  readonly retries?: number;
  /** Wait before the first retry, doubled for each next one. Default 250. */
  readonly backoffMs?: number;
  readonly clock?: Clock;
}

export type QueryErrorCode =
  /** Connection refused or reset, DNS failure. */
  | "unreachable"
  | "timeout"
  /** The certificate was refused: not retried. */
  | "tls"
  /** 401 or 403. */
  | "unauthorized"
  /** 400 or 422: the query does not parse or cannot run. */
  | "badQuery"
  /** Any other HTTP status. */
  | "http"
  /** A body that is not a Prometheus answer, or a result that is not a vector or a scalar. */
  | "badResponse"
  /** A vector of more than one series: the query must aggregate to one number. */
  | "multipleSeries";

export type QueryOutcome =
  | { readonly kind: "value"; readonly value: number }
  /** An empty vector, or NaN or ±Inf: nothing to judge. */
  | { readonly kind: "noData"; readonly reason: string }
  | { readonly kind: "error"; readonly code: QueryErrorCode; readonly message: string };

/** The port the analysis queries through; one implementation per provider type. */
export interface MetricProvider {
  /** Evaluates `query` at `atMs` (ms since the epoch). Never rejects for an expected failure. */
  query(query: string, atMs: number): Promise<QueryOutcome>;
}

const DEFAULT_TIMEOUT_MS = 5000;
const DEFAULT_RETRIES = 2;
const DEFAULT_BACKOFF_MS = 250;
const IDLE_MS = 60_000;

/** Node's codes for a certificate that was refused: retrying does not help. */
const TLS_CODES = new Set([
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "ERR_TLS_CERT_ALTNAME_INVALID",
]);

interface Attempt {
  readonly outcome: QueryOutcome;
  readonly retry: boolean;
}

export class PrometheusClient implements MetricProvider {
  private readonly http: AxiosInstance;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly backoffMs: number;
  private readonly clock: Clock;
  private readonly label: string;

  constructor(options: PrometheusOptions) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.retries = options.retries ?? DEFAULT_RETRIES;
    this.backoffMs = options.backoffMs ?? DEFAULT_BACKOFF_MS;
    this.clock = options.clock ?? systemClock;
    const base = options.address.replace(/\/+$/, "");
    this.label = `Prometheus ${base}`;
    const tls = options.tls ?? {};
    this.http = axios.create({
      baseURL: base,
      validateStatus: () => true,
      maxRedirects: 0,
      // Prometheus answers JSON; anything else (a proxy's HTML error page) stays text.
      responseType: "text",
      transformResponse: (data: unknown) => data,
      headers: authHeader(options.auth),
      // Idle connections are kept for the next interval's queries, then closed.
      httpAgent: new http.Agent({ keepAlive: true, maxSockets: 4, timeout: IDLE_MS }),
      httpsAgent: new https.Agent({
        keepAlive: true,
        maxSockets: 4,
        timeout: IDLE_MS,
        rejectUnauthorized: tls.insecureSkipVerify !== true,
        ...(tls.ca === undefined ? {} : { ca: tls.ca }),
      }),
    });
  }

  async query(query: string, atMs: number): Promise<QueryOutcome> {
    const form = new URLSearchParams({
      query,
      time: (atMs / 1000).toFixed(3),
      timeout: `${this.timeoutMs}ms`,
    });
    for (let attempt = 0; ; attempt++) {
      const { outcome, retry } = await this.attempt(form);
      if (!retry || attempt >= this.retries) {
        if (outcome.kind !== "error" || attempt === 0) return outcome;
        return { ...outcome, message: `${outcome.message} (after ${attempt + 1} attempts)` };
      }
      await this.clock.sleep(this.backoffMs * 2 ** attempt);
    }
  }

  private async attempt(form: URLSearchParams): Promise<Attempt> {
    const signal = AbortSignal.timeout(this.timeoutMs);
    let status: number;
    let body: string;
    try {
      const res = await this.http.post<string>("/api/v1/query", form.toString(), {
        signal,
        timeout: this.timeoutMs,
        headers: { "content-type": "application/x-www-form-urlencoded" },
      });
      status = res.status;
      body = typeof res.data === "string" ? res.data : "";
    } catch (err) {
      return this.networkFailure(err, signal.aborted);
    }
    return this.answer(status, body);
  }

  private networkFailure(err: unknown, timedOut: boolean): Attempt {
    const code = axios.isAxiosError(err) ? err.code : undefined;
    if (timedOut || code === "ECONNABORTED" || code === "ETIMEDOUT") {
      return this.fail("timeout", `no answer within ${this.timeoutMs} ms`, true);
    }
    if (code !== undefined && TLS_CODES.has(code)) {
      return this.fail("tls", `certificate refused: ${describeError(err)}`, false);
    }
    return this.fail("unreachable", describeError(err), true);
  }

  private answer(status: number, body: string): Attempt {
    const parsed = parseJson(body);
    const apiError = parsed === undefined ? undefined : stringAt(parsed, "error");
    const detail = apiError ?? (body.trim().slice(0, 200) || "empty body");
    if (status === 401 || status === 403) {
      return this.fail("unauthorized", `${status}: ${detail}`, false);
    }
    if (status === 400 || status === 422) return this.fail("badQuery", detail, false);
    if (status !== 200) {
      const timeout = parsed !== undefined && stringAt(parsed, "errorType") === "timeout";
      const retry = status === 429 || status >= 500;
      return this.fail(timeout ? "timeout" : "http", `${status}: ${detail}`, retry);
    }
    if (parsed === undefined || stringAt(parsed, "status") !== "success") {
      return this.fail("badResponse", `not a Prometheus answer: ${detail}`, false);
    }
    return { outcome: this.readData(parsed.data), retry: false };
  }

  private readData(data: unknown): QueryOutcome {
    if (!isRecord(data)) return this.error("badResponse", "answer without data");
    const { resultType, result } = data;
    if (resultType === "scalar") return this.sample(result);
    if (resultType !== "vector") {
      return this.error(
        "badResponse",
        `query returned a ${String(resultType)}, expected a vector or a scalar`,
      );
    }
    if (!Array.isArray(result)) return this.error("badResponse", "vector without a result list");
    const series: readonly unknown[] = result;
    if (series.length === 0) return { kind: "noData", reason: "no series" };
    const [only] = series;
    if (series.length > 1 || !isRecord(only)) {
      return this.error("multipleSeries", `query returned ${series.length} series, expected 1`);
    }
    return this.sample(only.value);
  }

  /** A `[time, "value"]` pair as Prometheus writes a sample. */
  private sample(pair: unknown): QueryOutcome {
    const text: unknown = Array.isArray(pair) ? (pair as readonly unknown[])[1] : undefined;
    if (text === "NaN" || text === "+Inf" || text === "-Inf")
      return { kind: "noData", reason: text };
    const value = typeof text === "string" && text.trim() !== "" ? Number(text) : NaN;
    if (!Number.isFinite(value)) {
      return this.error("badResponse", `not a sample: ${JSON.stringify(pair)}`);
    }
    return { kind: "value", value };
  }

  private fail(code: QueryErrorCode, message: string, retry: boolean): Attempt {
    return { outcome: this.error(code, message), retry };
  }

  private error(code: QueryErrorCode, message: string): QueryOutcome {
    return { kind: "error", code, message: `${this.label}: ${message}` };
  }
}

function authHeader(auth: PrometheusAuth | undefined): Record<string, string> {
  if (auth === undefined) return {};
  switch (auth.kind) {
    case "bearer":
      return { authorization: `Bearer ${auth.token}` };
    case "basic": {
      const pair = Buffer.from(`${auth.username}:${auth.password}`).toString("base64");
      return { authorization: `Basic ${pair}` };
    }
  }
}

function isRecord(v: unknown): v is Readonly<Record<string, unknown>> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function parseJson(text: string): Readonly<Record<string, unknown>> | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return isRecord(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

function stringAt(o: Readonly<Record<string, unknown>>, key: string): string | undefined {
  const v = o[key];
  return typeof v === "string" ? v : undefined;
}
