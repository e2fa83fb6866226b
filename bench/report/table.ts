// The run as markdown tables, one per pattern: our transports, the peers beside them, and the ratios.
import {
  type BenchResults,
  PATTERN_ORDER,
  type Pattern,
  type Series,
  seriesShownFor,
  UNITS,
} from '../results.js';
import { figure, formatSize } from '../statistics.js';

/** The median, ± half the rounds' range as a share of it (with several rounds), and the p99 where known. */
function cell(series: Series, size: number): string {
  const point = series.points.find((p) => p.size === size);
  if (!point) return '–';
  const spread =
    point.rounds.length > 1 && point.median > 0
      ? ` ±${Math.round((50 * (point.max - point.min)) / point.median)}%`
      : '';
  return `${figure(point.median)}${spread}${point.p99 === undefined ? '' : ` (p99 ${figure(point.p99)})`}`;
}

function ratio(ours: Series, peer: Series, size: number): string {
  const a = ours.points.find((p) => p.size === size)?.median;
  const b = peer.points.find((p) => p.size === size)?.median;
  return a === undefined || b === undefined || b === 0 ? '–' : (a / b).toFixed(2);
}

function table(pattern: Pattern, all: Series[]): string {
  const shown = seriesShownFor(pattern, all);
  const ours = shown.filter((s) => s.role === 'ours');
  const peers = shown.filter((s) => s.role === 'peer');
  const pairs = ours.flatMap((o) => peers.filter((p) => p.fabric === o.fabric).map((p) => [o, p] as const));
  const columns = [...ours, ...peers];
  const sizes = [...new Set(columns.flatMap((s) => s.points.map((p) => p.size)))].sort((a, b) => a - b);
  const { unit, lowerIsBetter, label } = UNITS[pattern];
  const lines = [
    `${pattern}: ${label}${ours.some((s) => s.points.some((p) => p.p99 !== undefined)) ? ' (p99)' : ''}, ${unit} (${lowerIsBetter ? 'lower' : 'higher'} is better)`,
    '',
    `| size | ${[...columns.map((s) => s.name), ...pairs.map(([o, p]) => `${o.name} / ${p.name}`)].join(' | ')} |`,
    `|---:|${[...columns, ...pairs].map(() => '---:').join('|')}|`,
    ...sizes.map(
      (size) =>
        `| ${formatSize(size)} | ${[...columns.map((s) => cell(s, size)), ...pairs.map(([o, p]) => ratio(o, p, size))].join(' | ')} |`,
    ),
  ];
  return lines.join('\n');
}

/** Every pattern's table, then the peers that did not run and why. */
export function formatTables(results: BenchResults): string {
  const patterns = PATTERN_ORDER.filter((pattern) =>
    results.series.some((s) => s.pattern === pattern && (s.role === 'ours' || pattern !== 'stream')),
  );
  const sections = patterns.map((pattern) => table(pattern, results.series));
  const { rounds } = results.settings;
  sections.unshift(
    `${rounds} round${rounds > 1 ? 's' : ''}: medians${rounds > 1 ? ", ± half the rounds' range as a share of the median" : ''}; ratios are ours ÷ peer.`,
  );
  const missing = results.missing.map((m) => `- ${m.tool}: ${m.reason}`);
  if (missing.length > 0) sections.push(['peers not measured:', ...missing].join('\n'));
  return `${sections.join('\n\n')}\n`;
}
