/**
 * The model question as QuickPick items: each model of the Memory's ranking with its score and
 * why it ranks there, best first, then "let PerfOrch choose". Pure (plain item objects).
 */

import type { ChooseModelParams } from "./protocol";

export interface ModelItem {
  label: string;
  description: string;
  detail: string;
  /** The model to reply with; null: let the policy choose. */
  model: string | null;
}

export const LET_PERFORCH_CHOOSE = "Let PerfOrch choose";

export function modelItems(params: ChooseModelParams): ModelItem[] {
  const items: ModelItem[] = params.ranking.map((r, i) => ({
    label: r.model,
    description:
      (r.score === null ? "no data in Memory" : `score ${r.score.toFixed(2)}`) +
      ` · ${r.observations ?? 0} measured` +
      (i === 0 && r.score !== null ? " · ranked first" : ""),
    detail: r.why,
    model: r.model,
  }));
  items.push({
    label: LET_PERFORCH_CHOOSE,
    description: "",
    detail: `the ${params.stage} policy tries the models in this order until one is accepted`,
    model: null,
  });
  return items;
}

export function pickerTitle(params: ChooseModelParams): string {
  return `PerfOrch: which model should ${params.stage} ${params.function}()?`;
}
