import type { Budget, RoundResult } from '../budget.js';
import { freePort, resultRow, runServerAndClient, type ToolInfo, toolIterations } from './tool.js';

export const UCX_PERFTEST: ToolInfo = { command: 'ucx_perftest', debianPackage: 'ucx-utils' };

/** UCX over TCP only, as the targets specify: the C stack that busy-polls its sockets. */
const TCP_ONLY = { UCX_TLS: 'tcp' };

/**
 * Runs one ucx_perftest test and returns its CSV result row (-f -v: final figures only):
 * iterations, 50.0_percentile_lat, avg_lat, overall_lat, avg_bw, overall_bw, avg_mr, overall_mr.
 */
async function ucxPerftest(
  host: string,
  test: string,
  size: number,
  iterations: number,
  extra: string[] = [],
) {
  const port = await freePort();
  const warmUp = String(Math.ceil(iterations / 10));
  const output = await runServerAndClient(
    UCX_PERFTEST.command,
    port,
    { args: ['-p', String(port)], env: TCP_ONLY },
    {
      args: [
        host,
        '-p',
        String(port),
        '-t',
        test,
        '-s',
        String(size),
        '-n',
        String(iterations),
        '-w',
        warmUp,
        ...extra,
        '-f',
        '-v',
      ],
      env: TCP_ONLY,
    },
    300_000,
  );
  return resultRow(output, `ucx_perftest ${test}`, /^\d+,/, ',');
}

/** tag_lat: the round trip in µs (ucx_perftest prints half of it, its median as p50). */
export async function ucxTagLatency(host: string, size: number, budget: Budget): Promise<RoundResult> {
  const iterations = toolIterations(budget, 20);
  const [, halfP50] = await ucxPerftest(host, 'tag_lat', size, iterations);
  return { value: 2 * (halfP50 as number), operations: iterations };
}

/** tag_bw with `inFlight` sends outstanding, as ours: GB/s (ucx_perftest prints MB/s of 2²⁰ bytes). */
export async function ucxTagBandwidth(
  host: string,
  size: number,
  budget: Budget,
  inFlight: number,
): Promise<RoundResult> {
  const iterations = toolIterations(budget, 10);
  const row = await ucxPerftest(host, 'tag_bw', size, iterations, ['-O', String(inFlight)]);
  return { value: ((row[5] as number) * 2 ** 20) / 1e9, operations: iterations };
}
