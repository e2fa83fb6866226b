import { readFileSync } from 'node:fs';
import { cpus, hostname, release, totalmem, type } from 'node:os';
import { join } from 'node:path';
import { transports } from '../src/index.js';
import type { BenchEndpoint } from './endpoints.js';
import type { MeasureSettings } from './plan.js';
import type { BenchResults, MissingPeer, Series } from './results.js';

function machine(): BenchResults['machine'] {
  const cores = cpus();
  return {
    hostname: hostname(),
    os: type(),
    kernel: release(),
    cpus: cores.length,
    cpuModel: cores[0]?.model ?? 'unknown',
    memoryBytes: totalmem(),
  };
}

function packageVersion(): string {
  return JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')).version;
}

export interface Run {
  tool: BenchResults['tool'];
  started: Date;
  settings: MeasureSettings & { rounds: number; peers: boolean };
  endpoints: BenchEndpoint[];
  series: Series[];
  missing: MissingPeer[];
}

/** The results file of a run: this machine, the settings and every figure. */
export function assembleResults({ tool, started, settings, endpoints, series, missing }: Run): BenchResults {
  return {
    tool,
    version: packageVersion(),
    startedAt: started.toISOString(),
    seconds: Math.round((Date.now() - started.getTime()) / 1000),
    machine: machine(),
    node: process.version,
    settings: {
      transports: endpoints.map((e) => e.transport),
      patterns: [...settings.patterns],
      ...(settings.sizes ? { sizes: [...settings.sizes] } : {}),
      peers: settings.peers,
      rounds: settings.rounds,
      inFlight: settings.inFlight,
      ...(settings.budget.iterations === undefined
        ? { duration: settings.budget.seconds }
        : { iterations: settings.budget.iterations }),
    },
    transports: transports().map(({ kind, available, reason }) => ({
      kind,
      available,
      ...(reason ? { reason } : {}),
    })),
    // Where each ran; which reference tools stood beside it shows in the series.
    endpoints: endpoints.map(({ peers: _peers, ...where }) => where),
    series,
    missing,
  };
}
