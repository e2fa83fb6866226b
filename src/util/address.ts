import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { fromSocketError } from '../api/errors.js';

/** The numeric address RDMA-CM needs for `host`. */
export async function numericAddress(host: string, port: number): Promise<string> {
  if (isIP(host)) return host;
  try {
    return (await lookup(host)).address;
  } catch (error) {
    throw fromSocketError(error as NodeJS.ErrnoException, `${host}:${port}`);
  }
}

/** 'auto' does not try RDMA on loopback, which RDMA-CM does not route (and TCP serves best). */
export function isLoopback(address: string): boolean {
  return /^(127\.|::1$|::ffff:127\.)/.test(address);
}
