// A client's connections in the chaos run: `size` slots, each connecting to a random server endpoint (in a
// random poll mode) and
// running traffic until it ends (a peer killed, a close ordered by the driver), then connecting again, until
// stop(). Used on a client's main thread and in each of its workers.
import { type Connection, connect, type PollMode, type TransportKind } from '../../src/index.js';
import { type Counts, track } from './counts.js';
import { ClientTraffic } from './traffic.js';

export interface Endpoint {
  transport: TransportKind;
  host: string;
  port: number;
}

const POLL_MODES: PollMode[] = ['event', 'spin', 'hybrid'];

export class ConnectionPool {
  private endpoints: Endpoint[] = [];
  private running = true;
  private readonly live = new Set<Connection>();
  private readonly slots: Promise<void>[] = [];

  constructor(
    private readonly size: number,
    readonly counts: Counts,
  ) {}

  setEndpoints(endpoints: Endpoint[]): void {
    this.endpoints = endpoints;
    while (this.slots.length < this.size && endpoints.length > 0) this.slots.push(this.slot());
  }

  /** Closes one live connection, whatever it has in flight. */
  closeOne(): void {
    const connections = [...this.live];
    connections[Math.floor(Math.random() * connections.length)]?.close();
  }

  /** Ends the traffic: every connection closes, and every slot has finished once this resolves. */
  async stop(): Promise<void> {
    this.running = false;
    await Promise.all([...this.live].map((connection) => connection.close()));
    await Promise.all(this.slots);
  }

  private async slot(): Promise<void> {
    while (this.running) {
      const endpoint = this.endpoints[Math.floor(Math.random() * this.endpoints.length)] as Endpoint;
      let connection: Connection;
      try {
        const pollMode = POLL_MODES[Math.floor(Math.random() * POLL_MODES.length)];
        connection = await track(this.counts, connect({ ...endpoint, pollMode, handshakeTimeout: 5000 }));
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 100));
        continue;
      }
      if (!this.running) {
        await connection.close();
        break;
      }
      this.live.add(connection);
      await new ClientTraffic(connection, this.counts).run(() => this.running);
      this.live.delete(connection);
      await connection.close();
    }
  }
}
