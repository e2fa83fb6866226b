// The device server: it owns the "accelerator" and runs what clients forward. Each connection is one client
// application with its own device memory (registered regions that no peer can reach): it can neither read,
// write nor free another's allocations. Tensor data moves with one-sided operations the server starts: it
// reads a client's registered host buffer for copyIn and writes into it for copyOut.
//
//   node dist/examples/remote-tensor/server.js [HOST] [PORT]      (transport: FABRIC_TRANSPORT, default auto)
import { type Connection, FabricError, listen, type Region, register } from '../../src/index.js';
import { type Allocation, Allocations, checkFits } from './allocations.js';
import { type Call, decodeCall, encodeErrorReply, encodeReply, Op } from './calls.js';
import { DeviceError } from './device.js';
import { runKernel } from './kernels.js';

/** Device memory one client may hold. */
const CLIENT_BUDGET = 1 << 30;

interface DeviceMemory extends Allocation {
  region: Region;
}

/** What went wrong in a call, as the client will see it; undefined for failures that end the connection. */
function asDeviceError(error: unknown): DeviceError | undefined {
  if (error instanceof DeviceError) return error;
  if (
    error instanceof FabricError &&
    (['EINVAL', 'EACCES', 'ERANGE'] as const).includes(error.code as never)
  ) {
    return new DeviceError(error.code as 'EINVAL' | 'EACCES' | 'ERANGE', error.message);
  }
  return undefined;
}

/** Serves one client until it disconnects; its memory (at most `budgetBytes`) is freed then. */
export async function serveDeviceClient(connection: Connection, budgetBytes = CLIENT_BUDGET): Promise<void> {
  const memory = new Allocations<DeviceMemory>(budgetBytes, (bytes) => {
    const region = register(new Uint8Array(bytes), { peers: [] });
    return { bytes: region.bytes, region, release: () => region.deregister() };
  });
  /** The first error of a call that has no reply (free, launch), reported by the next call that has one. */
  let deferred: DeviceError | undefined;

  const execute = async (call: Call): Promise<Uint8Array | undefined> => {
    switch (call.op) {
      case Op.Alloc: {
        const reply = Buffer.alloc(4);
        reply.writeUInt32LE(memory.alloc(call.bytes));
        return reply;
      }
      case Op.CopyIn:
      case Op.CopyOut: {
        const { region } = memory.get(call.pointer);
        checkFits(call.bytes, region.length, call.op === Op.CopyIn ? 'copyIn' : 'copyOut');
        const slice = region.slice(0, call.bytes);
        if (call.op === Op.CopyIn) await connection.read(slice, call.descriptor);
        else await connection.write(slice, call.descriptor);
        return new Uint8Array(0);
      }
      case Op.CopyInInline: {
        const { bytes } = memory.get(call.pointer);
        checkFits(call.data.length, bytes.length, 'copyIn');
        bytes.set(call.data);
        return new Uint8Array(0);
      }
      case Op.CopyOutInline: {
        const { bytes } = memory.get(call.pointer);
        checkFits(call.bytes, bytes.length, 'copyOut');
        checkFits(call.bytes + 1, connection.peerMaxMessageSize, 'copyOut inline (one message)');
        return bytes.subarray(0, call.bytes);
      }
      case Op.Synchronize:
        return new Uint8Array(0);
      default:
        return undefined;
    }
  };

  try {
    for await (const message of connection) {
      let call: Call;
      try {
        call = decodeCall(message);
      } catch {
        return; // not our client: a malformed call ends the connection
      }
      if (call.op === Op.Free || call.op === Op.Launch) {
        try {
          if (call.op === Op.Free) memory.free(call.pointer);
          else runKernel(call.kernel, call.args, (pointer) => memory.floats(pointer));
        } catch (error) {
          const failed = asDeviceError(error);
          if (!failed) throw error;
          deferred ??= failed;
        }
        continue;
      }
      try {
        if (deferred) throw deferred;
        const payload = await execute(call);
        await connection.send(encodeReply(payload));
      } catch (error) {
        const reported = asDeviceError(error);
        if (!reported) throw error;
        deferred = undefined;
        await connection.send(encodeErrorReply(reported));
      }
    }
  } catch (error) {
    // The connection failed, or a call failed in a way no check foresaw: that client is done, the others
    // are not (a server must never die of one client's call).
    if (!(error instanceof FabricError)) console.error(`device server: ${String(error)}`);
  } finally {
    memory.freeAll();
    await connection.close();
  }
}

async function main(): Promise<void> {
  const [host = '127.0.0.1', port = '0'] = process.argv.slice(2);
  const listener = await listen({ host, port: Number(port) });
  console.log(JSON.stringify({ listening: `${host}:${listener.port}` }));
  for await (const connection of listener) void serveDeviceClient(connection);
}

if (require.main === module) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
