/**
 * Review of every change the server proposes: its `workspace/applyEdit` opens a diff editor
 * (the file ↔ the proposed text) with Accept, Choose Changes and Reject (editor title buttons
 * and commands). Accept applies the edit (if the document is still the version the job ran on)
 * and saves the file; Choose Changes lists the hunks (each with what was measured and the model)
 * to keep some and drop others — the server then tests what was kept, since that combination
 * was never measured; Reject, or closing the diff, leaves the file as it was. Reviews are taken
 * one at a time, in the order they arrive.
 */

import * as path from "node:path";
import * as vscode from "vscode";
import type { ApplyWorkspaceEditParams, ApplyWorkspaceEditResult } from "vscode-languageclient";

import { applyTextEdits, confirmed, hunkPick, onlyHunks, reviewable, type Hunk, type Proposal } from "./edits";

export const PROPOSED_SCHEME = "perforch-proposed";
const CONTEXT_KEY = "perforch.reviewing";
const HUNKS_KEY = "perforch.reviewingHunks"; // the proposal has more than one hunk

type Decision = "accepted" | "rejected" | { keep: Set<string> };
type Next = (params: ApplyWorkspaceEditParams) => Promise<ApplyWorkspaceEditResult>;

export class Review implements vscode.Disposable {
  private readonly texts = new Map<string, string>();
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  private readonly disposables: vscode.Disposable[] = [];
  private queue: Promise<unknown> = Promise.resolve();
  private pending: { right: vscode.Uri; hunks: Hunk[]; decide: (d: Decision) => void } | undefined;
  private counter = 0;

  constructor(private readonly log: vscode.LogOutputChannel) {
    this.disposables.push(
      this.changed,
      vscode.workspace.registerTextDocumentContentProvider(PROPOSED_SCHEME, {
        onDidChange: this.changed.event,
        provideTextDocumentContent: (uri) => this.texts.get(uri.toString()) ?? "",
      }),
      vscode.commands.registerCommand("perforch.acceptChange", () => this.decide("accepted")),
      vscode.commands.registerCommand("perforch.rejectChange", () => this.decide("rejected")),
      vscode.commands.registerCommand("perforch.chooseChanges", () => this.choose()),
      vscode.window.tabGroups.onDidChangeTabs((e) => this.onTabsClosed(e.closed)),
    );
  }

  /** The language client's applyEdit middleware: PerfOrch's results go through review. */
  handleApplyEdit(params: ApplyWorkspaceEditParams, next: Next): Promise<ApplyWorkspaceEditResult> {
    const proposal = reviewable(params);
    if (proposal === undefined) return next(params);
    const turn = this.queue.then(() => this.review(params, proposal, next));
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  private decide(decision: Decision): boolean {
    if (this.pending === undefined) {
      void vscode.window.showInformationMessage("PerfOrch: no proposed change is waiting for review.");
      return false;
    }
    this.pending.decide(decision);
    return true;
  }

  /** The hunks as a multi-pick, all kept at first; none kept is a rejection. */
  private async choose(): Promise<boolean> {
    const pending = this.pending;
    if (pending === undefined) return this.decide("rejected"); // says nothing is waiting
    const items = pending.hunks.map(hunkPick);
    const picked = await vscode.window.showQuickPick(items, {
      canPickMany: true,
      title: "PerfOrch: keep which changes? (what you keep is tested again: the combination was not measured)",
      placeHolder: "Uncheck the changes to leave out, then OK",
      ignoreFocusOut: true,
    });
    if (picked === undefined || this.pending !== pending) return false; // dismissed: still reviewing
    const keep = new Set(picked.map((p) => p.id));
    if (keep.size === pending.hunks.length) pending.decide("accepted");
    else if (keep.size === 0) pending.decide("rejected");
    else pending.decide({ keep });
    return true;
  }

  private onTabsClosed(closed: readonly vscode.Tab[]): void {
    const right = this.pending?.right.toString();
    if (right === undefined) return;
    for (const tab of closed) {
      if (tab.input instanceof vscode.TabInputTextDiff && tab.input.modified.toString() === right) {
        this.pending?.decide("rejected");
      }
    }
  }

  private async review(params: ApplyWorkspaceEditParams, proposal: Proposal, next: Next): Promise<ApplyWorkspaceEditResult> {
    const target = vscode.Uri.parse(proposal.uri);
    let document: vscode.TextDocument;
    try {
      document = await vscode.workspace.openTextDocument(target);
    } catch (err) {
      return { applied: false, failureReason: `cannot open ${target.fsPath}: ${String(err)}` };
    }
    if (proposal.version !== null && document.version !== proposal.version) {
      return { applied: false, failureReason: "not applied: the file changed while the job ran" };
    }
    const right = vscode.Uri.from({
      scheme: PROPOSED_SCHEME,
      path: target.path,
      query: `proposal=${++this.counter}`,
    });
    this.texts.set(right.toString(), applyTextEdits(document.getText(), proposal.edits));
    const decision = new Promise<Decision>((resolve) => {
      this.pending = { right, hunks: proposal.hunks, decide: resolve };
    });
    await vscode.commands.executeCommand("setContext", CONTEXT_KEY, true);
    await vscode.commands.executeCommand("setContext", HUNKS_KEY, proposal.hunks.length > 1);
    try {
      const title = `PerfOrch: ${path.basename(target.fsPath)} ↔ proposed (${proposal.label})`;
      await vscode.commands.executeCommand("vscode.diff", target, right, title, { preview: false });
      this.log.info(`review: ${proposal.label} — proposed for ${target.fsPath}`);
      // No notification with buttons: VS Code cannot take one back once the diff is decided.
      vscode.window.setStatusBarMessage(`PerfOrch: review the proposed change — ✓ Accept, ☑ Choose Changes or ✕ Reject in the editor title`, decision);
      const verdict = await decision;
      this.log.info(`review: ${typeof verdict === "string" ? verdict : "partly accepted"} (${target.fsPath})`);
      if (verdict === "rejected") return { applied: false, failureReason: "rejected in review" };
      const kept = verdict === "accepted" ? confirmed(params) : onlyHunks(params, verdict.keep);
      if (verdict !== "accepted") {
        this.log.info(`review: kept ${verdict.keep.size} of ${proposal.hunks.length} changes: ${[...verdict.keep].join(", ")}`);
      }
      const result = await next(kept);
      if (result.applied) {
        const saved = await document.save();
        this.log.info(`review: applied and ${saved ? "saved" : "NOT saved"} ${target.fsPath}`);
      }
      return result;
    } finally {
      this.pending = undefined;
      await vscode.commands.executeCommand("setContext", CONTEXT_KEY, false);
      await vscode.commands.executeCommand("setContext", HUNKS_KEY, false);
      await this.closeDiff(right);
      this.texts.delete(right.toString());
    }
  }

  private async closeDiff(right: vscode.Uri): Promise<void> {
    const tabs = vscode.window.tabGroups.all
      .flatMap((g) => g.tabs)
      .filter((t) => t.input instanceof vscode.TabInputTextDiff && t.input.modified.toString() === right.toString());
    if (tabs.length) await vscode.window.tabGroups.close(tabs);
  }

  dispose(): void {
    this.pending?.decide("rejected");
    for (const d of this.disposables) d.dispose();
  }
}
