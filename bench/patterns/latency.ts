import { type Budget, type RoundResult, repeat } from '../budget.js';
import { type FabricTarget, withBench } from '../fabric-target.js';
import { median, percentile } from '../statistics.js';

/** Round trips of `size`-byte messages to an echo server, one at a time: p50 and p99 in µs. */
export function messageLatency(target: FabricTarget, size: number, budget: Budget): Promise<RoundResult> {
  return withBench(target, { mode: 'echo' }, async (connection) => {
    const ping = new Uint8Array(size);
    const { samplesMs } = await repeat(budget, 1, async () => {
      await connection.send(ping);
      await connection.receive();
    });
    return latencyOf(samplesMs);
  });
}

/** A round's latency figures from each operation's time in ms. */
export function latencyOf(samplesMs: number[]): RoundResult {
  const micros = samplesMs.map((ms) => ms * 1000);
  return { value: median(micros), p99: percentile(micros, 99), operations: micros.length };
}
