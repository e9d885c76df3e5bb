/**
 * The measurement samples of a comparison as a small SVG chart: one column per fresh process,
 * the baseline's value (hollow) beside the candidate's (filled), on a shared axis from zero, so
 * the gap and its spread across processes are visible at a glance. Pure string output: the view
 * inlines it, and the unit tests read it.
 */

import { formatValue, type Sample } from "./jobs";
import type { Scaling } from "./protocol";

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

/** "n^2.0", or "n^?" when too few sizes could be fitted. */
export function exponentText(k: number | null): string {
  return k === null ? "n^?" : `n^${k.toFixed(1)}`;
}

/**
 * Complexity evidence on log-log axes: one call's cost against the input's size, before (hollow)
 * and after (filled), joined by lines; the fitted sizes shaded; each side's fitted exponent in
 * the caption line.
 */
export function scalingChart(s: Scaling, size: ChartSize = { width: 300, height: 150 }): string {
  const points = s.points.filter((p) => p.size > 0 && p.baseline > 0 && p.candidate > 0);
  if (points.length < 2) return "";
  const xs = points.map((p) => Math.log10(p.size));
  const ys = points.flatMap((p) => [Math.log10(p.baseline), Math.log10(p.candidate)]);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  const plotW = size.width - PAD.left - PAD.right;
  const plotH = size.height - PAD.top - PAD.bottom - 12;
  const x = (n: number) => PAD.left + ((Math.log10(n) - x0) / (x1 - x0 || 1)) * plotW;
  const y = (v: number) => PAD.top + plotH - ((Math.log10(v) - y0) / (y1 - y0 || 1)) * plotH;
  const line = (side: "baseline" | "candidate") =>
    `<polyline class="${side}" fill="none" points="${points
      .map((p) => `${x(p.size).toFixed(1)},${y(p[side]).toFixed(1)}`)
      .join(" ")}"/>` +
    points
      .map(
        (p) =>
          `<circle class="${side}" cx="${x(p.size).toFixed(1)}" cy="${y(p[side]).toFixed(1)}" r="3">` +
          `<title>${escapeXml(`n = ${p.size}: ${side === "baseline" ? "before" : "after"} ${formatValue(p[side], s.unit)}`)}</title></circle>`,
      )
      .join("");
  const fitX = x(Math.max(s.fitted_from, points[0].size));
  const shade = s.unfitted
    ? ""
    : `<rect class="fitted" x="${fitX.toFixed(1)}" y="${PAD.top}" width="${(PAD.left + plotW - fitX).toFixed(1)}" height="${plotH}"/>`;
  const bottom = PAD.top + plotH;
  const axis =
    `<line class="axis" x1="${PAD.left}" y1="${PAD.top}" x2="${PAD.left}" y2="${bottom}"/>` +
    `<line class="axis" x1="${PAD.left}" y1="${bottom}" x2="${PAD.left + plotW}" y2="${bottom}"/>` +
    `<text class="label" x="${PAD.left - 4}" y="${PAD.top + 8}" text-anchor="end">${escapeXml(formatValue(10 ** y1, s.unit))}</text>` +
    `<text class="label" x="${PAD.left - 4}" y="${bottom}" text-anchor="end">${escapeXml(formatValue(10 ** y0, s.unit))}</text>` +
    `<text class="label" x="${PAD.left}" y="${bottom + 12}">n = ${points[0].size}</text>` +
    `<text class="label" x="${PAD.left + plotW}" y="${bottom + 12}" text-anchor="end">${points[points.length - 1].size}</text>` +
    `<text class="label" x="${PAD.left + plotW / 2}" y="${size.height - 4}" text-anchor="middle">` +
    `${escapeXml(
      s.unfitted
        ? "○ before, ● after: not fitted (the same inputs at every n)"
        : `○ before ${exponentText(s.exponent_before)} → ● after ${exponentText(s.exponent_after)}`,
    )}</text>`;
  return (
    `<svg class="scaling" xmlns="http://www.w3.org/2000/svg" width="${size.width}" height="${size.height}" ` +
    `viewBox="0 0 ${size.width} ${size.height}" role="img" aria-label="cost against input size, log-log">` +
    shade +
    axis +
    line("baseline") +
    line("candidate") +
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
