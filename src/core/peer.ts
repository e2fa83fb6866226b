import type { Peer } from '../transports/transport.js';
import { numericAddress } from '../util/address.js';

/** `host`:`port` as a connection's target, its name looked up at most once, when a transport needs it. */
export function peerAt(host: string, port: number): Peer & { lookedUp(): Promise<string | undefined> } {
  let address: Promise<string> | undefined;
  return {
    host,
    port,
    address: () => {
      address ??= numericAddress(host, port);
      return address;
    },
    /** The numeric address if a transport looked it up, else undefined (nothing more is looked up). */
    lookedUp: () => (address ?? Promise.resolve(undefined)).catch(() => undefined),
  };
}
