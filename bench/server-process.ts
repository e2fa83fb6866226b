// The bench's server process, forked by the suite so that client and server never share an event loop.
//   fabric HOST TRANSPORT MAX_MESSAGE POLL SPIN_US   serves bench requests (service.ts) on one of our transports
//   node-net HOST                        raw node:net echo and sink servers, the peers written in the suite
// It sends its port(s) to the parent over IPC, and exits when the parent goes.
import * as net from 'node:net';
import { listen, type PollMode, type TransportKind } from '../src/index.js';
import { serveBench } from './service.js';

export interface ServerPorts {
  port: number;
  sinkPort?: number;
}

async function serveFabric(
  host: string,
  transport: TransportKind,
  maxMessageSize: number,
  pollMode: PollMode,
  spinMicros: number,
): Promise<void> {
  const listener = await listen({ host, port: 0, transport, maxMessageSize, pollMode, spinMicros });
  process.send?.({ port: listener.port } satisfies ServerPorts);
  await serveBench(listener, (error) => console.error('bench server:', error));
}

function listenRaw(host: string, onSocket: (socket: net.Socket) => void): Promise<number> {
  const server = net.createServer({ noDelay: true }, (socket) => {
    socket.on('error', () => {});
    onSocket(socket);
  });
  return new Promise((resolve) =>
    server.listen(0, host, () => resolve((server.address() as net.AddressInfo).port)),
  );
}

async function serveNodeNet(host: string): Promise<void> {
  const port = await listenRaw(host, (socket) => socket.pipe(socket));
  const sinkPort = await listenRaw(host, (socket) => socket.resume());
  process.send?.({ port, sinkPort } satisfies ServerPorts);
}

process.on('disconnect', () => process.exit(0));
const [kind, host = '127.0.0.1', transport, maxMessage, pollMode, spinMicros] = process.argv.slice(2);
(kind === 'fabric'
  ? serveFabric(
      host,
      transport as TransportKind,
      Number(maxMessage),
      pollMode as PollMode,
      Number(spinMicros),
    )
  : serveNodeNet(host)
).catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
