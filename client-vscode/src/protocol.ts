/**
 * The messages the PerfOrch language server sends beyond LSP, as TypeScript types: the job
 * events of `perforch/jobEvent` (mirroring perforch_core/events.py), the model question of
 * `perforch/chooseModel`, and the names of the server's commands.
 */

export const JOB_EVENT = "perforch/jobEvent";
export const JOB_ENDED = "perforch/jobEnded";
export const CHOOSE_MODEL = "perforch/chooseModel";
/** Request: every job the server kept (also from before it restarted), with its events. */
export const LIST_JOBS = "perforch/jobs";
/** The server's change annotation on every edit it proposes. */
export const RESULT_ANNOTATION = "perforch.result";
/** Commands the server executes (workspace/executeCommand). */
export const SERVER_COMMANDS = ["perforch.generate", "perforch.fix", "perforch.optimize"] as const;
/** Queues an optimize job for each function the working tree's git diff touches. */
export const OPTIMIZE_CHANGED = "perforch.optimizeChanged";
export const SERVER_CANCEL = "perforch.cancel";
/** (token, null) → {suggested: path}; (token, path) → {files: [...]} or {error}. */
export const SERVER_SAVE_WORKLOAD = "perforch.saveWorkload";

export type Stage = "generate" | "fix" | "refine";
export type Metric = "exec_time" | "avg_memory" | "max_memory" | "cpu_utilization";

export const METRIC_LABELS: Record<Metric, string> = {
  exec_time: "exec time",
  avg_memory: "mean memory",
  max_memory: "max memory",
  cpu_utilization: "CPU utilization",
};

export interface RankedModel {
  model: string;
  /** Lower 95 % bound of the measured success rate; null when Memory has no data (NaN). */
  score: number | null;
  why: string;
  /** Problems PerfOrch measured that stand behind the score (the paper's priors apart). */
  observations?: number;
}

export interface TestOutcome {
  passed: boolean;
  total: number;
  failures: { name: string; message: string }[];
  error: string | null;
  timed_out: boolean;
  duration_s: number;
  stdout_tail?: string;
  stderr_tail?: string;
  /** Tests set aside: they failed on the code before the change (pre-existing failures). */
  preexisting?: string[];
  /** Why the tests cannot run whatever the code (dependencies not cached): no model can fix it. */
  environment?: string;
}

export interface Measurement {
  metric: Metric;
  unit: string;
  values: number[];
  summary: number;
}

export interface Verdict {
  metric: Metric;
  decision: "improved" | "not_improved" | "inconclusive";
  improvement_pct: number;
  interval_pct: { low: number; high: number; level: number };
  threshold_pct: number;
  before: Measurement;
  after: Measurement;
  processes: number;
  method: string;
  /** What ran as the workload: the user's benchmarks, generated inputs, or the tests. */
  workload?: string;
  note: string;
  wall_before_ns?: number | null;
  wall_after_ns?: number | null;
  repeat_speedup?: number | null;
  process_ratios?: number[];
  /** Why a measured gain is not accepted (a candidate that keeps results between calls). */
  rejected?: string;
}

/** Generated inputs refinement measures on (perforch_core.models.Workload). */
export interface Workload {
  generator: string;
  size: number;
  seeds: number[];
  mutates: boolean;
  origin: string;
  per_call_ns: number | null;
  /** k of the original's time per call ∝ n^k over the probe's larger sizes. */
  growth?: number | null;
}

/** One line of the function and its share of the function's time (profile feedback). */
export interface HotLine {
  line: number;
  offset: number;
  code: string;
  share: number;
  hits: number;
}

/** Complexity evidence for the accepted refinement (perforch_core.models.Scaling). */
export interface ScalingPoint {
  size: number;
  baseline: number;
  candidate: number;
}

export interface Scaling {
  metric: Metric;
  /** "ns": CPU time of one call; "B": tracemalloc peak of one call. */
  unit: string;
  points: ScalingPoint[];
  exponent_before: number | null;
  exponent_after: number | null;
  fitted_from: number;
  /** Why no exponent was fitted (the generator ignores its size); "" when fitted. */
  unfitted?: string;
  plot: string;
}

interface Base {
  job_id: string;
  elapsed_s: number;
}

export type JobEvent = Base &
  (
    | {
        kind: "job_started";
        action: "generate" | "fix" | "optimize";
        task_id: string;
        metric: Metric | null;
        policy: string;
        categories: string[];
      }
    | { kind: "stage_started"; stage: Stage; ranking: RankedModel[] }
    | { kind: "model_chosen"; stage: Stage; model: string; score: number | null; why: string }
    | {
        kind: "llm_reply";
        stage: Stage;
        model: string;
        ok: boolean;
        error: string | null;
        prompt_tokens: number;
        completion_tokens: number;
        cost_usd: number;
        latency_s: number;
      }
    | {
        kind: "tests_run";
        stage: Stage | null;
        model: string | null;
        candidate_id: string;
        outcome: TestOutcome;
      }
    | {
        kind: "measurement_sample";
        metric: Metric;
        process: number;
        baseline: number;
        candidate: number;
        unit: string;
      }
    | { kind: "measured"; stage: Stage; model: string; candidate_id: string; verdict: Verdict }
    | { kind: "workload"; workload: Workload | null; detail: string; benchmarks?: string[] }
    | { kind: "scaling"; scaling: Scaling | null; detail: string }
    | { kind: "hotspots"; lines: HotLine[] }
    | { kind: "explained"; model: string; text: string }
    | {
        kind: "equivalence_checked";
        model: string;
        candidate_id: string;
        generated: number;
        tests: number;
      }
    | {
        kind: "candidate_accepted";
        stage: Stage;
        model: string | null;
        candidate_id: string;
        reason: string;
      }
    | {
        kind: "rolled_back";
        stage: Stage;
        model: string;
        candidate_id: string | null;
        reason: string;
      }
    | { kind: "profiler_restarted"; during: string; detail: string }
    | { kind: "job_finished"; success: boolean; summary: string }
    | { kind: "job_failed"; error: string; error_type: string }
    | { kind: "job_cancelled" }
  );

/** Params of `perforch/jobEvent`. */
export interface JobEventParams {
  token: string;
  uri: string;
  function: string;
  event: JobEvent;
  /** The event as text, from the server's one renderer (perforch_core/describe.py): a line for
   * the job's log, its tone, and what is happening now. Null when the event says nothing. */
  line?: string | null;
  tone?: "ok" | "bad" | "info";
  activity?: string | null;
}

/** Params of the server's `perforch/chooseModel` request; the reply is `{ model: string | null }`. */
export interface ChooseModelParams {
  token: string;
  uri: string;
  function: string;
  stage: Stage;
  ranking: RankedModel[];
}

export interface ChooseModelResult {
  model: string | null;
}

/** Params of `perforch/jobEnded`: every job's last word, also when it failed before starting. */
export interface JobEndedParams {
  token: string;
  uri: string;
  function: string;
  status: "succeeded" | "failed" | "cancelled" | "error";
  message: string;
}

/** One job of `perforch/jobs`: its request, where it stands, and the events it sent. */
export interface KeptJob {
  token: string;
  uri: string;
  function: string;
  action: string;
  metric: Metric | null;
  /** queued, running (resumed by a new server), offered (a result waiting for review), ended. */
  state: "queued" | "running" | "offered" | "ended";
  message: string;
  events: JobEventParams[];
}
