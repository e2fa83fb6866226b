import type { Connection } from './connection.js';

/** Accepts incoming connections; iterate it with `for await` or call accept(). */
export interface Listener extends AsyncIterable<Connection> {
  readonly host: string;
  /** The port actually bound (useful with port 0). */
  readonly port: number;
  /** The next connection that completed its handshake. Rejects with ECLOSED after close(). */
  accept(): Promise<Connection>;
  /** Stops listening and drops connections not yet accepted. Accepted connections stay open. */
  close(): Promise<void>;
}
