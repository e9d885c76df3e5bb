import { describe, expect, it } from "vitest";
import type { ApplyWorkspaceEditParams } from "vscode-languageclient";

import { applyTextEdits, confirmed, hunkPick, offsetAt, onlyHunks, reviewable } from "../src/edits";

const TEXT = "def f():\n    return 1\n\ndef g():\n    return 2\n";

function proposal(needsConfirmation: boolean): ApplyWorkspaceEditParams {
  return {
    label: "PerfOrch: exec time −50.0 %",
    edit: {
      documentChanges: [
        {
          textDocument: { uri: "file:///w/a.py", version: 7 },
          edits: [
            {
              range: { start: { line: 0, character: 0 }, end: { line: 2, character: 0 } },
              newText: "def f():\n    return 0 + 1\n",
              annotationId: "perforch.result",
            },
          ],
        },
      ],
      changeAnnotations: { "perforch.result": { label: "exec time −50.0 %", needsConfirmation, description: "by m" } },
    },
  };
}

describe("which edits are reviewed", () => {
  it("takes PerfOrch's result awaiting confirmation", () => {
    const p = reviewable(proposal(true));
    expect(p?.uri).toBe("file:///w/a.py");
    expect(p?.version).toBe(7);
    expect(p?.label).toBe("exec time −50.0 %");
    expect(p?.edits).toHaveLength(1);
  });

  it("leaves auto-applied and foreign edits alone", () => {
    expect(reviewable(proposal(false))).toBeUndefined();
    expect(reviewable({ edit: { changes: { "file:///w/a.py": [] } } })).toBeUndefined();
  });

  it("clears the confirmation once accepted, changing nothing else", () => {
    const before = proposal(true);
    const after = confirmed(before);
    expect(after.edit.changeAnnotations?.["perforch.result"].needsConfirmation).toBe(false);
    expect(after.edit.documentChanges).toBe(before.edit.documentChanges);
    expect(before.edit.changeAnnotations?.["perforch.result"].needsConfirmation).toBe(true);
  });
});

describe("the proposed text", () => {
  it("replaces exactly the edited lines", () => {
    const p = reviewable(proposal(true))!;
    expect(applyTextEdits(TEXT, p.edits)).toBe("def f():\n    return 0 + 1\n\ndef g():\n    return 2\n");
  });

  it("applies several edits against the original positions", () => {
    const edits = [
      { range: { start: { line: 1, character: 11 }, end: { line: 1, character: 12 } }, newText: "10" },
      { range: { start: { line: 4, character: 11 }, end: { line: 4, character: 12 } }, newText: "20" },
    ];
    expect(applyTextEdits(TEXT, edits)).toBe("def f():\n    return 10\n\ndef g():\n    return 20\n");
  });

  it("rejects overlapping edits", () => {
    const edits = [
      { range: { start: { line: 0, character: 0 }, end: { line: 2, character: 0 } }, newText: "x" },
      { range: { start: { line: 1, character: 0 }, end: { line: 3, character: 0 } }, newText: "y" },
    ];
    expect(() => applyTextEdits(TEXT, edits)).toThrow(/overlapping/);
  });

  it("clamps positions past a line or the document", () => {
    expect(offsetAt(TEXT, 0, 99)).toBe(8);
    expect(offsetAt(TEXT, 99, 0)).toBe(TEXT.length);
  });
});

/** Two hunks, as the server sends them: each edit under its own annotation. */
function twoHunks(): ApplyWorkspaceEditParams {
  const measured = "exec time −50.0 % (95 % CI −55.0…−45.0), qwen";
  return {
    label: `PerfOrch: ${measured}`,
    edit: {
      documentChanges: [
        {
          textDocument: { uri: "file:///w/a.py", version: 7 },
          edits: [
            {
              range: { start: { line: 1, character: 0 }, end: { line: 2, character: 0 } },
              newText: "    return 0 + 1\n",
              annotationId: "perforch.result.1",
            },
            {
              range: { start: { line: 4, character: 0 }, end: { line: 5, character: 0 } },
              newText: "    return 0 + 2\n",
              annotationId: "perforch.result.2",
            },
          ],
        },
      ],
      changeAnnotations: {
        "perforch.result.1": { label: `change 1 of 2 (line 2): ${measured}`, needsConfirmation: true },
        "perforch.result.2": { label: `change 2 of 2 (line 5): ${measured}`, needsConfirmation: true },
      },
    },
  };
}

describe("hunk by hunk", () => {
  it("lists each hunk with its lines, what was measured and the model", () => {
    const p = reviewable(twoHunks())!;
    expect(p.label).toBe("exec time −50.0 % (95 % CI −55.0…−45.0), qwen");
    expect(p.hunks.map((h) => h.id)).toEqual(["perforch.result.1", "perforch.result.2"]);
    const pick = hunkPick(p.hunks[1]);
    expect(pick.label).toBe("Change 2 of 2 · line 5");
    expect(pick.description).toBe("exec time −50.0 % (95 % CI −55.0…−45.0), qwen");
    expect(pick.detail).toBe("return 0 + 2");
    expect(pick.picked).toBe(true);
  });

  it("keeps only the chosen hunks, confirmed, and the rest of the document as it was", () => {
    const kept = onlyHunks(twoHunks(), new Set(["perforch.result.2"]));
    const p = reviewable(twoHunks())!;
    const change = kept.edit.documentChanges![0] as { edits: { annotationId?: string }[] };
    expect(change.edits.map((e) => e.annotationId)).toEqual(["perforch.result.2"]);
    expect(Object.keys(kept.edit.changeAnnotations ?? {})).toEqual(["perforch.result.2"]);
    expect(kept.edit.changeAnnotations?.["perforch.result.2"].needsConfirmation).toBe(false);
    const only = applyTextEdits(TEXT, [p.hunks[1].edit]);
    expect(only).toBe("def f():\n    return 1\n\ndef g():\n    return 0 + 2\n");
    expect(applyTextEdits(TEXT, p.edits)).toBe("def f():\n    return 0 + 1\n\ndef g():\n    return 0 + 2\n");
  });

  it("is not a review when any hunk was auto-applied", () => {
    const auto = twoHunks();
    auto.edit.changeAnnotations!["perforch.result.2"].needsConfirmation = false;
    expect(reviewable(auto)).toBeUndefined();
  });
});
