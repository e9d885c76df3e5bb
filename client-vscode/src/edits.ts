/**
 * The server's proposed changes (workspace/applyEdit) as the review sees them: which edits need
 * the person's review, the text a document would have after one, and the same edit stripped of
 * its confirmation flag once it has been accepted (so VS Code applies it without a second
 * prompt). Pure, on LSP's JSON types.
 */

import type {
  AnnotatedTextEdit,
  ApplyWorkspaceEditParams,
  ChangeAnnotation,
  TextDocumentEdit,
  TextEdit,
  WorkspaceEdit,
} from "vscode-languageclient";

import { RESULT_ANNOTATION } from "./protocol";

/** One hunk of a proposal: its edit and its annotation (the hunk's lines, what was measured). */
export interface Hunk {
  id: string;
  edit: TextEdit;
  label: string;
}

/** One document's proposed change, ready for a diff. */
export interface Proposal {
  uri: string;
  /** The document version the edit was computed on (null: the file on disk). */
  version: number | null;
  edits: TextEdit[];
  /** The edits with their annotations, in document order: the person may keep some. */
  hunks: Hunk[];
  label: string;
  description: string;
}

function isTextDocumentEdit(change: unknown): change is TextDocumentEdit {
  return typeof change === "object" && change !== null && "textDocument" in change && "edits" in change;
}

/** Whether ``id`` is one of PerfOrch's result annotations (``perforch.result`` or ``perforch.result.N``). */
export function isResultAnnotation(id: string): boolean {
  return id === RESULT_ANNOTATION || id.startsWith(`${RESULT_ANNOTATION}.`);
}

/** The measured part of a hunk's label ("change 1 of 2 (line 9): exec time …" → "exec time …"). */
function measured(label: string): string {
  const m = /^change \d+ of \d+ \([^)]*\): (.*)$/s.exec(label);
  return m ? m[1] : label;
}

/**
 * The proposal to review, or undefined when the edit is not PerfOrch's result awaiting
 * confirmation (then it is applied as any other server edit). PerfOrch sends one document's
 * edits, each hunk under its own change annotation.
 */
export function reviewable(params: ApplyWorkspaceEditParams): Proposal | undefined {
  const edit: WorkspaceEdit = params.edit;
  const annotations = Object.entries(edit.changeAnnotations ?? {}).filter(([id]) => isResultAnnotation(id));
  if (!annotations.length || !annotations.every(([, a]) => a.needsConfirmation)) return undefined;
  const changes = (edit.documentChanges ?? []).filter(isTextDocumentEdit);
  if (changes.length !== 1 || (edit.documentChanges ?? []).length !== 1) return undefined;
  const change = changes[0];
  const edits: TextEdit[] = [];
  const hunks: Hunk[] = [];
  for (const e of change.edits) {
    if (!("newText" in e)) return undefined; // a snippet edit: not PerfOrch's
    const plain = { range: e.range, newText: e.newText };
    edits.push(plain);
    const id = "annotationId" in e ? e.annotationId : RESULT_ANNOTATION;
    hunks.push({ id, edit: plain, label: edit.changeAnnotations?.[id]?.label ?? id });
  }
  const first: ChangeAnnotation = annotations[0][1];
  return {
    uri: change.textDocument.uri,
    version: change.textDocument.version,
    edits,
    hunks,
    label: measured(first.label) || params.label || "PerfOrch change",
    description: first.description ?? "",
  };
}

/** The same request with every change annotation marked as already confirmed. */
export function confirmed(params: ApplyWorkspaceEditParams): ApplyWorkspaceEditParams {
  const annotations = params.edit.changeAnnotations;
  if (!annotations) return params;
  const cleared: Record<string, ChangeAnnotation> = {};
  for (const [id, a] of Object.entries(annotations)) {
    cleared[id] = { ...a, needsConfirmation: false };
  }
  return { ...params, edit: { ...params.edit, changeAnnotations: cleared } };
}

/**
 * The confirmed request keeping only the hunks whose annotation is in ``keep`` (the others are
 * left out: the document keeps its own lines there). Every hunk is a range of the original
 * document, so any subset applies cleanly.
 */
export function onlyHunks(params: ApplyWorkspaceEditParams, keep: ReadonlySet<string>): ApplyWorkspaceEditParams {
  const sure = confirmed(params);
  const documentChanges = (sure.edit.documentChanges ?? []).map((change) => {
    if (!isTextDocumentEdit(change)) return change;
    const edits = change.edits.filter((e) => {
      const id = "annotationId" in e ? (e as AnnotatedTextEdit).annotationId : RESULT_ANNOTATION;
      return keep.has(id ?? RESULT_ANNOTATION);
    });
    return { ...change, edits };
  });
  const annotations = Object.fromEntries(
    Object.entries(sure.edit.changeAnnotations ?? {}).filter(([id]) => keep.has(id) || !isResultAnnotation(id)),
  );
  return { ...sure, edit: { ...sure.edit, documentChanges, changeAnnotations: annotations } };
}

/** A hunk as a pick: "Change 1 of 2 · line 9", the measured evidence and model, its first new line. */
export function hunkPick(h: Hunk): { id: string; label: string; description: string; detail: string; picked: boolean } {
  const m = /^change (\d+) of (\d+) \(([^)]*)\): (.*)$/s.exec(h.label);
  const first = h.edit.newText.split("\n").find((l) => l.trim()) ?? "(lines removed)";
  return {
    id: h.id,
    label: m ? `Change ${m[1]} of ${m[2]} · ${m[3]}` : h.label,
    description: m ? m[4] : "",
    detail: first.trim(),
    picked: true,
  };
}

/** Offset of an LSP position (UTF-16 code units, as JavaScript strings count) in ``text``. */
export function offsetAt(text: string, line: number, character: number): number {
  let offset = 0;
  for (let l = 0; l < line; l++) {
    const nl = text.indexOf("\n", offset);
    if (nl < 0) return text.length;
    offset = nl + 1;
  }
  const lineEnd = text.indexOf("\n", offset);
  const end = lineEnd < 0 ? text.length : lineEnd;
  return Math.min(offset + character, end);
}

/** ``text`` after ``edits`` (non-overlapping, as LSP requires; applied from the end). */
export function applyTextEdits(text: string, edits: (TextEdit | AnnotatedTextEdit)[]): string {
  const spans = edits
    .map((e) => ({
      start: offsetAt(text, e.range.start.line, e.range.start.character),
      end: offsetAt(text, e.range.end.line, e.range.end.character),
      newText: e.newText,
    }))
    .sort((a, b) => b.start - a.start || b.end - a.end);
  let out = text;
  let limit = Infinity;
  for (const s of spans) {
    if (s.end > limit) throw new Error("overlapping edits");
    out = out.slice(0, s.start) + s.newText + out.slice(s.end);
    limit = s.start;
  }
  return out;
}
