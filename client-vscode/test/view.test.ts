import { describe, expect, it } from "vitest";

import { samplesChart } from "../src/chart";
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
