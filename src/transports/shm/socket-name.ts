import { isIPv4 } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import type { ResolvedShmOptions } from './options.js';

/**
 * The Unix socket a listener on `address`:`port` offers shared memory through: abstract, or in FABRIC_SHM_DIR.
 * The address is part of the name, so that listeners on two addresses of this host, on one port, stay apart.
 */
export function socketName(address: string, port: number, options: ResolvedShmOptions): string {
  const base = `fabric-transport-${address}-${port}`;
  return options.shmDir === undefined ? `\0${base}` : join(options.shmDir, `${base}.sock`);
}

/** Where a listener that takes connections to `address` may be: on that address, or on a wildcard. */
export function listenerAddresses(address: string): string[] {
  return isIPv4(address) ? [address, '0.0.0.0', '::'] : [address, '::'];
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
