/**
 * The PerfOrch view's page: every job with its live steps, the samples chart of the comparison in
 * progress, and the before/after numbers with their interval. Pure: takes jobs, returns HTML
 * (everything from the server is escaped); the webview only sets it.
 */

import { escapeXml, exponentText, samplesChart, scalingChart } from "./chart";
import { formatValue, isRunning, verdictText, type Job } from "./jobs";
import { METRIC_LABELS } from "./protocol";

const ICON: Record<string, string> = { ok: "✓", bad: "✗", info: "•" };

function jobSection(job: Job): string {
  const esc = escapeXml;
  const steps = job.steps
    .map((s) => `<li class="${s.tone}"><span class="icon">${ICON[s.tone]}</span>${esc(s.text)}</li>`)
    .join("");
  const chart = job.samples.length ? `<div class="chart">${samplesChart(job.samples)}</div>` : "";
  let result = "";
  if (job.verdict !== null) {
    const v = job.verdict;
    const status = job.verdictAccepted ? "accepted" : "last measured";
    result =
      `<table class="numbers"><tr><th></th><th>before</th><th>after</th></tr>` +
      `<tr><td>${esc(METRIC_LABELS[v.metric] ?? v.metric)} (median of ${v.processes} processes)</td>` +
      `<td>${esc(formatValue(v.before.summary, v.before.unit))}</td>` +
      `<td>${esc(formatValue(v.after.summary, v.after.unit))}</td></tr></table>` +
      `<p class="verdict ${v.decision}">${esc(status)} ${esc(job.verdictModel ?? "")}: ${esc(verdictText(v))}</p>` +
      (v.workload ? `<p class="method">workload: ${esc(v.workload)}</p>` : "") +
      (v.method ? `<p class="method">${esc(v.method)}</p>` : "");
  }
  let scaling = "";
  if (job.scaling !== null) {
    const s = job.scaling;
    const what = s.unit === "ns" ? "time of one call" : "peak memory of one call";
    const fit = s.unfitted
      ? `${esc(what)}: ${esc(s.unfitted)}`
      : `${esc(what)} ∝ ${esc(exponentText(s.exponent_before))} → ` +
        `${esc(exponentText(s.exponent_after))} (fitted over n ≥ ${s.fitted_from})`;
    scaling = `<div class="chart">${scalingChart(s)}</div><p class="method">complexity: ${fit}</p>`;
  }
  const w = job.workload;
  const workload = w
    ? `<details class="workload"><summary>generated workload (${esc(w.origin)}): ` +
      `generate_input(size=${w.size}) × ${w.seeds.length} seeds</summary>` +
      `<pre>${esc(w.generator.trim())}</pre>` +
      `<button class="save-workload" data-token="${esc(job.token)}">Save as a test or benchmark…</button></details>`
    : "";
  const explained = job.explanation
    ? `<p class="explanation"><em>in ${esc(job.explanation.model)}'s words:</em> ${esc(job.explanation.text)}</p>`
    : "";
  const t = job.lastTests;
  const raw = t ? [t.outcome.error ?? "", t.outcome.stderr_tail ?? "", t.outcome.stdout_tail ?? ""].join("\n").trim() : "";
  const tests = raw
    ? `<details class="raw"><summary>raw output of the last test run (${esc(t?.who ?? "")})</summary>` +
      `<pre>${esc(raw)}</pre></details>`
    : "";
  const summary = job.summary ? `<p class="summary">${esc(job.summary)}</p>` : "";
  const cancel = isRunning(job)
    ? `<button class="cancel" data-token="${esc(job.token)}">Cancel</button>`
    : "";
  return (
    `<section class="job ${job.status}" data-token="${esc(job.token)}">` +
    `<h3>${esc(job.title)} <span class="status">${esc(job.status)}</span>${cancel}</h3>` +
    `<ul class="steps">${steps}</ul>${chart}${result}${explained}${scaling}${workload}${tests}${summary}</section>`
  );
}

export function jobsHtml(jobs: Job[], nonce: string, cspSource: string): string {
  const body = jobs.length
    ? jobs.map(jobSection).join("")
    : `<p class="empty">No PerfOrch job yet. Put the cursor in a function and press Ctrl+. to Generate, Fix or Optimize it.</p>`;
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src ${cspSource} data:; style-src 'nonce-${nonce}'; script-src 'nonce-${nonce}';">
<style nonce="${nonce}">
body { font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); color: var(--vscode-foreground); padding: 0 8px; }
h3 { font-size: 1em; margin: 10px 0 4px; }
.status { font-weight: normal; opacity: .7; margin-left: 4px; }
.steps { list-style: none; padding: 0; margin: 0; }
.steps li { margin: 2px 0; }
.icon { display: inline-block; width: 1.2em; }
.ok .icon, .verdict.improved { color: var(--vscode-testing-iconPassed, #388a34); }
.bad .icon { color: var(--vscode-testing-iconFailed, #e51400); }
.samples .baseline { fill: none; stroke: var(--vscode-foreground); }
.samples .candidate { fill: var(--vscode-charts-blue, #3794ff); }
.scaling circle.baseline { fill: none; stroke: var(--vscode-charts-orange, #d18616); }
.scaling circle.candidate { fill: var(--vscode-charts-blue, #3794ff); }
.scaling polyline.baseline { stroke: var(--vscode-charts-orange, #d18616); }
.scaling polyline.candidate { stroke: var(--vscode-charts-blue, #3794ff); }
.scaling .fitted { fill: var(--vscode-editor-foreground, #888); opacity: 0.07; }
.samples .axis { stroke: var(--vscode-foreground); opacity: .4; }
.samples .label { fill: var(--vscode-foreground); font-size: 9px; opacity: .8; }
.numbers td, .numbers th { padding: 1px 8px 1px 0; text-align: left; }
.method, .empty { opacity: .7; }
button.cancel { margin-left: 8px; }
</style></head>
<body>${body}
<script nonce="${nonce}">
const vscode = acquireVsCodeApi();
document.addEventListener("click", (e) => {
  const t = e.target;
  if (t instanceof HTMLElement && t.classList.contains("cancel")) {
    vscode.postMessage({ type: "cancel", token: t.dataset.token });
  }
  if (t instanceof HTMLElement && t.classList.contains("save-workload")) {
    vscode.postMessage({ type: "saveWorkload", token: t.dataset.token });
  }
});
</script></body></html>`;
}
