import { shmTransport } from './shm/transport.js';
import { tcpTransport } from './tcp/transport.js';
import type { Transport } from './transport.js';
import { verbsTransport } from './verbs/transport.js';

/** Every transport of the library, in the order `transports()` lists them; 'auto' goes by their priority. */
export const TRANSPORTS = [tcpTransport, verbsTransport, shmTransport] as const;

type Registered = (typeof TRANSPORTS)[number];
type Intersection<U> = (U extends unknown ? (part: U) => void : never) extends (part: infer I) => void
  ? I
  : never;
type OptionsOf<T> = T extends Transport<string, infer Options, object> ? Options : never;
type ResolvedOf<T> = T extends Transport<string, object, infer Resolved> ? Resolved : never;

/** What the `transport` option names and `connection.transport` reports. */
export type RegisteredKind = Registered['kinds'][number];
/** The options the transports add to listen() and connect(). */
export type TransportSpecificOptions = Intersection<OptionsOf<Registered>>;
/** Those options, resolved. */
export type ResolvedTransportOptions = Intersection<ResolvedOf<Registered>>;
