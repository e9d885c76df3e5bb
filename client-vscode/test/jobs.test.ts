import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

import { JobBook, applyEvent, formatValue, newJob, verdictText } from "../src/jobs";
import type { JobEventParams } from "../src/protocol";

const events = JSON.parse(readFileSync(join(__dirname, "fixtures", "optimize-events.json"), "utf8")) as JobEventParams[];

function replay(upTo = events.length) {
  return events.slice(0, upTo).reduce(applyEvent, newJob("perforch-abc", events[0].uri, "has_duplicates", "PerfOrch: optimize has_duplicates"));
}

describe("a job replayed from its events", () => {
  it("lists stages, models tried, tests and verdicts in order", () => {
    const texts = replay().steps.map((s) => s.text);
    expect(texts[0]).toBe("optimize slow_functions.py::has_duplicates for exec time (policy sequential; categories: array)");
    expect(texts).toContain("tests on your code: 3 passed");
    expect(texts).toContain("refine: Memory ranks local/qwen2.5-coder-1.5b 0.75, local/qwen2.5-coder-0.5b no data");
    expect(texts.filter((t) => t.startsWith("refine: trying"))).toHaveLength(2);
    expect(texts.some((t) => t.startsWith("rolled back local/qwen2.5-coder-0.5b"))).toBe(true);
    expect(texts[texts.length - 1]).toMatch(/^accepted local\/qwen2.5-coder-1.5b \(refine\)/);
  });

  it("keeps the accepted candidate's verdict, not the last rolled-back one", () => {
    const job = replay();
    expect(job.status).toBe("succeeded");
    expect(job.verdictModel).toBe("local/qwen2.5-coder-1.5b");
    expect(job.verdictAccepted).toBe(true);
    expect(job.verdict?.decision).toBe("improved");
    expect(job.summary).toMatch(/^exec time -99.7 %/);
  });

  it("shows the samples of the comparison in progress only", () => {
    const firstDone = events.findIndex((e) => e.event.kind === "measured") + 1;
    expect(replay(firstDone).samples.map((s) => s.candidate)).toEqual([26.2e6, 26.3e6, 26.1e6]);
    const secondStarted = replay(events.findIndex((e, i) => i >= firstDone && e.event.kind === "measurement_sample") + 1);
    expect(secondStarted.samples).toHaveLength(1);
    expect(secondStarted.samples[0].candidate).toBe(78.7e3);
    expect(replay().samples).toHaveLength(3);
  });

  it("shows the last measured verdict while nothing is accepted yet", () => {
    const job = replay(events.findIndex((e) => e.event.kind === "rolled_back") + 1);
    expect(job.status).toBe("running");
    expect(job.verdict?.decision).toBe("not_improved");
    expect(job.verdictAccepted).toBe(false);
    expect(job.activity).toBe("rolled back local/qwen2.5-coder-0.5b");
  });

  it("does not change the job it was given", () => {
    const before = replay(3);
    const copy = JSON.stringify(before);
    applyEvent(before, events[3]);
    expect(JSON.stringify(before)).toBe(copy);
  });
});

describe("numbers", () => {
  it("formats the profiler's units", () => {
    expect(formatValue(26.565e6, "ns")).toBe("26.57 ms");
    expect(formatValue(78.7e3, "ns")).toBe("78.70 µs");
    expect(formatValue(512, "ns")).toBe("512.0 ns");
    expect(formatValue(3 * 1024 * 1024, "B")).toBe("3.000 MiB");
    expect(formatValue(100, "B")).toBe("100 B");
    expect(formatValue(0.93, "")).toBe("0.930");
  });

  it("states a verdict as the change of the metric with its interval", () => {
    const measured = events.filter((e) => e.event.kind === "measured").map((e) => e.event);
    const [bad, good] = measured.map((e) => (e.kind === "measured" ? verdictText(e.verdict) : ""));
    expect(good).toBe("exec time 26.57 ms → 78.70 µs: −99.7 % (95 % CI −99.8…−99.6 %, 3 processes), improved");
    expect(bad).toMatch(/no significant gain \(−1.2 %, 95 % CI −3.1…\+2.0 %; needs ≤ −5 %\)$/);
  });
});

describe("the job book", () => {
  it("ends a job that never sent a final event, once", () => {
    const book = new JobBook();
    book.start("t1", "file:///a.py", "f", "PerfOrch: fix f");
    expect(book.running()).toHaveLength(1);
    book.end("t1", "failed", "the PerfOrch server stopped");
    expect(book.running()).toHaveLength(0);
    expect(book.end("t1", "cancelled", "late")?.status).toBe("failed");
  });

  it("adds jobs it did not start and keeps a bounded history, newest first", () => {
    const book = new JobBook(2);
    for (const token of ["a", "b", "c"]) {
      book.start(token, "file:///a.py", "f", token);
      book.end(token, "succeeded", "done");
    }
    expect(book.all().map((j) => j.token)).toEqual(["c", "b"]);
    book.apply({ ...events[0], token: "other" });
    expect(book.all()[0].token).toBe("other");
    expect(book.get("other")?.status).toBe("running");
  });

  it("re-attaches the jobs a restarted server kept, without taking over the ones it knows", () => {
    const book = new JobBook();
    book.start("mine", "file:///a.py", "g", "PerfOrch: fix g");
    const base = { uri: events[0].uri, function: "has_duplicates", action: "optimize", metric: "exec_time" as const };
    const added = book.reattach([
      { ...base, token: "mine", state: "running", message: "", events: [] },
      { ...base, token: "done", state: "ended", message: "improved", events },
      { ...base, token: "cut", state: "ended", message: "interrupted when the server stopped", events: events.slice(0, 3) },
      { ...base, token: "again", state: "running", message: "run again: the server restarted", events: events.slice(0, 2) },
    ]);
    expect(added.map((j) => j.token)).toEqual(["done", "cut", "again"]);
    expect(book.get("done")?.status).toBe("succeeded");
    expect(book.get("done")?.verdictAccepted).toBe(true);
    expect(book.get("cut")?.status).toBe("cancelled");
    expect(book.get("cut")?.summary).toBe("interrupted when the server stopped");
    expect(book.get("again")?.activity).toBe("run again: the server restarted");
    expect(book.running().map((j) => j.token).sort()).toEqual(["again", "mine"]);
    expect(book.get("done")?.title).toBe("PerfOrch: optimize has_duplicates for exec time");
  });

  it("shows a job it ended when the server stopped as running again once the new server resumes it", () => {
    const book = new JobBook();
    book.start("t", "file:///a.py", "f", "PerfOrch: fix f");
    book.end("t", "failed", "the PerfOrch server stopped");
    const base = { uri: "file:///a.py", function: "f", action: "fix", metric: null, events: [] };
    expect(book.reattach([{ ...base, token: "t", state: "running", message: "run again" }])).toEqual([]);
    expect(book.get("t")?.status).toBe("running");
    expect(book.get("t")?.activity).toBe("run again");
  });
});
