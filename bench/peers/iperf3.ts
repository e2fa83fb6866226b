import type { Budget, RoundResult } from '../budget.js';
import { freePort, runServerAndClient, type ToolInfo } from './tool.js';

export const IPERF3: ToolInfo = { command: 'iperf3', debianPackage: 'iperf3' };

/** iperf3 refuses larger blocks. */
const MAX_BLOCK = 1 << 20;

/**
 * GB/s of one iperf3 TCP stream of `size`-byte writes (at most 1 MiB: iperf3's limit). iperf3 runs whole
 * seconds, so its run is the budget rounded up to one.
 */
export async function iperf3Stream(host: string, size: number, budget: Budget): Promise<RoundResult> {
  const port = await freePort();
  const seconds = Math.max(1, Math.ceil(budget.seconds));
  const output = await runServerAndClient(
    IPERF3.command,
    port,
    { args: ['-s', '-1', '-B', host, '-p', String(port)] },
    {
      args: [
        '-c',
        host,
        '-p',
        String(port),
        '-t',
        String(seconds),
        '-l',
        String(Math.min(size, MAX_BLOCK)),
        '-J',
      ],
    },
    (seconds + 30) * 1000,
  );
  const end = JSON.parse(output).end;
  return { value: end.sum_received.bits_per_second / 8e9, operations: Math.round(end.sum_sent.bytes / size) };
}
