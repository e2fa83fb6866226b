import { FabricError } from '../../api/errors.js';
import type { Region, RegionSlice } from '../../api/region.js';
import { counters } from '../../api/stats.js';
import { errorFrame } from '../../protocol/error-frame.js';
import { type FrameHeader, FrameType, type HeaderFields } from '../../protocol/frame.js';
import type { DISCARD, FrameSink } from '../../protocol/frame-reader.js';
import type { Role } from '../../protocol/handshake-session.js';
import { BaseConnection } from '../connection-base.js';
import { MessageCredit } from '../message-credit.js';
import type { ResolvedOptions } from '../options.js';
import { CreditReturn } from './credit-return.js';
import type { FrameOutput, WriteDone } from './frame-output.js';
import { MessageReferences } from './message-references.js';
import { OneSidedInitiator, type StreamOperation } from './one-sided-initiator.js';
import { OwnerAnswers } from './owner-answers.js';
import type { PeerMemory } from './peer-memory.js';
import { beforeHandshake, HANDSHAKE_FRAMES, notAfterHandshake, OPEN_FRAMES } from './stream-frames.js';

/**
 * A connection over one ordered byte stream (a TCP socket, a shared-memory ring): handshake, messages with
 * credit-based flow control, and one-sided operations emulated with frames (docs/PROTOCOL.md). It is the
 * frames' sink and composes when credit goes back and both sides of the one-sided operations; the transport
 * supplies the stream: where frames go out (`output`), how it is read, and how it is torn down.
 */
export abstract class StreamConnection extends BaseConnection<StreamOperation> implements FrameSink {
  protected readonly credits: CreditReturn;
  private readonly initiator: OneSidedInitiator;
  private readonly owner: OwnerAnswers;
  /** Large messages by reference, where the transport reaches the peer's memory. */
  private readonly references: MessageReferences | undefined;

  protected constructor(
    role: Role,
    options: ResolvedOptions,
    peerName: string,
    capabilities: number,
    peerMemory?: PeerMemory,
  ) {
    super(role, options, peerName, options.receiveWindow, capabilities);
    // The transport's output exists only once its constructor ran: the parts reach it through this.
    const output: FrameOutput = {
      writeFrame: (header, parts, done) => this.output.writeFrame(header, parts, done),
    };
    const { maxMessageSize, receiveWindow, maxInFlight } = options;
    this.credits = new CreditReturn(
      this.credit,
      maxMessageSize,
      receiveWindow,
      output,
      () => this.state === 'open',
    );
    this.initiator = new OneSidedInitiator(
      this.operations,
      output,
      {
        enqueue: (emit, reject) => this.submit(0, emit, reject),
        awaitingPeer: () => this.awaitingPeer(),
      },
      peerMemory,
    );
    this.owner = new OwnerAnswers(
      output,
      {
        grantee: this,
        peerName,
        maxInFlight,
        drop: (reason) => this.abort(reason, false),
      },
      peerMemory,
    );
    this.references = peerMemory && new MessageReferences(peerMemory, output, peerName);
  }

  /** Where frames go out, in order. */
  protected abstract get output(): FrameOutput;
  /** Closes the stream once the connection failed or closed (after an Error frame, when the peer is told). */
  protected abstract teardown(): void;

  send(message: ArrayBufferView | readonly ArrayBufferView[]): Promise<void> {
    let outgoing: { parts: readonly Uint8Array[]; length: number };
    try {
      outgoing = this.outgoingMessage(message);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.queuedSend(outgoing.parts, outgoing.length);
  }

  write(source: Region | RegionSlice, remoteDescriptor: Uint8Array, remoteOffset = 0): Promise<void> {
    return this.limitedOneSided(() => this.initiator.write(source, remoteDescriptor, remoteOffset));
  }

  read(target: Region | RegionSlice, remoteDescriptor: Uint8Array, remoteOffset = 0): Promise<void> {
    return this.limitedOneSided(() => this.initiator.read(target, remoteDescriptor, remoteOffset));
  }

  // ---- FrameSink: where payloads land, and what each frame does -------------------------------------------

  payloadTarget(header: FrameHeader): Uint8Array | undefined | typeof DISCARD {
    // Nothing of an unauthenticated peer's data frames is read, let alone written into a region.
    if (this.state !== 'open' && !HANDSHAKE_FRAMES.has(header.type)) throw beforeHandshake(header.type);
    switch (header.type) {
      case FrameType.Message:
        this.credits.charge(header.length);
        return undefined;
      case FrameType.Rendezvous:
        this.credits.charge(header.offset);
        return undefined;
      case FrameType.Write:
        return this.owner.writeTarget(header);
      case FrameType.ReadResponse:
        return this.initiator.responseTarget(header);
      default:
        // Refused at its header, so that no peer leaves the connection waiting for a payload it never sends.
        if (this.state === 'open' && !OPEN_FRAMES.has(header.type)) throw notAfterHandshake(header.type);
        return undefined;
    }
  }

  onFrame(header: FrameHeader, payload: Uint8Array): void {
    if (this.state === 'closed') return;
    if (this.state === 'handshake') {
      this.onHandshakeFrame(header, payload);
      return;
    }
    switch (header.type) {
      case FrameType.Message:
        if (header.length === 0) this.credits.charge(0);
        counters.messagesReceived++;
        counters.bytesReceived += header.length;
        this.addCredit(header.aux);
        this.inbox.push(payload);
        return;
      case FrameType.Rendezvous: {
        const message = (this.references as MessageReferences).receive(header, payload);
        counters.messagesReceived++;
        counters.bytesReceived += message.length;
        this.addCredit(header.aux);
        this.inbox.push(message);
        return;
      }
      case FrameType.RendezvousDone:
        (this.references as MessageReferences).done(header);
        return;
      case FrameType.Credit:
        this.addCredit(header.aux);
        return;
      case FrameType.Write:
        this.owner.onWrite(header);
        return;
      case FrameType.ReadRequest:
        this.owner.onReadRequest(header);
        return;
      case FrameType.ReadResponse:
        counters.bytesReceived += header.length;
        this.initiator.settle(header, 'read');
        return;
      case FrameType.WriteAck:
        this.initiator.settle(header, 'write');
        return;
      case FrameType.WriteFrom:
        this.owner.onWriteFrom(header, payload);
        return;
      case FrameType.ReadInto:
        this.owner.onReadInto(header, payload);
        return;
      case FrameType.ReadDone:
        this.initiator.settle(header, 'read');
        return;
      case FrameType.Error:
        this.onErrorFrame(header, payload);
        return;
      default:
        throw notAfterHandshake(header.type);
    }
  }

  // ---- the handshake, credit, sends ------------------------------------------------------------------------

  protected sendHandshakeFrame(type: FrameType, payload: Uint8Array): void {
    this.output.writeFrame({ type, length: payload.length }, [payload]);
  }

  protected consumed(message: Uint8Array): void {
    this.credits.consumed(message.length);
  }

  private addCredit(credit: number): void {
    if (credit === 0) return;
    this.credit.returned(credit);
    this.userOperations.pump();
  }

  /** Runs `emit` now or, behind earlier operations still waiting for credit, later: order is preserved. */
  private submit(cost: number, emit: () => void, reject: (error: Error) => void): void {
    this.userOperations.push({
      cost,
      start: () => {
        emit();
        return true;
      },
      reject,
    });
  }

  /** A message through the queue of the application's operations: it goes once its credit is there. */
  protected queuedSend(parts: readonly Uint8Array[], length: number): Promise<void> {
    const cost = MessageCredit.cost(length);
    const references = this.references;
    if (references?.applies(parts, length)) {
      // Settled by the peer's RendezvousDone: only then has it copied the message out of our memory.
      return this.trackedSend((done) => {
        const { id, segments } = references.start(parts, done);
        const failed = (error?: Error | null) => {
          if (!error) return;
          references.forget(id);
          done(error);
        };
        this.submit(
          cost,
          () => {
            const header = this.messageHeader(length);
            const rendezvous = {
              ...header,
              type: FrameType.Rendezvous,
              id,
              offset: length,
              length: segments.length,
            };
            this.output.writeFrame(rendezvous, [segments], failed);
          },
          failed,
        );
      });
    }
    return this.trackedSend((done) =>
      this.submit(cost, () => this.output.writeFrame(this.messageHeader(length), parts, done), done),
    );
  }

  /** The header of a message of `length` bytes, carrying the credit to return; counts the message as sent. */
  protected messageHeader(length: number): HeaderFields {
    counters.messagesSent++;
    counters.bytesSent += length;
    return { type: FrameType.Message, length, aux: this.credit.takeOwed() };
  }

  /** A send() promise: `start` puts the message out and calls `done`, unless the connection fails first. */
  protected trackedSend(start: (done: WriteDone) => void): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.unsettledSends.add(reject);
      start((error) => {
        if (!this.unsettledSends.delete(reject)) return;
        if (error) reject(this.closeReason(error));
        else resolve();
      });
      // Waiting for credit, or for the stream to drain: in 'spin' and 'hybrid', poll for the peer's frames.
      if (this.unsettledSends.has(reject)) this.awaitingPeer();
    });
  }

  private closeReason(error: Error): FabricError {
    return (
      this.failure ?? new FabricError('ECONNRESET', `sending to ${this.peerName} failed: ${error.message}`)
    );
  }

  /** Fails the connection and tells the peer why (when `tellPeer`), then tears the stream down. */
  protected abort(reason: FabricError, tellPeer = true): void {
    if (this.state === 'closed') return;
    if (tellPeer) {
      const { header, text } = errorFrame(0, reason);
      this.output.writeFrame(header, [text]);
    }
    this.fail(reason);
    this.teardown();
  }
}
