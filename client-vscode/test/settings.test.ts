import { describe, expect, it } from "vitest";

import { RestartPolicy } from "../src/restart";
import { clientSettings, serverCommand, serverSettings } from "../src/settings";
import { LET_PERFORCH_CHOOSE, modelItems, pickerTitle } from "../src/ranking";

describe("settings", () => {
  it("sends the server only its own, set keys", () => {
    const sent = serverSettings({ policy: "top1", n: 3, memoryPath: "", python: null, server: { interpreter: "/x" }, other: 1 });
    expect(sent).toEqual({ policy: "top1", n: 3 });
  });

  it("reads the client-only settings defensively", () => {
    expect(clientSettings(undefined)).toEqual({ interpreter: "", args: [], maxRestarts: 3 });
    expect(clientSettings({ interpreter: " /venv/bin/python ", args: ["--x", 3], maxRestarts: -1 })).toEqual({
      interpreter: "/venv/bin/python",
      args: ["--x"],
      maxRestarts: 3,
    });
  });

  it("starts the server with the configured Python, else the workspace's .venv, else python3", () => {
    const none = () => false;
    const venv = (p: string) => p === "/w/.venv/bin/python";
    const args = ["-P", "-m", "server", "lsp"];
    expect(serverCommand({ interpreter: "/opt/py", args: [], maxRestarts: 3 }, "/w", venv)).toEqual({ command: "/opt/py", args });
    expect(serverCommand({ interpreter: "", args: [], maxRestarts: 3 }, "/w/", venv)).toEqual({ command: "/w/.venv/bin/python", args });
    expect(serverCommand({ interpreter: "", args: ["--tcp", "1"], maxRestarts: 3 }, "/w", none)).toEqual({
      command: "python3",
      args: [...args, "--tcp", "1"],
    });
  });
});

describe("restarts after a crash", () => {
  it("allows the limit within the window, then stops until the window has passed", () => {
    let now = 0;
    const policy = new RestartPolicy(2, 60_000, () => now);
    expect(policy.crashed().restart).toBe(true);
    now += 1000;
    expect(policy.crashed().restart).toBe(true);
    now += 1000;
    const third = policy.crashed();
    expect(third.restart).toBe(false);
    expect(third.message).toMatch(/crashed 3 times in 1 min/);
    now += 61_000;
    expect(policy.crashed().restart).toBe(true);
  });

  it("never restarts with a limit of 0, and starts afresh after a reset", () => {
    const policy = new RestartPolicy(0, 60_000, () => 0);
    expect(policy.crashed().restart).toBe(false);
    const one = new RestartPolicy(1, 60_000, () => 0);
    one.crashed();
    one.reset();
    expect(one.crashed().restart).toBe(true);
  });
});

describe("the model question", () => {
  const params = {
    token: "t",
    uri: "file:///w/a.py",
    function: "f",
    stage: "refine" as const,
    ranking: [
      { model: "local/big", score: 0.75, why: "refine array python: 6 of 8 improved", observations: 8 },
      { model: "local/small", score: null, why: "no observations yet" },
    ],
  };

  it("lists each model with its score and why, best first, then lets PerfOrch choose", () => {
    const items = modelItems(params);
    expect(items.map((i) => i.label)).toEqual(["local/big", "local/small", LET_PERFORCH_CHOOSE]);
    expect(items[0].description).toBe("score 0.75 · 8 measured · ranked first");
    expect(items[0].detail).toBe("refine array python: 6 of 8 improved");
    expect(items[1].description).toBe("no data in Memory · 0 measured");
    expect(items.map((i) => i.model)).toEqual(["local/big", "local/small", null]);
    expect(pickerTitle(params)).toBe("PerfOrch: which model should refine f()?");
  });
});
