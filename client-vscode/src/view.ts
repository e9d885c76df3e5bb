/**
 * The PerfOrch view (a webview in its own activity-bar container): every job's live steps, the
 * samples chart and the before/after numbers, re-rendered at most every 150 ms while events
 * stream in. Its Cancel and Save-workload buttons post back to the extension.
 */

import { randomBytes } from "node:crypto";
import * as vscode from "vscode";

import { jobsHtml } from "./html";
import type { Job } from "./jobs";

export const VIEW_ID = "perforch.jobs";

export class JobsView implements vscode.WebviewViewProvider, vscode.Disposable {
  private view: vscode.WebviewView | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly registration: vscode.Disposable;

  constructor(
    private readonly jobs: () => Job[],
    private readonly cancel: (token: string) => void,
    private readonly saveWorkload: (token: string) => void,
  ) {
    this.registration = vscode.window.registerWebviewViewProvider(VIEW_ID, this);
  }

  resolveWebviewView(view: vscode.WebviewView): void {
    this.view = view;
    view.webview.options = { enableScripts: true, enableCommandUris: false };
    view.webview.onDidReceiveMessage((message: unknown) => {
      const m = message as { type?: unknown; token?: unknown };
      if (m.type === "cancel" && typeof m.token === "string") this.cancel(m.token);
      if (m.type === "saveWorkload" && typeof m.token === "string") this.saveWorkload(m.token);
    });
    view.onDidDispose(() => (this.view = undefined));
    this.render();
  }

  /** Re-render soon (coalescing bursts of events). */
  refresh(): void {
    if (this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.render();
    }, 150);
  }

  private render(): void {
    if (this.view === undefined) return;
    const nonce = randomBytes(16).toString("base64");
    this.view.webview.html = jobsHtml(this.jobs(), nonce, this.view.webview.cspSource);
  }

  dispose(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.registration.dispose();
  }
}
