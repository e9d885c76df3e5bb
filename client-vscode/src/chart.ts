/**
 * The measurement samples of a comparison as a small SVG chart: one column per fresh process,
 * the baseline's value (hollow) beside the candidate's (filled), on a shared axis from zero, so
 * the gap and its spread across processes are visible at a glance. Pure string output: the view
 * inlines it, and the unit tests read it.
 */

import { formatValue, type Sample } from "./jobs";

export interface ChartSize {
  width: number;
  height: number;
}

const PAD = { left: 56, right: 8, top: 8, bottom: 18 };

export function samplesChart(samples: Sample[], size: ChartSize = { width: 260, height: 90 }): string {
  if (samples.length === 0) return "";
  const unit = samples[0].unit;
  const top = Math.max(...samples.flatMap((s) => [s.baseline, s.candidate]), 0);
  const max = top > 0 ? top * 1.1 : 1;
  const plotW = size.width - PAD.left - PAD.right;
  const plotH = size.height - PAD.top - PAD.bottom;
  const column = plotW / samples.length;
  const y = (v: number) => PAD.top + plotH - (Math.max(v, 0) / max) * plotH;
  const marks: string[] = [];
  samples.forEach((s, i) => {
    const cx = PAD.left + column * (i + 0.5);
    const title = `process ${s.process}: baseline ${formatValue(s.baseline, unit)}, candidate ${formatValue(s.candidate, unit)}`;
    marks.push(
      `<g><title>${escapeXml(title)}</title>` +
        `<circle class="baseline" cx="${(cx - 4).toFixed(1)}" cy="${y(s.baseline).toFixed(1)}" r="3.5"/>` +
        `<circle class="candidate" cx="${(cx + 4).toFixed(1)}" cy="${y(s.candidate).toFixed(1)}" r="3.5"/></g>`,
    );
  });
  const axis =
    `<line class="axis" x1="${PAD.left}" y1="${PAD.top}" x2="${PAD.left}" y2="${PAD.top + plotH}"/>` +
    `<line class="axis" x1="${PAD.left}" y1="${PAD.top + plotH}" x2="${size.width - PAD.right}" y2="${PAD.top + plotH}"/>` +
    `<text class="label" x="${PAD.left - 4}" y="${PAD.top + 8}" text-anchor="end">${escapeXml(formatValue(max, unit))}</text>` +
    `<text class="label" x="${PAD.left - 4}" y="${PAD.top + plotH}" text-anchor="end">0</text>` +
    `<text class="label" x="${PAD.left + plotW / 2}" y="${size.height - 4}" text-anchor="middle">process (○ before, ● after)</text>`;
  return (
    `<svg class="samples" xmlns="http://www.w3.org/2000/svg" width="${size.width}" height="${size.height}" ` +
    `viewBox="0 0 ${size.width} ${size.height}" role="img" aria-label="measurement samples">` +
    axis +
    marks.join("") +
    `</svg>`
  );
}

export function escapeXml(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}
