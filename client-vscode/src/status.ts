/**
 * The status bar item: the running job and what it is doing now ("refine: asking …"); a click
 * cancels it (or asks which, when several run). Idle, it opens the PerfOrch view.
 */

import * as vscode from "vscode";

import type { Job } from "./jobs";

export class JobStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem("perforch.status", vscode.StatusBarAlignment.Left, 50);

  constructor() {
    this.item.name = "PerfOrch";
    this.update([]);
    this.item.show();
  }

  update(running: Job[], serverState = ""): void {
    if (running.length === 0) {
      this.item.text = serverState ? `$(pulse) PerfOrch: ${serverState}` : "$(pulse) PerfOrch";
      this.item.tooltip = "PerfOrch: show the jobs view";
      this.item.command = "perforch.showJobs";
      return;
    }
    const job = running[0];
    const more = running.length > 1 ? ` (+${running.length - 1})` : "";
    const activity = job.activity.length > 60 ? `${job.activity.slice(0, 57)}…` : job.activity;
    this.item.text = `$(sync~spin) ${job.title}${more}: ${activity}`;
    this.item.tooltip = `${job.title}\n${job.activity}\n\nClick to cancel.`;
    this.item.command = { title: "Cancel", command: "perforch.cancelJob" };
  }

  dispose(): void {
    this.item.dispose();
  }
}
