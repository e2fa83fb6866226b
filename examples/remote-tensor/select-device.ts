// How an unchanged application gets its device: REMOTE_TENSOR_DEVICE=local (the default) or HOST:PORT of a
// device server. The transport comes from FABRIC_TRANSPORT, like every fabric-transport connection.
import type { Device } from './device.js';
import { LocalDevice } from './local-device.js';
import { RemoteDevice } from './remote-device.js';

export async function deviceFromEnvironment(): Promise<{ device: Device; where: string }> {
  const where = process.env.REMOTE_TENSOR_DEVICE ?? 'local';
  if (where === 'local') return { device: new LocalDevice(), where };
  const match = /^(.+):(\d+)$/.exec(where);
  if (!match) throw new Error(`REMOTE_TENSOR_DEVICE must be "local" or HOST:PORT, got "${where}"`);
  return { device: await RemoteDevice.connect({ host: match[1] as string, port: Number(match[2]) }), where };
}
