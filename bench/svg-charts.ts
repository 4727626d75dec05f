/**
 * Minimal SVG bar charts for benchmark reports: no dependency, readable in any browser.
 */

export interface Series {
  name: string;
  color: string;
  values: number[];
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Grouped bars: one group per label, one bar per series. */
export function barChart(title: string, labels: string[], series: Series[], unit: string): string {
  const width = 720;
  const height = 360;
  const left = 60;
  const bottom = 50;
  const top = 40;
  const plotW = width - left - 20;
  const plotH = height - top - bottom;
  const max = Math.max(1e-9, ...series.flatMap((s) => s.values));
  const groupW = plotW / Math.max(1, labels.length);
  const barW = Math.max(2, (groupW * 0.8) / Math.max(1, series.length));
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="14">${esc(title)}</text>`,
    `<line x1="${left}" y1="${top + plotH}" x2="${left + plotW}" y2="${top + plotH}" stroke="#333"/>`,
    `<line x1="${left}" y1="${top}" x2="${left}" y2="${top + plotH}" stroke="#333"/>`,
  ];
  for (let t = 0; t <= 4; t++) {
    const v = (max * t) / 4;
    const y = top + plotH - (plotH * t) / 4;
    parts.push(`<line x1="${left - 4}" y1="${y}" x2="${left + plotW}" y2="${y}" stroke="#ddd"/>`);
    parts.push(`<text x="${left - 6}" y="${y + 4}" text-anchor="end">${v.toFixed(v < 10 ? 1 : 0)}</text>`);
  }
  parts.push(`<text x="14" y="${top + plotH / 2}" transform="rotate(-90 14 ${top + plotH / 2})" text-anchor="middle">${esc(unit)}</text>`);
  labels.forEach((label, i) => {
    const gx = left + i * groupW + groupW * 0.1;
    series.forEach((s, j) => {
      const v = s.values[i] ?? 0;
      const h = (plotH * v) / max;
      parts.push(`<rect x="${gx + j * barW}" y="${top + plotH - h}" width="${barW - 1}" height="${h}" fill="${s.color}"><title>${esc(`${s.name} ${label}: ${v.toFixed(2)} ${unit}`)}</title></rect>`);
    });
    parts.push(`<text x="${gx + (barW * series.length) / 2}" y="${top + plotH + 15}" text-anchor="middle">${esc(label)}</text>`);
  });
  series.forEach((s, j) => {
    const x = left + j * 170;
    parts.push(`<rect x="${x}" y="${height - 22}" width="12" height="12" fill="${s.color}"/>`);
    parts.push(`<text x="${x + 16}" y="${height - 12}">${esc(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}
