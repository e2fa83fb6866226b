// The run as a hand-built, self-contained SVG chart.
import {
  type BenchResults,
  PATTERN_ORDER,
  type Pattern,
  type Point,
  type Series,
  STREAM_COMPARED,
  seriesShownFor,
  UNITS,
} from '../results.js';
import { formatSize } from '../statistics.js';

const WIDTH = 1000;
const COLUMNS = 2;
const HEADER = 44;
const PANEL_WIDTH = WIDTH / COLUMNS;
const PLOT = { left: 64, right: 24, top: 44, height: 220 };
const LEGEND_TOP = 38;
const LEGEND_LINE = 16;
const LEGEND_COLUMN = 200;
/** Panels that also draw the peers' byte-stream series, to compare ours with. */
const PALETTE = '#1f77b4 #ff7f0e #2ca02c #d62728 #9467bd #8c564b #e377c2 #7f7f7f #bcbd22 #17becf'.split(' ');
const STYLE =
  'text{font-family:sans-serif;font-size:11px;fill:#333}.head{font-size:16px;font-weight:bold}' +
  '.title{font-size:13px;font-weight:bold}.grid{stroke:#e3e3e3;stroke-width:1}';
const XML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
};

interface Line {
  series: Series;
  points: Point[];
  dashed: boolean;
}

interface Panel {
  pattern: Pattern;
  lines: Line[];
}

/** A scale in axis coordinates: `at` maps a value to them (its log for log axes), ticks are in them. */
interface Axis {
  lo: number;
  hi: number;
  ticks: number[];
  at: (value: number) => number;
  label: (tick: number) => string;
}

/**
 * The run as an SVG document a person can open in a browser: one panel per pattern that ran, one line per
 * series.
 */
export function chartSvg(results: BenchResults): string {
  const { version, machine, startedAt } = results;
  const title = `fabric-transport bench ${version} · ${machine.hostname} · ${startedAt}`;
  const header = `<text class="head" x="16" y="28">${escapeXml(title)}</text>`;
  const shown = panels(results.series);
  if (shown.length === 0) {
    return svg(120, [
      header,
      `<text class="title" x="${WIDTH / 2}" y="84" text-anchor="middle">no results</text>`,
    ]);
  }
  const colour = colours(results.series);
  const legendRows = Math.max(...shown.map((p) => Math.ceil(p.lines.length / 2)));
  const panelHeight = PLOT.top + PLOT.height + LEGEND_TOP + legendRows * LEGEND_LINE + 8;
  const body = shown.map((panel, i) =>
    renderPanel(panel, colour, (i % COLUMNS) * PANEL_WIDTH, HEADER + Math.floor(i / COLUMNS) * panelHeight),
  );
  return svg(HEADER + Math.ceil(shown.length / COLUMNS) * panelHeight, [header, ...body]);
}

function svg(height: number, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}"` +
      ` viewBox="0 0 ${WIDTH} ${height}">`,
    `<style>${STYLE}</style>`,
    '<rect width="100%" height="100%" fill="#fff"/>',
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

/** The panels to draw, in PATTERN_ORDER, each with the points that its axes can show. */
function panels(series: Series[]): Panel[] {
  const streamHosted = series.some((s) => STREAM_COMPARED.includes(s.pattern));
  return PATTERN_ORDER.flatMap((pattern) => {
    if (pattern === 'stream' && streamHosted) return [];
    const drawn = seriesShownFor(pattern, series);
    const log = UNITS[pattern].lowerIsBetter;
    const lines = drawn
      .map((s) => ({
        series: s,
        points: plottable(s.points, log),
        dashed: s.role === 'peer' || s.pattern !== pattern,
      }))
      .filter((line) => line.points.length > 0);
    return lines.length > 0 ? [{ pattern, lines }] : [];
  });
}

function plottable(points: Point[], log: boolean): Point[] {
  return points
    .filter((p) => p.size > 0 && Number.isFinite(p.median) && (log ? p.median > 0 : p.median >= 0))
    .sort((a, b) => a.size - b.size);
}

/** The same colour for a name in every panel: palette order is the order names first appear in. */
function colours(series: Series[]): (name: string) => string {
  const names = [...new Set(series.map((s) => s.name))];
  return (name) => PALETTE[names.indexOf(name) % PALETTE.length];
}

function renderPanel(panel: Panel, colour: (name: string) => string, left: number, top: number): string {
  const { unit, lowerIsBetter, label } = UNITS[panel.pattern];
  const points = panel.lines.flatMap((line) => line.points);
  const xAxis = logAxis(
    points.map((p) => p.size),
    Math.log2,
    (e) => formatSize(2 ** e),
  );
  const values = points.map((p) => p.median);
  const yAxis = lowerIsBetter ? logAxis(values, Math.log10, formatPowerOfTen) : linearAxis(values);
  const plotLeft = left + PLOT.left;
  const plotTop = top + PLOT.top;
  const plotWidth = PANEL_WIDTH - PLOT.left - PLOT.right;
  const plotBottom = plotTop + PLOT.height;
  const x = (coordinate: number) => plotLeft + fraction(xAxis, coordinate) * plotWidth;
  const y = (coordinate: number) => plotBottom - fraction(yAxis, coordinate) * PLOT.height;
  const title = `${label} (${unit}, ${lowerIsBetter ? 'lower' : 'higher'} is better)`;
  const parts = [
    `<text class="title" x="${left + 16}" y="${top + 24}">${escapeXml(title)}</text>`,
    ...xAxis.ticks.flatMap((t) => [
      `<line class="grid" x1="${n(x(t))}" y1="${plotTop}" x2="${n(x(t))}" y2="${plotBottom}"/>`,
      `<text x="${n(x(t))}" y="${plotBottom + 16}" text-anchor="middle">${escapeXml(xAxis.label(t))}</text>`,
    ]),
    ...yAxis.ticks.flatMap((t) => [
      `<line class="grid" x1="${plotLeft}" y1="${n(y(t))}" x2="${plotLeft + plotWidth}" y2="${n(y(t))}"/>`,
      `<text x="${plotLeft - 6}" y="${n(y(t) + 4)}" text-anchor="end">${escapeXml(yAxis.label(t))}</text>`,
    ]),
    `<rect x="${plotLeft}" y="${plotTop}" width="${plotWidth}" height="${PLOT.height}"` +
      ' fill="none" stroke="#999"/>',
  ];
  for (const line of panel.lines) {
    const stroke = `stroke="${colour(line.series.name)}" ${strokeStyle(line.dashed)}`;
    const xy = line.points.map((p) => [x(xAxis.at(p.size)), y(yAxis.at(p.median))]);
    if (xy.length > 1) {
      parts.push(
        `<polyline fill="none" ${stroke} points="${xy.map(([px, py]) => `${n(px)},${n(py)}`).join(' ')}"/>`,
      );
    }
    line.points.forEach((p, i) => {
      const tip = `${line.series.name}: ${formatSize(p.size)}, ${Number(p.median.toPrecision(4))} ${unit}`;
      parts.push(marker(xy[i][0], xy[i][1], colour(line.series.name), escapeXml(tip)));
    });
  }
  panel.lines.forEach((line, i) => {
    const lx = plotLeft + (i % 2) * LEGEND_COLUMN;
    const ly = plotBottom + LEGEND_TOP + Math.floor(i / 2) * LEGEND_LINE;
    const stroke = `stroke="${colour(line.series.name)}" ${strokeStyle(line.dashed)}`;
    parts.push(
      `<line x1="${lx}" y1="${ly - 4}" x2="${lx + 28}" y2="${ly - 4}" ${stroke}/>`,
      marker(lx + 14, ly - 4, colour(line.series.name)),
      `<text x="${lx + 36}" y="${ly}">${escapeXml(line.series.name)}</text>`,
    );
  });
  return `<g>\n${parts.join('\n')}\n</g>`;
}

function strokeStyle(dashed: boolean): string {
  return dashed ? 'stroke-width="1.5" stroke-dasharray="6 4"' : 'stroke-width="2.5"';
}

function marker(cx: number, cy: number, fill: string, tip?: string): string {
  const circle = `<circle cx="${n(cx)}" cy="${n(cy)}" r="3.5" fill="${fill}"`;
  return tip === undefined ? `${circle}/>` : `${circle}><title>${tip}</title></circle>`;
}

/** Whole decades (or powers of two) around the values, with at most about 8 ticks. */
function logAxis(values: number[], log: (value: number) => number, label: (tick: number) => string): Axis {
  let lo = Math.floor(Math.min(...values.map(log)));
  let hi = Math.ceil(Math.max(...values.map(log)));
  if (lo === hi) {
    lo -= 1;
    hi += 1;
  }
  const step = Math.ceil((hi - lo) / 7);
  return { lo, hi, ticks: range(Math.ceil(lo / step) * step, hi, step), at: log, label };
}

/** From 0 to a round number above the values, in at most 6 steps of 1, 2 or 5 times a power of ten. */
function linearAxis(values: number[]): Axis {
  const top = Math.max(...values) || 1;
  const magnitude = 10 ** Math.floor(Math.log10(top / 6));
  const step = ([1, 2, 5].find((m) => m * magnitude >= top / 6) ?? 10) * magnitude;
  const decimals = Math.max(0, -Math.floor(Math.log10(step)));
  const hi = Math.ceil(top / step) * step;
  return { lo: 0, hi, ticks: range(0, hi, step), at: (value) => value, label: (t) => t.toFixed(decimals) };
}

function range(from: number, to: number, step: number): number[] {
  const count = Math.floor((to - from) / step + 1e-9) + 1;
  return Array.from({ length: count }, (_, i) => from + i * step);
}

function fraction(axis: Axis, coordinate: number): number {
  return (coordinate - axis.lo) / (axis.hi - axis.lo);
}

function formatPowerOfTen(exponent: number): string {
  return exponent >= -3 && exponent <= 5 ? String(10 ** exponent) : `1e${exponent}`;
}

/** A coordinate rounded for compact SVG text. */
function n(value: number): string {
  return String(Math.round(value * 10) / 10);
}

function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => XML_ESCAPES[c]);
}
