import { describe, expect, it } from "vitest";

import { samplesChart, scalingChart } from "../src/chart";
import { jobsHtml } from "../src/html";
import { JobBook } from "../src/jobs";
import type { Scaling } from "../src/protocol";

const sample = (process: number, baseline: number, candidate: number) => ({ process, baseline, candidate, unit: "ns" });

describe("the samples chart", () => {
  it("draws one baseline and one candidate mark per process, on an axis from zero", () => {
    const svg = samplesChart([sample(1, 2e6, 1e6), sample(2, 2.1e6, 1.1e6), sample(3, 1.9e6, 0.9e6)]);
    expect(svg.match(/class="baseline"/g)).toHaveLength(3);
    expect(svg.match(/class="candidate"/g)).toHaveLength(3);
    expect(svg).toContain("process 2: baseline 2.100 ms, candidate 1.100 ms");
    const cy = [...svg.matchAll(/class="(baseline|candidate)" cx="[\d.]+" cy="([\d.]+)"/g)].map((m) => [m[1], Number(m[2])]);
    const base = cy.filter(([k]) => k === "baseline").map(([, y]) => y as number);
    const cand = cy.filter(([k]) => k === "candidate").map(([, y]) => y as number);
    cand.forEach((y, i) => expect(y).toBeGreaterThan(base[i])); // lower value: lower on the chart
  });

  it("is empty without samples", () => {
    expect(samplesChart([])).toBe("");
  });
});

describe("the view's page", () => {
  it("escapes what the server sent and offers Cancel only while running", () => {
    const book = new JobBook();
    book.start("t1", "file:///w/a.py", "f<script>", "PerfOrch: fix f<script>alert(1)</script>");
    const running = jobsHtml(book.all(), "NONCE", "vscode-resource:");
    expect(running).not.toContain("<script>alert(1)");
    expect(running).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(running).toContain('<button class="cancel" data-token="t1">');
    expect(running).toContain("script-src 'nonce-NONCE'");
    book.end("t1", "cancelled", "cancelled");
    expect(jobsHtml(book.all(), "N", "x")).not.toContain('class="cancel"');
  });

  it("says how to start when there is no job", () => {
    expect(jobsHtml([], "N", "x")).toContain("press Ctrl+. to Generate, Fix or Optimize");
  });
});

describe("the complexity evidence", () => {
  const scaling = {
    metric: "exec_time" as const,
    unit: "ns",
    points: [
      { size: 64, baseline: 4e4, candidate: 2e3 },
      { size: 128, baseline: 1.6e5, candidate: 4e3 },
      { size: 256, baseline: 6.4e5, candidate: 8e3 },
      { size: 512, baseline: 2.56e6, candidate: 1.6e4 },
    ],
    exponent_before: 2.0,
    exponent_after: 1.0,
    fitted_from: 128,
    plot: "",
  };

  it("is drawn on log-log axes: the quadratic side climbs faster than the linear one", () => {
    const svg = scalingChart(scaling);
    expect(svg).toContain("○ before n^2.0 → ● after n^1.0");
    expect(svg).toContain("n = 512: before 2.560 ms");
    const ys = (side: string) =>
      [...svg.matchAll(new RegExp(`<circle class="${side}" cx="[\\d.]+" cy="([\\d.]+)"`, "g"))].map((m) => Number(m[1]));
    const [before, after] = [ys("baseline"), ys("candidate")];
    expect(before).toHaveLength(4);
    // Equal steps in log n: equal steps on the chart, twice as steep before as after.
    const rise = (v: number[]) => v[0] - v[3];
    expect(rise(before) / rise(after)).toBeCloseTo(2, 1);
  });

  /** The job view after the server's scaling event carrying ``s``. */
  const viewOf = (s: Scaling): string => {
    const book = new JobBook();
    book.start("t1", "file:///w/a.py", "f", "PerfOrch: optimize f");
    book.apply({
      token: "t1",
      uri: "file:///w/a.py",
      function: "f",
      event: { kind: "scaling", job_id: "j", elapsed_s: 1, scaling: s, detail: "" },
      line: "",
      tone: "ok",
    });
    return jobsHtml(book.all(), "N", "x");
  };

  it("reaches the job view from the server's scaling event", () => {
    const html = viewOf(scaling);
    expect(html).toContain('<svg class="scaling"');
    expect(html).toContain("complexity: time of one call ∝ n^2.0 → n^1.0 (fitted over n ≥ 128)");
  });

  it("says why no exponent is shown when the generator ignores its size, and shades no fit", () => {
    const flat = {
      ...scaling,
      exponent_before: null,
      exponent_after: null,
      unfitted: "not fitted: the generator returns the same inputs at every size",
    };
    expect(scalingChart(flat)).not.toContain('class="fitted"');
    expect(scalingChart(scaling)).toContain('class="fitted"');
    const html = viewOf(flat);
    expect(html).toContain("complexity: time of one call: not fitted: the generator returns the same inputs");
    expect(html).not.toContain("n^?");
  });
});

describe("the generated workload", () => {
  it("is shown with its generator, escaped, for review", () => {
    const book = new JobBook();
    book.start("t1", "file:///w/a.py", "f", "PerfOrch: optimize f");
    const workload = {
      generator: "def generate_input(size, rng):\n    return ([rng.random() < 0.5 for _ in range(size)],)",
      size: 4096,
      seeds: [1, 2, 3],
      mutates: false,
      origin: "generated by local/qwen2.5-coder-1.5b",
      per_call_ns: 5e6,
    };
    book.apply({
      token: "t1",
      uri: "file:///w/a.py",
      function: "f",
      event: { kind: "workload", job_id: "j", elapsed_s: 1, workload, detail: "generated by local/qwen2.5-coder-1.5b" },
    });
    const html = jobsHtml(book.all(), "N", "x");
    expect(html).toContain("generated workload (generated by local/qwen2.5-coder-1.5b): generate_input(size=4096) × 3 seeds");
    expect(html).toContain("rng.random() &lt; 0.5");
    expect(html).toContain('<button class="save-workload" data-token="t1">Save as a test or benchmark…</button>');
  });
});

describe("the explanation", () => {
  it("is shown as the model's words, escaped", () => {
    const book = new JobBook();
    book.start("t1", "file:///w/a.py", "f", "PerfOrch: optimize f");
    book.apply({
      token: "t1",
      uri: "file:///w/a.py",
      function: "f",
      event: { kind: "explained", job_id: "j", elapsed_s: 1, model: "local/m", text: "A set <not> a list." },
    });
    expect(jobsHtml(book.all(), "N", "x")).toContain("<em>in local/m's words:</em> A set &lt;not&gt; a list.");
  });
});

describe("the raw test output", () => {
  it("is one click away, escaped, for the last test run", () => {
    const book = new JobBook();
    book.start("t1", "file:///w/a.py", "f", "PerfOrch: fix f");
    const outcome = {
      passed: false,
      total: 1,
      failures: [{ name: "t", message: "x" }],
      error: null,
      timed_out: false,
      duration_s: 0.1,
      stdout_tail: "E   assert 1 == <2>",
      stderr_tail: "",
    };
    book.apply({
      token: "t1",
      uri: "file:///w/a.py",
      function: "f",
      event: { kind: "tests_run", job_id: "j", elapsed_s: 1, stage: "fix", model: "local/m", candidate_id: "c", outcome },
    });
    const html = jobsHtml(book.all(), "N", "x");
    expect(html).toContain("<summary>raw output of the last test run (local/m)</summary>");
    expect(html).toContain("E   assert 1 == &lt;2&gt;");
  });
});
