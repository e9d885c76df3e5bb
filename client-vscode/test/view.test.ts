import { describe, expect, it } from "vitest";

import { samplesChart, scalingChart } from "../src/chart";
import { jobsHtml } from "../src/html";
import { JobBook } from "../src/jobs";

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

  it("reaches the job view from the server's scaling event", () => {
    const book = new JobBook();
    book.start("t1", "file:///w/a.py", "f", "PerfOrch: optimize f");
    book.apply({
      token: "t1",
      uri: "file:///w/a.py",
      function: "f",
      event: { kind: "scaling", job_id: "j", elapsed_s: 1, scaling, detail: "" },
      line: "time of one call ∝ n^2.0 → n^1.0",
      tone: "ok",
    });
    const html = jobsHtml(book.all(), "N", "x");
    expect(html).toContain('<svg class="scaling"');
    expect(html).toContain("complexity: time of one call ∝ n^2.0 → n^1.0 (fitted over n ≥ 128)");
  });
});
