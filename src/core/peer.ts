import type { Peer } from '../transports/transport.js';
import { numericAddress } from '../util/address.js';

/** `host`:`port` as a connection's target, its name looked up at most once, when a transport needs it. */
export function peerAt(host: string, port: number): Peer {
  let address: Promise<string> | undefined;
  return {
    host,
    port,
    address: () => {
      address ??= numericAddress(host, port);
      return address;
    },
  };
}
