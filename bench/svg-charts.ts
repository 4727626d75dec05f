/**
 * Minimal SVG charts for benchmark reports: no dependency, readable in any browser.
 */

export interface Series {
  name: string;
  color: string;
  values: number[];
  /** SVG stroke-dasharray of the line (lineChart only), e.g. '6 3'; solid when absent. */
  dash?: string;
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

const WIDTH = 720;
const LEFT = 60;
const TOP = 40;
const PLOT_H = 270;
const LEGEND_ITEM_W = 170;
/** Legend items per row: as many as fit beside the y axis (3), so a legend never runs off the chart. */
const LEGEND_PER_ROW = Math.max(1, Math.floor((WIDTH - LEFT) / LEGEND_ITEM_W));

/** Plot area geometry shared by the chart kinds. */
interface Plot {
  left: number;
  top: number;
  width: number;
  height: number;
  max: number;
}

/**
 * Title, axes, four grid lines from 0 to the largest value, the unit and the legend. Returns the
 * opening SVG parts and the plot area to draw into.
 */
function frame(title: string, series: Series[], unit: string, swatch: 'box' | 'line'): { parts: string[]; plot: Plot } {
  const legendRows = Math.max(1, Math.ceil(series.length / LEGEND_PER_ROW));
  const height = TOP + PLOT_H + 32 + legendRows * 18;
  const plot: Plot = { left: LEFT, top: TOP, width: WIDTH - LEFT - 20, height: PLOT_H, max: Math.max(1e-9, ...series.flatMap((s) => s.values)) };
  const bottom = plot.top + plot.height;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${WIDTH / 2}" y="20" text-anchor="middle" font-size="14">${esc(title)}</text>`,
    `<line x1="${plot.left}" y1="${bottom}" x2="${plot.left + plot.width}" y2="${bottom}" stroke="#333"/>`,
    `<line x1="${plot.left}" y1="${plot.top}" x2="${plot.left}" y2="${bottom}" stroke="#333"/>`,
  ];
  const digits = plot.max < 10 ? 2 : plot.max < 100 ? 1 : 0; // quarters of a small maximum (a ratio) need two
  for (let t = 0; t <= 4; t++) {
    const v = (plot.max * t) / 4;
    const y = bottom - (plot.height * t) / 4;
    parts.push(`<line x1="${plot.left - 4}" y1="${y}" x2="${plot.left + plot.width}" y2="${y}" stroke="#ddd"/>`);
    parts.push(`<text x="${plot.left - 6}" y="${y + 4}" text-anchor="end">${v.toFixed(digits)}</text>`);
  }
  const mid = plot.top + plot.height / 2;
  parts.push(`<text x="14" y="${mid}" transform="rotate(-90 14 ${mid})" text-anchor="middle">${esc(unit)}</text>`);
  parts.push(...legend(series, bottom + 28, swatch));
  return { parts, plot };
}

/** The legend from `top` down, wrapped into rows; `swatch`: a box per series for bars, a line (dashed as the series) for lines. */
function legend(series: Series[], top: number, swatch: 'box' | 'line'): string[] {
  return series.flatMap((s, j) => {
    const x = LEFT + (j % LEGEND_PER_ROW) * LEGEND_ITEM_W;
    const y = top + Math.floor(j / LEGEND_PER_ROW) * 18;
    const dash = s.dash === undefined ? '' : ` stroke-dasharray="${s.dash}"`;
    return [
      swatch === 'box'
        ? `<rect x="${x}" y="${y}" width="12" height="12" fill="${s.color}"/>`
        : `<line x1="${x}" y1="${y + 6}" x2="${x + 12}" y2="${y + 6}" stroke="${s.color}" stroke-width="2"${dash}/>`,
      `<text x="${x + 16}" y="${y + 10}">${esc(s.name)}</text>`,
    ];
  });
}

/** Grouped bars: one group per label, one bar per series. */
export function barChart(title: string, labels: string[], series: Series[], unit: string): string {
  const { parts, plot } = frame(title, series, unit, 'box');
  const bottom = plot.top + plot.height;
  const groupW = plot.width / Math.max(1, labels.length);
  const barW = Math.max(2, (groupW * 0.8) / Math.max(1, series.length));
  labels.forEach((label, i) => {
    const gx = plot.left + i * groupW + groupW * 0.1;
    series.forEach((s, j) => {
      const v = s.values[i] ?? 0;
      const h = (plot.height * v) / plot.max;
      parts.push(`<rect x="${gx + j * barW}" y="${bottom - h}" width="${barW - 1}" height="${h}" fill="${s.color}"><title>${esc(`${s.name} ${label}: ${v.toFixed(2)} ${unit}`)}</title></rect>`);
    });
    parts.push(`<text x="${gx + (barW * series.length) / 2}" y="${bottom + 15}" text-anchor="middle">${esc(label)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

/** One line per series over the labels (x), with a dot and a tooltip per value. */
export function lineChart(title: string, labels: string[], series: Series[], unit: string): string {
  const { parts, plot } = frame(title, series, unit, 'line');
  const bottom = plot.top + plot.height;
  const x = (i: number): number => plot.left + (plot.width * (i + 0.5)) / Math.max(1, labels.length);
  const y = (v: number): number => bottom - (plot.height * v) / plot.max;
  labels.forEach((label, i) => parts.push(`<text x="${x(i)}" y="${bottom + 15}" text-anchor="middle">${esc(label)}</text>`));
  for (const s of series) {
    const points = s.values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
    const dash = s.dash === undefined ? '' : ` stroke-dasharray="${s.dash}"`;
    parts.push(`<polyline points="${points}" fill="none" stroke="${s.color}" stroke-width="2"${dash}/>`);
    s.values.forEach((v, i) => {
      parts.push(`<circle cx="${x(i).toFixed(1)}" cy="${y(v).toFixed(1)}" r="2.5" fill="${s.color}"><title>${esc(`${s.name} ${labels[i] ?? i}: ${v.toFixed(2)} ${unit}`)}</title></circle>`);
    });
  }
  parts.push('</svg>');
  return parts.join('\n');
}
