import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import type { ResolvedShmOptions } from './options.js';

/** The Unix socket a listener on `port` offers shared memory through: abstract, or in FABRIC_SHM_DIR. */
export function socketName(port: number, options: ResolvedShmOptions): string {
  return options.shmDir === undefined
    ? `\0fabric-transport-${port}`
    : join(options.shmDir, `fabric-transport-${port}.sock`);
}

/** The socket's name as a person reads it. */
export function displayName(name: string): string {
  return name.startsWith('\0') ? `@${name.slice(1)} (abstract)` : name;
}

/** Whether `address` is one of this host's (loopback, the wildcard, or an interface's). */
export function isThisHost(address: string): boolean {
  if (/^(127\.|::1$|::ffff:127\.|0\.0\.0\.0$|::$)/.test(address)) return true;
  return Object.values(networkInterfaces()).some((list) =>
    (list ?? []).some((entry) => entry.address === address || `::ffff:${entry.address}` === address),
  );
}
