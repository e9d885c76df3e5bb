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

/** One document's proposed change, ready for a diff. */
export interface Proposal {
  uri: string;
  /** The document version the edit was computed on (null: the file on disk). */
  version: number | null;
  edits: TextEdit[];
  label: string;
  description: string;
}

function isTextDocumentEdit(change: unknown): change is TextDocumentEdit {
  return typeof change === "object" && change !== null && "textDocument" in change && "edits" in change;
}

/**
 * The proposal to review, or undefined when the edit is not PerfOrch's result awaiting
 * confirmation (then it is applied as any other server edit). PerfOrch sends one document's
 * edits under its own change annotation.
 */
export function reviewable(params: ApplyWorkspaceEditParams): Proposal | undefined {
  const edit: WorkspaceEdit = params.edit;
  const annotation: ChangeAnnotation | undefined = edit.changeAnnotations?.[RESULT_ANNOTATION];
  if (!annotation?.needsConfirmation) return undefined;
  const changes = (edit.documentChanges ?? []).filter(isTextDocumentEdit);
  if (changes.length !== 1 || (edit.documentChanges ?? []).length !== 1) return undefined;
  const change = changes[0];
  const edits: TextEdit[] = [];
  for (const e of change.edits) {
    if (!("newText" in e)) return undefined; // a snippet edit: not PerfOrch's
    edits.push({ range: e.range, newText: e.newText });
  }
  return {
    uri: change.textDocument.uri,
    version: change.textDocument.version,
    edits,
    label: annotation.label || params.label || "PerfOrch change",
    description: annotation.description ?? "",
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
