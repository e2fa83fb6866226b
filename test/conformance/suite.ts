// The conformance suite's shared fixtures: the transports it runs on, and for each the helpers its tests take
// instead of naming one. Every file of test/conformance/ runs its tests once per transport usable here, on
// FABRIC_TEST_HOST (default 127.0.0.1), in the poll mode FABRIC_POLL names (default event; `npm test` runs the
// suite in each); the Soft-RoCE guest and hosts with RDMA NICs run it unchanged.
import {
  type Connection,
  connect,
  type Listener,
  type ListenOptions,
  listen,
  type TransportKind,
  type TransportOptions,
} from '../../src/index.js';
import { HOST, pair, usableTransports } from '../helpers.js';

/** The poll mode the suite runs in, as its titles say. */
export const POLL_MODE = process.env.FABRIC_POLL ?? 'event';

/** Options for one end; the transport is the fixture's. */
type EndOptions = Omit<TransportOptions, 'transport'>;

/** One transport as the tests see it: its kind, and listen/connect on HOST through it. */
export interface Transport {
  readonly kind: TransportKind;
  /** A listener on HOST, any free port. */
  listen(options?: Omit<ListenOptions, 'transport'>): Promise<Listener>;
  /** A connection to `port` on HOST. */
  connect(port: number, options?: EndOptions): Promise<Connection>;
  /** A client connected to `listener`, and the connection the listener accepted from it. */
  dial(listener: Listener, options?: EndOptions): Promise<[Connection, Connection]>;
  /** A listener with one connection to it (helpers' pair() on this transport). */
  pair(options?: EndOptions, clientOptions?: EndOptions): ReturnType<typeof pair>;
}

export function transportFor(kind: TransportKind): Transport {
  const connectTo = (port: number, options: EndOptions = {}) =>
    connect({ host: HOST, port, transport: kind, ...options });
  return {
    kind,
    listen: (options = {}) => listen({ host: HOST, port: 0, transport: kind, ...options }),
    connect: connectTo,
    dial: (listener, options) => Promise.all([connectTo(listener.port, options), listener.accept()]),
    pair: (options = {}, clientOptions = {}) => pair({ ...options, transport: kind }, clientOptions),
  };
}

/** The suite's title for `transport` (a kind, or which ones): it, the host and the poll mode. */
export function suiteTitle(transport: string): string {
  return `conformance: ${transport} on ${HOST}, poll mode ${POLL_MODE}`;
}

/** Runs `body`'s tests, under `concern`, once per usable transport. */
export function forEachTransport(concern: string, body: (transport: Transport) => void): void {
  for (const kind of usableTransports()) {
    describe(suiteTitle(kind), () => {
      describe(concern, () => body(transportFor(kind)));
    });
  }
}
