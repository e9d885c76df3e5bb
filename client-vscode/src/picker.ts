/**
 * The answer to the server's `perforch/chooseModel`: a QuickPick of the Memory's ranking, each
 * model with its score and why it ranks there. Dismissing it lets PerfOrch choose.
 */

import * as vscode from "vscode";

import type { ChooseModelParams, ChooseModelResult } from "./protocol";
import { modelItems, pickerTitle, type ModelItem } from "./ranking";

export async function chooseModel(params: ChooseModelParams, token?: vscode.CancellationToken): Promise<ChooseModelResult> {
  const picked = await vscode.window.showQuickPick<ModelItem & vscode.QuickPickItem>(
    modelItems(params),
    {
      title: pickerTitle(params),
      placeHolder: "Models ranked by Memory (lower 95 % bound of the measured success rate)",
      matchOnDescription: true,
      matchOnDetail: true,
      ignoreFocusOut: true,
    },
    token,
  );
  return { model: picked?.model ?? null };
}
