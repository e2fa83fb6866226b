// Progress while the suite runs (minutes of work): a live bar on a terminal, a line per tenth otherwise.
import type { Progress } from '../rounds.js';

const BAR = 24;

function clock(ms: number): string {
  const seconds = Math.round(ms / 1000);
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
}

/** Reports progress on `stream` (stderr by default); silent when `quiet`. */
export function progressReporter(stream: NodeJS.WriteStream = process.stderr, quiet = false): Progress {
  const started = Date.now();
  let lastTenth = -1;
  return (done, total, label) => {
    if (quiet) return;
    const share = total === 0 ? 1 : done / total;
    const elapsed = clock(Date.now() - started);
    if (stream.isTTY) {
      const filled = Math.round(share * BAR);
      const bar = `${'█'.repeat(filled)}${'░'.repeat(BAR - filled)}`;
      const line = `${bar} ${String(Math.round(share * 100)).padStart(3)}% ${elapsed} ${label}`;
      stream.write(`\r\x1b[2K${line.slice(0, (stream.columns || 100) - 1)}${done === total ? '\n' : ''}`);
      return;
    }
    const tenth = Math.floor(share * 10);
    if (tenth !== lastTenth) {
      lastTenth = tenth;
      stream.write(`bench: ${Math.round(share * 100)}% after ${elapsed} (${label})\n`);
    }
  };
}
