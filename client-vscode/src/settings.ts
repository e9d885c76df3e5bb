/**
 * The extension's settings (section ``perforch``): the server's own settings, sent to it as they
 * are (its pydantic model validates them and names what it ignores), and the few settings only
 * the client reads, under ``perforch.server``, which are never sent. Pure.
 */

/** Keys of the server's settings model (server/lsp/settings.py); a test keeps them in step. */
export const SERVER_KEYS = [
  "models",
  "memoryPath",
  "policy",
  "n",
  "thresholdPct",
  "generatedWorkload",
  "repairRounds",
  "secondChance",
  "profileFeedback",
  "explain",
  "metric",
  "maxLlmCalls",
  "maxSeconds",
  "maxCostUsd",
  "autoApply",
  "python",
  "modelPicker",
] as const;

/** Client-only settings, under ``perforch.server``. */
export interface ClientSettings {
  /** Python interpreter that has PerfOrch installed and runs ``perforch lsp``. */
  interpreter: string;
  /** Extra arguments for ``perforch lsp``. */
  args: string[];
  /** Restarts allowed within three minutes after the server crashes. */
  maxRestarts: number;
}

export const CLIENT_DEFAULTS: ClientSettings = { interpreter: "", args: [], maxRestarts: 3 };

type Raw = Record<string, unknown>;

/** The part of the ``perforch`` section the server reads, with unset values left out. */
export function serverSettings(section: Raw | null | undefined): Raw {
  const out: Raw = {};
  if (!section) return out;
  for (const key of SERVER_KEYS) {
    const value = section[key];
    if (value !== undefined && value !== null && value !== "") out[key] = value;
  }
  return out;
}

export function clientSettings(server: Raw | null | undefined): ClientSettings {
  const s = server ?? {};
  const interpreter = typeof s.interpreter === "string" ? s.interpreter.trim() : "";
  const args = Array.isArray(s.args) ? s.args.filter((a): a is string => typeof a === "string") : [];
  const max = typeof s.maxRestarts === "number" && s.maxRestarts >= 0 ? Math.floor(s.maxRestarts) : CLIENT_DEFAULTS.maxRestarts;
  return { interpreter, args, maxRestarts: max };
}

/**
 * The command that starts the server: ``<python> -P -m server lsp`` (-P: the user's own files in
 * the working directory must not shadow the standard library). Without a configured interpreter,
 * a ``.venv`` in the first workspace folder, else ``python3``.
 */
export function serverCommand(
  settings: ClientSettings,
  workspaceFolder: string | undefined,
  exists: (path: string) => boolean,
): { command: string; args: string[] } {
  let python = settings.interpreter;
  if (!python && workspaceFolder) {
    const venv = `${workspaceFolder.replace(/\/+$/, "")}/.venv/bin/python`;
    if (exists(venv)) python = venv;
  }
  return { command: python || "python3", args: ["-P", "-m", "server", "lsp", ...settings.args] };
}
