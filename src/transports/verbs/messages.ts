import { FabricError } from '../../api/errors.js';
import { counters } from '../../api/stats.js';
import type { ConnectionState } from '../../core/connection-base.js';
import { MessageCredit } from '../../core/message-credit.js';
import type { ResolvedOptions } from '../../core/options.js';
import type { UserOperation } from '../../core/user-operations.js';
import { encodeHeader, type FrameHeader, FrameType } from '../../protocol/frame.js';
import { decodeSegments, encodeSegments, type Segment } from '../../protocol/segments.js';
import { Fifo } from '../../util/fifo.js';
import { nativeFailure } from './errors.js';
import type { FrameChannel } from './frame-channel.js';
import { EAGER_LIMIT, MAX_SEGMENTS } from './frames.js';
import type { NativeMemoryRegion } from './native.js';
import { LOCAL_WRITE, REMOTE_READ, registerMemory } from './registrations.js';
import type { QueuePair } from './setup.js';
import { OP_READ, type WorkQueue } from './work-queue.js';

/** A message received, in arrival order; a rendezvous one is ready once pulled. */
interface Arrival {
  bytes: Uint8Array;
  ready: boolean;
}

/** Our rendezvous message, until the peer has pulled it. */
interface Transfer {
  resolve(): void;
  reject(error: Error): void;
}

/** What the messages need of their connection. */
export interface MessagesOwner {
  readonly link: Pick<QueuePair, 'endpoint' | 'work'>;
  readonly channel: Pick<FrameChannel, 'addCredit' | 'userFrame' | 'queueControl'>;
  readonly options: ResolvedOptions;
  readonly credit: MessageCredit;
  /** Rejecters of sends not yet settled (the connection's). */
  readonly unsettledSends: Set<(error: Error) => void>;
  state(): ConnectionState;
  /** Whether the endpoint is gone (torn down). */
  destroyed(): boolean;
  /** Queues one of the user's operations in call order. */
  queueUser(operation: UserOperation): void;
  /** Hands a complete message to the application. */
  deliver(message: Uint8Array): void;
  abort(reason: FabricError): void;
}

/**
 * Messages both ways: small ones inline in a Message frame, larger ones by rendezvous (the sender registers
 * them and sends their segments; the receiver pulls them with RDMA READ and says when it is done), handed to
 * the application in arrival order.
 */
export class Messages {
  /** Our rendezvous messages the peer has not pulled yet. */
  private readonly transfers = new Map<number, Transfer>();
  private nextTransferId = 1;
  /** Registrations the peer may still read from after a failure: released once the queue pair is gone. */
  private readonly lingering: NativeMemoryRegion[] = [];
  private readonly arrivals = new Fifo<Arrival>();
  private readonly pulls = new Set<NativeMemoryRegion>();

  constructor(private readonly owner: MessagesOwner) {}

  /** Whether one of our rendezvous messages waits for the peer to pull it. */
  get transferring(): boolean {
    return this.transfers.size > 0;
  }

  /** Sends a message (its length checked already): inline, or by rendezvous when larger than a frame. */
  async send(parts: readonly Uint8Array[], length: number): Promise<void> {
    if (length > EAGER_LIMIT) {
      await this.sendRendezvous(parts, length);
      return;
    }
    const { unsettledSends } = this.owner;
    await new Promise<void>((resolve, reject) => {
      unsettledSends.add(reject);
      const fail = (error: Error) => {
        if (unsettledSends.delete(reject)) reject(error);
      };
      this.owner.queueUser(
        this.owner.channel.userFrame(
          {
            header: encodeHeader({ type: FrameType.Message, length }),
            payload: parts,
            length,
            carriesCredit: true,
            bytes: MessageCredit.cost(length),
            onPosted: () => {
              if (!unsettledSends.delete(reject)) return;
              counters.messagesSent++;
              counters.bytesSent += length;
              counters.copiedBytes += length;
              resolve();
            },
          },
          fail,
        ),
      );
    });
  }

  /** A Message frame: the message is copied out of the receive buffer. */
  onMessage(header: FrameHeader, payload: Uint8Array): void {
    if (header.length > Math.min(this.owner.options.maxMessageSize, EAGER_LIMIT))
      this.tooLarge(header.length);
    this.owner.credit.charge(header.length);
    this.owner.channel.addCredit(header);
    const bytes = Buffer.allocUnsafeSlow(header.length);
    bytes.set(payload);
    counters.copiedBytes += header.length;
    this.arrive({ bytes, ready: true });
  }

  /** A Rendezvous frame: the message of `header.offset` bytes is pulled at once from the sender's segments. */
  onRendezvous(header: FrameHeader, payload: Uint8Array): void {
    const total = header.offset;
    if (total > this.owner.options.maxMessageSize) this.tooLarge(total);
    this.owner.credit.charge(total);
    this.owner.channel.addCredit(header);
    const segments = decodeSegments(payload, total);
    const arrival = { bytes: Buffer.allocUnsafeSlow(total), ready: false };
    this.arrive(arrival);
    // Pulled at once: the sender kept it within the receive window.
    this.pull(arrival, header.id, segments);
  }

  /** The peer pulled our rendezvous message `id`. */
  onTransferDone(id: number): void {
    const transfer = this.transfers.get(id);
    if (!transfer) {
      throw new FabricError(
        'EPROTO',
        `protocol violation by the peer: completion of unknown rendezvous ${id}`,
      );
    }
    transfer.resolve();
  }

  /** The connection failed: our rendezvous messages will not be pulled. */
  rejectTransfers(reason: FabricError): void {
    for (const transfer of this.transfers.values()) transfer.reject(reason);
  }

  /** Deregisters the memory of pulls and of lingering transfers: the endpoint is gone. */
  release(): void {
    for (const registration of this.pulls) registration.deregister();
    for (const registration of this.lingering) registration.deregister();
    this.pulls.clear();
    this.lingering.length = 0;
  }

  private tooLarge(length: number): never {
    throw new FabricError(
      'EPROTO',
      `protocol violation by the peer: a ${length}-byte message exceeds maxMessageSize ${this.owner.options.maxMessageSize}`,
    );
  }

  private arrive(arrival: Arrival): void {
    this.arrivals.push(arrival);
    this.deliver();
  }

  /** Hands the messages at the head of the arrival order that are complete to the application. */
  private deliver(): void {
    for (let next = this.arrivals.peek(); next?.ready; next = this.arrivals.peek()) {
      this.arrivals.shift();
      counters.messagesReceived++;
      counters.bytesReceived += next.bytes.length;
      this.owner.deliver(next.bytes);
    }
  }

  /** RDMA-READs rendezvous message `id` from the sender's segments, then tells the sender it is done. */
  private pull(arrival: Arrival, id: number, segments: Segment[]): void {
    let target: NativeMemoryRegion;
    try {
      target = registerMemory(this.owner.link.endpoint, arrival.bytes, LOCAL_WRITE);
    } catch (error) {
      this.owner.abort(nativeFailure(error, 'cannot receive a message'));
      return;
    }
    this.pulls.add(target);
    let offset = 0;
    let outstanding = segments.length;
    for (const segment of segments) {
      (this.owner.link.work as WorkQueue).post({
        opcode: OP_READ,
        address: target.address + BigInt(offset),
        length: segment.length,
        lkey: target.lkey,
        remoteAddress: segment.address,
        rkey: segment.rkey,
        done: (status) => {
          if (status !== 0 || --outstanding > 0) return;
          this.pulls.delete(target);
          target.deregister();
          // Pulled while closing: the inbox has ended, the message goes nowhere.
          if (this.owner.state() === 'closed') return;
          counters.placedBytes += arrival.bytes.length;
          arrival.ready = true;
          this.owner.channel.queueControl(encodeHeader({ type: FrameType.RendezvousDone, id }));
          this.deliver();
        },
      });
      offset += segment.length;
    }
  }

  private async sendRendezvous(parts: readonly Uint8Array[], length: number): Promise<void> {
    let pieces = parts.filter((part) => part.length > 0);
    if (pieces.length > MAX_SEGMENTS) {
      pieces = [Buffer.concat(pieces)];
      counters.copiedBytes += length;
    }
    const registrations: NativeMemoryRegion[] = [];
    try {
      for (const piece of pieces) {
        registrations.push(registerMemory(this.owner.link.endpoint, piece, REMOTE_READ));
      }
    } catch (error) {
      for (const registration of registrations) registration.deregister();
      throw error;
    }
    const id = this.nextTransferId;
    this.nextTransferId = (this.nextTransferId % 0xffff_ffff) + 1;
    try {
      await new Promise<void>((resolve, reject) => {
        this.transfers.set(id, { resolve, reject });
        const segments = encodeSegments(
          registrations.map((registration, i) => ({
            address: registration.address,
            rkey: registration.rkey,
            length: (pieces[i] as Uint8Array).length,
          })),
        );
        this.owner.queueUser(
          this.owner.channel.userFrame(
            {
              header: encodeHeader({
                type: FrameType.Rendezvous,
                id,
                length: segments.length,
                offset: length,
              }),
              payload: [segments],
              length: segments.length,
              carriesCredit: true,
              bytes: MessageCredit.cost(length),
            },
            reject,
          ),
        );
      });
      counters.messagesSent++;
      counters.bytesSent += length;
    } finally {
      this.transfers.delete(id);
      // After a failure the peer may still be reading: the memory stays registered until the queue pair is gone.
      if (this.owner.state() === 'closed' && !this.owner.destroyed()) this.lingering.push(...registrations);
      else for (const registration of registrations) registration.deregister();
    }
  }
}
