// perftest (linux-rdma/perftest), the reference C tools for RDMA, on the same device as our transport.
import type { Budget, RoundResult } from '../budget.js';
import { freePort, resultRow, runServerAndClient, type ToolInfo, toolIterations } from './tool.js';

export const PERFTEST: ToolInfo = { command: 'ib_send_lat', debianPackage: 'perftest' };

export interface RdmaEndpoint {
  device: string;
  /** The RoCE GID index of the address our transport uses; absent on InfiniBand. */
  gidIndex?: number;
}

/** Runs one perftest tool (server, then client over a loopback side channel); returns its result row. */
async function perftest(tool: string, endpoint: RdmaEndpoint, args: string[]): Promise<number[]> {
  const port = await freePort();
  const common = [
    '-d',
    endpoint.device,
    '-p',
    String(port),
    ...(endpoint.gidIndex === undefined ? [] : ['-x', String(endpoint.gidIndex)]),
    ...args,
  ];
  const output = await runServerAndClient(
    tool,
    port,
    { args: common },
    { args: [...common, '127.0.0.1'] },
    300_000,
  );
  // The result row is the one that starts with the message size.
  return resultRow(output, tool, /^\d+\s+\d+\s+[\d.]+/, /\s+/);
}

/** ib_send_lat: the round trip in µs (it prints half of it: t_typical, and the 99th percentile). */
export async function sendLatency(
  endpoint: RdmaEndpoint,
  size: number,
  budget: Budget,
): Promise<RoundResult> {
  const iterations = toolIterations(budget, 20);
  // bytes, iterations, t_min, t_max, t_typical, t_avg, t_stdev, 99%, 99.9%
  const row = await perftest('ib_send_lat', endpoint, ['-s', String(size), '-n', String(iterations)]);
  return { value: 2 * (row[4] as number), p99: 2 * (row[7] as number), operations: iterations };
}

/**
 * ib_write_bw or ib_read_bw with `inFlight` operations outstanding, as ours (its default is 128 writes, and
 * the device's maximum of reads): GB/s ("BW average" in Gbit/s with --report_gbits).
 */
export async function oneSidedBandwidth(
  tool: 'ib_write_bw' | 'ib_read_bw',
  endpoint: RdmaEndpoint,
  size: number,
  budget: Budget,
  inFlight: number,
): Promise<RoundResult> {
  const iterations = toolIterations(budget, 10);
  const depth =
    tool === 'ib_write_bw' ? ['-t', String(inFlight)] : ['-t', String(inFlight), '-o', String(inFlight)];
  // bytes, iterations, BW peak, BW average, MsgRate
  const row = await perftest(tool, endpoint, [
    '-s',
    String(size),
    '-n',
    String(iterations),
    ...depth,
    '--report_gbits',
  ]);
  return { value: (row[3] as number) / 8, operations: iterations };
}
