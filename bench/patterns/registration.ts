import { type Connection, register } from '../../src/index.js';
import { VerbsConnection } from '../../src/transports/verbs/connection.js';
import { type Budget, type RoundResult, repeat } from '../budget.js';
import { type FabricTarget, withBench } from '../fabric-target.js';

/**
 * µs to register `size` bytes, make them usable on the connection's fabric and deregister them. Over RDMA
 * that is ibv_reg_mr and ibv_dereg_mr on the device, which the library otherwise does at the region's first
 * use, plus one turn of the event loop; with `reuse`, the same memory's registration comes back from the
 * cache instead. Over TCP it is the library's bookkeeping alone. The memory is allocated once, outside the
 * timing.
 */
export function registration(
  target: FabricTarget,
  size: number,
  budget: Budget,
  reuse: boolean,
): Promise<RoundResult> {
  return withBench(target, { mode: 'echo' }, async (connection: Connection) => {
    const memory = new Uint8Array(size);
    const pinned = connection instanceof VerbsConnection ? connection : undefined;
    const { operations, elapsedMs } = await repeat(budget, 1, async () => {
      const region = register(memory);
      pinned?.registerOnDevice(region, reuse);
      region.deregister();
      // ibv_dereg_mr runs a few microtasks after deregister(): one turn of the loop lets it finish in time.
      if (pinned) await new Promise(setImmediate);
    });
    return { value: (elapsedMs * 1000) / operations, operations };
  });
}
