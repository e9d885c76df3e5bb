/**
 * What the editor knows of each job, built from its `perforch/jobEvent` stream: the steps to
 * show (stages, models tried, test results, verdicts), the measurement samples for the chart,
 * and the final before/after numbers. Pure: no VS Code here, so it is unit-tested directly.
 */

import {
  METRIC_LABELS,
  type JobEvent,
  type JobEventParams,
  type KeptJob,
  type Metric,
  type Scaling,
  type TestOutcome,
  type Verdict,
  type Workload,
} from "./protocol";

export type JobStatus = "starting" | "running" | "succeeded" | "failed" | "cancelled";

export interface Step {
  /** ok: passed/accepted; bad: failed/rolled back; info: anything else. */
  tone: "ok" | "bad" | "info";
  text: string;
}

export interface Sample {
  process: number;
  baseline: number;
  candidate: number;
  unit: string;
}

export interface Job {
  token: string;
  uri: string;
  function: string;
  title: string;
  status: JobStatus;
  /** Short status for the status bar, e.g. "refine: asking local/qwen2.5-coder-1.5b". */
  activity: string;
  steps: Step[];
  metric: Metric | null;
  /** Samples of the comparison in progress (reset when a new candidate is measured). */
  samples: Sample[];
  /** The verdict of the accepted candidate, else of the last one measured. */
  verdict: Verdict | null;
  verdictModel: string | null;
  /** Whether ``verdict`` belongs to the accepted candidate. */
  verdictAccepted: boolean;
  /** Every measured candidate's verdict, by candidate id. */
  measured: Record<string, { model: string; verdict: Verdict }>;
  /** Complexity evidence for the accepted refinement, when it had a generated workload. */
  scaling: Scaling | null;
  /** The generated workload refinement measures on (its generator is shown for review). */
  workload: Workload | null;
  /** The last test run's raw output (what failed, in the test framework's words). */
  lastTests: { who: string; outcome: TestOutcome } | null;
  /** The accepting model's account of its change: its words, shown as such. */
  explanation: { model: string; text: string } | null;
  summary: string | null;
}

export function newJob(token: string, uri: string, fn: string, title: string): Job {
  return {
    token,
    uri,
    function: fn,
    title,
    status: "starting",
    activity: "starting (model server and profiler on first use)",
    steps: [],
    metric: null,
    samples: [],
    verdict: null,
    verdictModel: null,
    verdictAccepted: false,
    measured: {},
    scaling: null,
    workload: null,
    lastTests: null,
    explanation: null,
    summary: null,
  };
}

export function isRunning(job: Job): boolean {
  return job.status === "starting" || job.status === "running";
}

/** "26.565 ms", "78.7 µs", "1.5 MiB", "0.93". Values are in the profiler's units (ns, B, ""). */
export function formatValue(value: number, unit: string): string {
  if (unit === "ns") {
    const scales: [number, string][] = [
      [1e9, "s"],
      [1e6, "ms"],
      [1e3, "µs"],
    ];
    for (const [scale, name] of scales) {
      if (Math.abs(value) >= scale) return `${precise(value / scale)} ${name}`;
    }
    return `${precise(value)} ns`;
  }
  if (unit === "B") {
    const scales: [number, string][] = [
      [1024 ** 3, "GiB"],
      [1024 ** 2, "MiB"],
      [1024, "KiB"],
    ];
    for (const [scale, name] of scales) {
      if (Math.abs(value) >= scale) return `${precise(value / scale)} ${name}`;
    }
    return `${Math.round(value)} B`;
  }
  return unit ? `${precise(value)} ${unit}` : precise(value);
}

function precise(x: number): string {
  const a = Math.abs(x);
  return a >= 100 ? x.toFixed(1) : a >= 10 ? x.toFixed(2) : x.toFixed(3);
}

function signed(x: number): string {
  return `${x >= 0 ? "+" : "−"}${Math.abs(x).toFixed(1)}`;
}

/** A verdict as the change of the metric (negative = less time or memory), with its interval. */
export function verdictText(v: Verdict): string {
  const label = METRIC_LABELS[v.metric] ?? v.metric;
  const change = -v.improvement_pct;
  const ci = `95 % CI ${signed(-v.interval_pct.high)}…${signed(-v.interval_pct.low)} %`;
  // The candidate's value at the baseline's median by the paired change (Verdict.paired_after),
  // so that the numbers agree with the change printed beside them.
  const after = v.before.summary * (1 - v.improvement_pct / 100);
  const numbers = `${formatValue(v.before.summary, v.before.unit)} → ${formatValue(after, v.after.unit)}`;
  if (v.rejected) {
    return `${label} ${numbers}: ${signed(change)} % (${ci}), not accepted: ${v.rejected}`;
  }
  if (v.decision === "improved") {
    return `${label} ${numbers}: ${signed(change)} % (${ci}, ${v.processes} processes), improved`;
  }
  if (v.decision === "not_improved") {
    return `${label} ${numbers}: no significant gain (${signed(change)} %, ${ci}; needs ≤ −${v.threshold_pct} %)`;
  }
  const why = v.note ? `: ${v.note}` : ` (${signed(change)} %, ${ci})`;
  return `${label} ${numbers}: inconclusive${why}`;
}

/** The job after one event (a new object; the old one is left as it was). The text comes from
 * the server's renderer (``line``, ``tone``, ``activity``); the structured fields feed the
 * status, the chart and the before/after table. */
export function applyEvent(job: Job, params: JobEventParams): Job {
  const e: JobEvent = params.event;
  const next: Job = { ...job, steps: [...job.steps], status: job.status === "starting" ? "running" : job.status };
  if (params.line) next.steps.push({ tone: params.tone ?? "info", text: params.line });
  if (params.activity) next.activity = params.activity;
  switch (e.kind) {
    case "job_started":
      next.metric = e.metric;
      break;
    case "measurement_sample":
      if (e.process === 1 || next.samples.length === 0 || next.metric !== e.metric) {
        next.samples = [];
      }
      next.metric = e.metric;
      next.samples = [
        ...next.samples,
        { process: e.process, baseline: e.baseline, candidate: e.candidate, unit: e.unit },
      ];
      break;
    case "measured":
      next.measured = { ...next.measured, [e.candidate_id]: { model: e.model, verdict: e.verdict } };
      if (!next.verdictAccepted) {
        next.verdict = e.verdict;
        next.verdictModel = e.model;
      }
      break;
    case "candidate_accepted":
      if (e.candidate_id in next.measured) {
        next.verdict = next.measured[e.candidate_id].verdict;
        next.verdictModel = next.measured[e.candidate_id].model;
        next.verdictAccepted = true;
      }
      break;
    case "tests_run":
      next.lastTests = { who: e.model ?? "your code", outcome: e.outcome };
      break;
    case "explained":
      next.explanation = { model: e.model, text: e.text };
      break;
    case "workload":
      next.workload = e.workload;
      break;
    case "scaling":
      next.scaling = e.scaling;
      break;
    case "job_finished":
      next.status = e.success ? "succeeded" : "failed";
      next.summary = e.summary;
      break;
    case "job_failed":
      next.status = "failed";
      next.summary = `${e.error_type}: ${e.error}`;
      break;
    case "job_cancelled":
      next.status = "cancelled";
      next.summary = "cancelled";
      break;
  }
  return next;
}

/** Every job known to the editor, newest first, with a bounded history. */
export class JobBook {
  private readonly jobs = new Map<string, Job>();

  constructor(private readonly keep = 20) {}

  start(token: string, uri: string, fn: string, title: string): Job {
    const job = newJob(token, uri, fn, title);
    this.jobs.set(token, job);
    this.trim();
    return job;
  }

  /** Apply an event; a token never seen (e.g. a job started by another client) is added. */
  apply(params: JobEventParams): Job {
    const known = this.jobs.get(params.token) ?? newJob(params.token, params.uri, params.function, `PerfOrch: ${params.function}`);
    const job = applyEvent(known, params);
    this.jobs.delete(params.token);
    this.jobs.set(params.token, job);
    this.trim();
    return job;
  }

  /** Mark a job ended without a final event (the server stopped, or its progress ended). */
  end(token: string, status: Exclude<JobStatus, "starting" | "running">, summary: string): Job | undefined {
    const job = this.jobs.get(token);
    if (job === undefined || !isRunning(job)) return job;
    const ended: Job = { ...job, status, summary, activity: summary };
    this.jobs.set(token, ended);
    return ended;
  }

  /** Jobs the server kept (a window reload restarted both): each one not known here is added
   * with its events replayed; one that ended without a final event ends with the server's
   * word; the ones still queued or running go on receiving events. */
  reattach(kept: KeptJob[]): Job[] {
    const added: Job[] = [];
    for (const k of kept) {
      const known = this.jobs.get(k.token);
      if (known !== undefined) {
        // Ended here when the server stopped, and resumed by the new one: running again.
        if ((k.state === "running" || k.state === "queued") && !isRunning(known)) {
          this.jobs.set(k.token, { ...known, status: "running", summary: null, activity: k.message || "running again" });
        }
        continue;
      }
      const what = k.action === "optimize" && k.metric ? ` for ${METRIC_LABELS[k.metric] ?? k.metric}` : "";
      let job = newJob(k.token, k.uri, k.function, `PerfOrch: ${k.action} ${k.function}${what}`);
      for (const e of k.events) job = applyEvent(job, e);
      if (k.state === "ended" && isRunning(job)) {
        job = { ...job, status: "cancelled", summary: k.message, activity: k.message };
      } else if (k.message && isRunning(job)) {
        job = { ...job, activity: k.message };
      }
      this.jobs.set(k.token, job);
      added.push(job);
    }
    this.trim();
    return added;
  }

  get(token: string): Job | undefined {
    return this.jobs.get(token);
  }

  all(): Job[] {
    return [...this.jobs.values()].reverse();
  }

  running(): Job[] {
    return this.all().filter(isRunning);
  }

  private trim(): void {
    const ended = [...this.jobs.values()].filter((j) => !isRunning(j));
    for (let i = 0; this.jobs.size > this.keep && i < ended.length; i++) {
      this.jobs.delete(ended[i].token);
    }
  }
}
