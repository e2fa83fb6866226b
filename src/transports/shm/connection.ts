import type * as net from 'node:net';
import { FabricError } from '../../api/errors.js';
import type { ResolvedOptions } from '../../core/options.js';
import type { FrameOutput } from '../../core/stream/frame-output.js';
import { StreamConnection } from '../../core/stream/stream-connection.js';
import type { Role } from '../../protocol/handshake-session.js';
import { Doorbells } from './doorbells.js';
import type { ShmNative } from './native.js';
import type { ProcessMemory } from './process-memory.js';
import { RingConsumer, RingProducer } from './ring.js';
import { RingReader } from './ring-reader.js';
import { RingWriter } from './ring-writer.js';

/** What a connection is made of once the rendezvous socket handed the shared memory over. */
export interface SharedRings {
  /** The mapping of the connection's shared memory (both rings). */
  memory: ArrayBuffer;
  capacity: number;
  /** Eventfds: this side's doorbell (it watches it) and the peer's (it rings it). */
  ownBell: number;
  peerBell: number;
}

/** How long close() waits for the peer to close its end of the socket before destroying it. */
const CLOSE_GRACE_MS = 1000;

/**
 * A fabric-transport connection to a process on this host through shared memory: the core's stream
 * connection (handshake, messages with credit, one-sided operations emulated with frames) over one ring per
 * direction, woken by eventfd doorbells only when the reader said it sleeps. The Unix socket of the
 * rendezvous stays open beside it: its end is the peer's end, whether it closed or died.
 */
export class ShmConnection extends StreamConnection {
  readonly transport = 'shm' as const;
  private readonly writer: RingWriter;
  private readonly reader: RingReader;
  private readonly incoming: RingConsumer;
  private readonly bells: Doorbells;
  private readonly closedSocket: Promise<void>;
  private released = false;
  private drainScheduled = false;
  /** Set while service() runs: a frame it hands over may lead back to it, which then only asks for a round more. */
  private servicing = false;
  private serviceAgain = false;

  constructor(
    role: Role,
    options: ResolvedOptions,
    peerName: string,
    private readonly socket: net.Socket,
    private readonly rings: SharedRings,
    private readonly native: ShmNative,
    private readonly processMemory: ProcessMemory,
  ) {
    super(role, options, peerName, 0, processMemory);
    const outgoing = role === 'server' ? 0 : 1;
    this.incoming = new RingConsumer(rings.memory, rings.capacity, outgoing === 0 ? 1 : 0);
    this.bells = new Doorbells(native, rings.ownBell, rings.peerBell, () => this.service());
    this.writer = new RingWriter(new RingProducer(rings.memory, rings.capacity, outgoing), {
      wakePeer: () => this.bells.ringPeer(),
      corrupted: (reason) => this.abort(reason, false),
    });
    this.reader = new RingReader(this, this.incoming, {
      isClosed: () => this.state === 'closed',
      wakePeer: () => this.bells.ringPeer(),
      onFrameError: (error) => this.onFrameError(error),
    });
    this.closedSocket = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => this.peerGone());
    socket.on('end', () => this.peerGone());
    socket.on('close', () => this.peerGone());
    // Bytes on the socket after the descriptors are not part of the protocol: the peer's end is what counts.
    socket.on('data', () => {});
    socket.resume();
    this.incoming.sleep(true);
    if (role === 'client') this.handshake.start();
    // Anything the peer put in before this side watched its doorbell.
    this.service();
  }

  close(): Promise<void> {
    if (this.state !== 'closed')
      this.abort(new FabricError('ECLOSED', 'the connection was closed by this side'), false);
    return this.closedSocket;
  }

  protected override opened(): void {
    this.processMemory.check();
  }

  protected get output(): FrameOutput {
    return this.writer;
  }

  protected pollOnce(micros: number): boolean {
    if (this.released) return false;
    this.incoming.sleep(false);
    const deadline = performance.now() + micros / 1000;
    while (!this.hasWork() && performance.now() < deadline) {
      // Busy: the peer's next frame, or the room our frames wait for.
    }
    this.service();
    return !this.released;
  }

  /** Whether there is something to do: bytes in, or room for frames that wait. */
  private hasWork(): boolean {
    try {
      return this.incoming.available() > 0 || this.writer.blocked;
    } catch {
      return true; // service() meets the corruption and fails the connection
    }
  }

  /** Takes what the peer sent and puts in what waits for room; then sleeps on the doorbell. */
  private service(): void {
    if (this.servicing) {
      this.serviceAgain = true;
      return;
    }
    this.servicing = true;
    try {
      while (!this.released) {
        this.serviceAgain = false;
        const taken = this.reader.drain();
        if (this.released) return;
        if (this.writer.blocked) this.writer.flush();
        if (taken === 'more') {
          this.scheduleDrain();
          return;
        }
        if (!this.released && this.incoming.sleep(true) && !this.serviceAgain) return;
      }
    } finally {
      this.servicing = false;
    }
  }

  private scheduleDrain(): void {
    if (this.drainScheduled) return;
    this.drainScheduled = true;
    setImmediate(() => {
      this.drainScheduled = false;
      this.service();
    });
  }

  /** The socket ended, closed or failed: the peer closed or died. What it put in the ring first still counts. */
  private peerGone(): void {
    if (this.state !== 'closed') {
      this.service();
      const reason =
        this.state === 'handshake'
          ? new FabricError('ECONNRESET', `${this.peerName} closed the connection during the handshake`)
          : this.reader.atBoundary
            ? new FabricError('ECLOSED', `${this.peerName} closed the connection`)
            : new FabricError(
                'ECONNRESET',
                `${this.peerName} closed the connection in the middle of a frame: did the peer crash?`,
              );
      // service() may have met an Error frame that closed the connection already.
      if (!this.closed) {
        this.fail(reason);
        this.teardown();
      }
    }
    this.socket.destroy();
  }

  protected teardown(): void {
    this.writer.close(this.failure ?? new FabricError('ECLOSED', 'the connection is closed'));
    if (!this.released) {
      this.released = true;
      this.bells.close();
      this.native.shmUnmap(this.rings.memory);
    }
    this.socket.end();
    setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS).unref();
  }
}
