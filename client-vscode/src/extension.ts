/**
 * The extension's entry point and composition: starts `perforch lsp` with the configured Python
 * (restarted after a crash, within a limit), and wires the server's messages to the editor —
 * job events to the PerfOrch view, the output channel and the status bar; the model question to a
 * QuickPick; proposed changes to the diff review.
 */

import { existsSync } from "node:fs";
import * as vscode from "vscode";
import {
  CancellationToken,
  CloseAction,
  ErrorAction,
  ExecuteCommandRequest,
  LanguageClient,
  ResponseError,
  State,
  type LanguageClientOptions,
  type ServerOptions,
} from "vscode-languageclient/node";

import { JobBook, isRunning } from "./jobs";
import { chooseModel } from "./picker";
import {
  CHOOSE_MODEL,
  JOB_ENDED,
  JOB_EVENT,
  LIST_JOBS,
  METRIC_LABELS,
  SERVER_CANCEL,
  SERVER_SAVE_WORKLOAD,
  SERVER_COMMANDS,
  OPTIMIZE_CHANGED,
  type ChooseModelParams,
  type JobEndedParams,
  type JobEventParams,
  type KeptJob,
  type Metric,
} from "./protocol";
import { RestartPolicy } from "./restart";
import { Review } from "./review";
import { SERVER_KEYS, clientSettings, serverCommand, serverSettings } from "./settings";
import { JobStatusBar } from "./status";
import { JobsView, VIEW_ID } from "./view";

const LANGUAGES = ["python", "cpp", "c", "java", "go", "rust"];

let extension: Extension | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  extension = new Extension();
  context.subscriptions.push(extension);
  await extension.start();
}

export async function deactivate(): Promise<void> {
  await extension?.stop();
  extension = undefined;
}

class Extension implements vscode.Disposable {
  private readonly log = vscode.window.createOutputChannel("PerfOrch", { log: true });
  private readonly book = new JobBook();
  private readonly status = new JobStatusBar();
  private readonly review = new Review(this.log);
  private readonly view = new JobsView(
    () => this.book.all(),
    (token) => void this.cancel(token),
    (token) => void this.saveWorkload(token),
  );
  private readonly disposables: vscode.Disposable[] = [];
  private client: LanguageClient | undefined;
  private restarts = new RestartPolicy(clientSettings(this.section().get("server")).maxRestarts);

  constructor() {
    this.disposables.push(
      vscode.commands.registerCommand("perforch.restartServer", () => this.restart()),
      vscode.commands.registerCommand("perforch.cancelJob", (token?: string) => this.cancel(token)),
      vscode.commands.registerCommand("perforch.showJobs", () => vscode.commands.executeCommand(`${VIEW_ID}.focus`)),
      vscode.commands.registerCommand("perforch.showOutput", () => this.log.show(true)),
      vscode.commands.registerCommand("perforch.optimizeChangedFunctions", () => this.optimizeChanged()),
      vscode.workspace.onDidChangeConfiguration((e) => this.configurationChanged(e)),
    );
  }

  private section(): vscode.WorkspaceConfiguration {
    return vscode.workspace.getConfiguration("perforch");
  }

  /** The server's settings as configured (defaults included), without client-only keys. */
  private serverSection(): Record<string, unknown> {
    const config = this.section();
    return serverSettings(Object.fromEntries(SERVER_KEYS.map((key) => [key, config.get(key)])));
  }

  async start(): Promise<void> {
    const settings = clientSettings(this.section().get("server"));
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    const { command, args } = serverCommand(settings, folder, existsSync);
    const serverOptions: ServerOptions = { command, args, options: { cwd: folder, env: process.env } };
    this.log.info(`starting the PerfOrch server: ${command} ${args.join(" ")}`);
    const clientOptions: LanguageClientOptions = {
      documentSelector: LANGUAGES.map((language) => ({ scheme: "file", language })),
      outputChannel: this.log,
      initializationOptions: this.serverSection(),
      errorHandler: {
        error: () => ({ action: ErrorAction.Continue }),
        closed: () => {
          this.endAll("the PerfOrch server stopped");
          const decision = this.restarts.crashed();
          this.log.warn(decision.message);
          if (!decision.restart) {
            void vscode.window.showErrorMessage(decision.message, "Show Output").then((b) => b && this.log.show());
          }
          return { action: decision.restart ? CloseAction.Restart : CloseAction.DoNotRestart, message: decision.message, handled: true };
        },
      },
      middleware: {
        workspace: {
          // The server reads only its own keys; client-only settings (perforch.server) stay here.
          configuration: async (params, token, next) => {
            const values: unknown = await next(params, token);
            if (!Array.isArray(values)) return values as ResponseError<void>;
            return (values as unknown[]).map((value, i) =>
              params.items[i]?.section === "perforch" ? this.serverSection() : value,
            );
          },
          handleApplyEdit: (params, next) =>
            this.review.handleApplyEdit(params, async (p) => {
              const result = await next(p, CancellationToken.None);
              if (result instanceof ResponseError) throw result;
              return result;
            }),
        },
        executeCommand: async (command, args, next) => {
          const result: unknown = await next(command, args);
          if ((SERVER_COMMANDS as readonly string[]).includes(command)) this.jobStarted(command, args, result);
          return result;
        },
      },
    };
    const client = new LanguageClient("perforch", "PerfOrch", serverOptions, clientOptions);
    client.onNotification(JOB_EVENT, (params: JobEventParams) => this.jobEvent(params));
    client.onNotification(JOB_ENDED, (params: JobEndedParams) => this.jobEnded(params));
    client.onRequest(CHOOSE_MODEL, (params: ChooseModelParams, token: vscode.CancellationToken) => chooseModel(params, token));
    client.onDidChangeState((e) => {
      if (e.newState === State.Stopped) this.endAll("the PerfOrch server stopped");
      this.status.update(this.book.running(), e.newState === State.Stopped ? "server stopped" : "");
    });
    this.client = client;
    try {
      await client.start();
      this.log.info("PerfOrch server running");
      void this.reattach(client);
    } catch (err) {
      const message =
        `PerfOrch: the server did not start with “${command} ${args.join(" ")}” (${String(err)}). ` +
        "Set perforch.server.interpreter to a Python that has PerfOrch installed.";
      this.log.error(message);
      void vscode.window.showErrorMessage(message, "Open Settings").then((b) => {
        if (b) void vscode.commands.executeCommand("workbench.action.openSettings", "perforch.server");
      });
      // The settings can reach the extension late (seen in code-server: the server started
      // with the default python3 while perforch.server.interpreter was set, and no change
      // event followed): look again once, and start with them if they name another command.
      setTimeout(() => {
        const again = serverCommand(clientSettings(this.section().get("server")), folder, existsSync);
        if (again.command !== command && this.client === client && !client.isRunning()) {
          this.log.info(`the settings now name ${again.command}: starting again with it`);
          void this.restart();
        }
      }, 5000);
    }
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client?.isRunning()) await client.stop();
  }

  private async restart(): Promise<void> {
    this.restarts = new RestartPolicy(clientSettings(this.section().get("server")).maxRestarts);
    await this.stop();
    await this.start();
  }

  private configurationChanged(e: vscode.ConfigurationChangeEvent): void {
    if (e.affectsConfiguration("perforch.server")) {
      void this.restart();
    } else if (e.affectsConfiguration("perforch") && this.client?.isRunning()) {
      void this.client.sendNotification("workspace/didChangeConfiguration", { settings: { perforch: this.serverSection() } });
    }
  }

  /** Every function the working tree's changes touch, queued on the server one after another;
   * each appears in the job list at once (queued jobs wait there until their turn). */
  private async optimizeChanged(): Promise<void> {
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri ?? vscode.window.activeTextEditor?.document.uri;
    if (!folder) {
      void vscode.window.showErrorMessage("PerfOrch: open a folder in a git repository first");
      return;
    }
    const reply = await vscode.commands.executeCommand<{
      jobs?: { uri: string; function: string; token?: string; error?: string }[];
      error?: string;
    } | null>(OPTIMIZE_CHANGED, folder.toString(), null, null);
    const queued = reply?.jobs ?? [];
    for (const j of queued) {
      if (j.token) this.book.start(j.token, j.uri, j.function, `PerfOrch: optimize ${j.function} (changed)`);
      else this.log.info(`not queued: ${j.function}: ${j.error ?? "?"}`);
    }
    this.changed();
    const started = queued.filter((j) => j.token).length;
    if (!reply?.error) {
      void vscode.window.showInformationMessage(
        `PerfOrch: ${started} changed function${started === 1 ? "" : "s"} queued` +
          (queued.length > started ? `, ${queued.length - started} without tests (see the output)` : ""),
      );
    }
  }

  /** The jobs the server kept from before it started (a window reload), back in the list. */
  private async reattach(client: LanguageClient): Promise<void> {
    try {
      const reply = await client.sendRequest<{ jobs?: KeptJob[] } | null>(LIST_JOBS);
      const added = this.book.reattach(reply?.jobs ?? []);
      for (const job of added) this.log.info(`job ${job.token} kept by the server: ${job.status}: ${job.activity}`);
      if (added.length > 0) this.changed();
    } catch (err) {
      this.log.warn(`the server's kept jobs could not be listed: ${String(err)}`);
    }
  }

  private jobStarted(command: string, args: unknown[], result: unknown): void {
    const token = (result as { token?: unknown } | null)?.token;
    if (typeof token !== "string") return;
    const [uri, fn, metric] = args as [string, string, Metric | null];
    const action = command.replace("perforch.", "");
    const what = action === "optimize" ? ` for ${METRIC_LABELS[metric ?? "exec_time"] ?? metric}` : "";
    this.book.start(token, uri, fn, `PerfOrch: ${action} ${fn}${what}`);
    this.log.info(`job ${token}: ${action} ${fn}${what} (${uri})`);
    this.changed();
  }

  private jobEvent(params: JobEventParams): void {
    const before = this.book.get(params.token)?.steps.length ?? 0;
    const job = this.book.apply(params);
    for (const step of job.steps.slice(before)) this.log.info(`job ${params.token}: ${step.text}`);
    if (job.summary && !isRunning(job)) {
      this.log.info(`job ${params.token}: ${job.status}: ${job.summary}`);
    }
    this.changed();
  }

  private jobEnded(params: JobEndedParams): void {
    const status = params.status === "succeeded" || params.status === "cancelled" ? params.status : "failed";
    this.book.end(params.token, status, params.message);
    this.log.info(`job ${params.token} ended (${params.status}): ${params.message}`);
    this.changed();
  }

  private endAll(reason: string): void {
    for (const job of this.book.running()) this.book.end(job.token, "failed", reason);
    this.changed();
  }

  private changed(): void {
    this.view.refresh();
    this.status.update(this.book.running());
  }

  private async cancel(token?: string): Promise<void> {
    const running = this.book.running();
    let target = token;
    if (target === undefined) {
      if (running.length === 0) {
        void vscode.window.showInformationMessage("PerfOrch: no job is running.");
        return;
      }
      if (running.length === 1) {
        target = running[0].token;
      } else {
        const picked = await vscode.window.showQuickPick(
          running.map((j) => ({ label: j.title, description: j.activity, token: j.token })),
          { title: "PerfOrch: cancel which job?" },
        );
        target = picked?.token;
      }
    }
    if (target === undefined || !this.client?.isRunning()) return;
    this.log.info(`job ${target}: cancel requested`);
    await this.client.sendRequest(ExecuteCommandRequest.type, { command: SERVER_CANCEL, arguments: [target] });
  }

  /**
   * A job's generated workload as a file in the project: the server suggests where (beside the
   * project's tests, or as its language's benchmark), the user picks the path, the server writes
   * it (never over a file) and says so; the new file is opened.
   */
  private async saveWorkload(token: string): Promise<void> {
    if (!this.client?.isRunning()) return;
    const ask = (target: string | null) =>
      this.client?.sendRequest(ExecuteCommandRequest.type, { command: SERVER_SAVE_WORKLOAD, arguments: [token, target] }) as
        | Promise<{ suggested?: string; files?: string[]; error?: string } | null>
        | undefined;
    const where = await ask(null);
    if (!where?.suggested) return; // the server said why
    const picked = await vscode.window.showSaveDialog({
      defaultUri: vscode.Uri.file(where.suggested),
      title: "PerfOrch: save the generated workload",
    });
    if (picked === undefined) return;
    const saved = await ask(picked.fsPath);
    this.log.info(`job ${token}: save workload as ${picked.fsPath}: ${saved?.error ?? "saved"}`);
    if (saved?.files?.length) await vscode.window.showTextDocument(vscode.Uri.file(saved.files[0]));
  }

  dispose(): void {
    for (const d of [...this.disposables, this.view, this.review, this.status]) d.dispose();
    this.log.dispose();
  }
}
