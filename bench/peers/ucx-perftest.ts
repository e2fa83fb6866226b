import type { Budget, RoundResult } from '../budget.js';
import { freePort, resultRow, runServerAndClient, type ToolInfo, toolIterations } from './tool.js';

export const UCX_PERFTEST: ToolInfo = { command: 'ucx_perftest', debianPackage: 'ucx-utils' };

/**
 * The UCX transports a run may use, as the environment of both its processes, and what the table calls them.
 * Whatever the transports, ucx_perftest's own side channel (-p) is a TCP socket on the endpoint's address.
 */
export interface UcxTransports {
  /** Shown after the test in the series' name: 'posix' for `ucx_perftest tag_bw (posix)`; none for TCP. */
  label?: string;
  env: Record<string, string>;
}

/** UCX over TCP only, as the targets specify: the C stack that busy-polls its sockets. */
export const UCX_TCP: UcxTransports = { env: { UCX_TLS: 'tcp' } };

/**
 * POSIX shared memory only (UCX's mm transport: a FIFO and bounce buffers in a segment under /dev/shm,
 * which each side maps through /proc/<pid>/fd unless UCX_POSIX_USE_PROC_LINK=n): the lowest same-host
 * latency in C, and its copy-in, copy-out bandwidth.
 */
export const UCX_POSIX: UcxTransports = { label: 'posix', env: { UCX_TLS: 'posix' } };

/**
 * Cross-memory attach: the receiver pulls each message's data out of the sender's memory with one
 * process_vm_readv (UCX's rendezvous get), from the first byte up (UCX_RNDV_THRESH=0: by default, 4 KiB
 * messages still go eagerly through posix, and the series would not be cma's there). cma carries no messages
 * of its own, so posix carries the connection's wire-up, the tag headers and the rendezvous control: with
 * UCX_TLS=cma alone, ucp_ep_create fails with "Destination is unreachable". UCX leaves cma out where
 * process_vm_writev is refused (a seccomp filter, Yama's ptrace_scope 2 without CAP_SYS_PTRACE, or 3; at 1 it
 * allows any tracer itself): the run then fails with UCX's warning rather than measure posix as cma.
 */
export const UCX_CMA: UcxTransports = {
  label: 'cma',
  env: { UCX_TLS: 'posix,cma', UCX_RNDV_THRESH: '0' },
};

/** The series' name of `test` over `transports`, e.g. 'ucx_perftest tag_lat (posix)'. */
export function ucxSeriesName(test: 'tag_lat' | 'tag_bw', transports: UcxTransports): string {
  return `ucx_perftest ${test}${transports.label ? ` (${transports.label})` : ''}`;
}

/**
 * Runs one ucx_perftest test and returns its CSV result row (-f -v: final figures only):
 * iterations, 50.0_percentile_lat, avg_lat, overall_lat, avg_bw, overall_bw, avg_mr, overall_mr.
 */
async function ucxPerftest(
  host: string,
  transports: UcxTransports,
  test: string,
  size: number,
  iterations: number,
  extra: string[] = [],
) {
  const port = await freePort();
  const warmUp = String(Math.ceil(iterations / 10));
  const { env } = transports;
  const output = await runServerAndClient(
    UCX_PERFTEST.command,
    port,
    { args: ['-p', String(port)], env },
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
      env,
      // UCX only warns (on stdout, its log) when a transport it was given cannot run here, and runs without.
      refuse: /transport '[^']*' is not available/,
    },
    300_000,
  );
  return resultRow(output, `ucx_perftest ${test}`, /^\d+,/, ',');
}

/**
 * tag_lat: the round trip in µs, as our latency pattern's. ucx_perftest prints half of it (its ping-pong's
 * one-way figure), its median as p50: twice that, over every transport alike.
 */
export async function ucxTagLatency(
  host: string,
  transports: UcxTransports,
  size: number,
  budget: Budget,
): Promise<RoundResult> {
  const iterations = toolIterations(budget, 20);
  const [, halfP50] = await ucxPerftest(host, transports, 'tag_lat', size, iterations);
  return { value: 2 * (halfP50 as number), operations: iterations };
}

/** tag_bw with `inFlight` sends outstanding, as ours: GB/s (ucx_perftest prints MB/s of 2²⁰ bytes). */
export async function ucxTagBandwidth(
  host: string,
  transports: UcxTransports,
  size: number,
  budget: Budget,
  inFlight: number,
): Promise<RoundResult> {
  const iterations = toolIterations(budget, 10);
  const row = await ucxPerftest(host, transports, 'tag_bw', size, iterations, ['-O', String(inFlight)]);
  return { value: ((row[5] as number) * 2 ** 20) / 1e9, operations: iterations };
}
