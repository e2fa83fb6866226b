import { FabricError } from '../../api/errors.js';
import type { Region, RegionSlice } from '../../api/region.js';
import { counters } from '../../api/stats.js';
import { type FrameHeader, FrameType, frameTypeName } from '../../protocol/frame.js';
import { prepareOneSided } from '../one-sided-request.js';
import type { OperationTable, PendingOperation } from '../operation-table.js';
import type { FrameOutput } from './frame-output.js';
import { encodeAddress, encodeReference, type PeerMemory } from './peer-memory.js';

/** One of our writes or reads, waiting for the owner's answer. */
export interface StreamOperation extends PendingOperation {
  kind: 'write' | 'read';
  /** Where a read's response lands. */
  target?: Uint8Array;
  /** It went by reference: the owner copies straight from or into our memory, and answers without the bytes. */
  byReference?: boolean;
  /** That memory, kept alive until the answer (nothing else may hold it). */
  memory?: Uint8Array;
}

/** What the initiator needs of its connection besides the table of operations waiting for the peer. */
export interface InitiatorLink {
  /** Runs `emit` in the order of the application's operations: at once, or behind those still waiting. */
  enqueue(emit: () => void, reject: (error: Error) => void): void;
  /** An operation now waits for the peer (in 'spin' and 'hybrid', poll for it). */
  awaitingPeer(): void;
}

/**
 * The initiator side of one-sided operations emulated with frames (TCP, and shared memory's ring): our writes (a Write frame carrying the bytes, settled
 * by the owner's WriteAck) and reads (a ReadRequest, settled by a ReadResponse whose payload lands in the
 * read's own memory), each under an id in the connection's table until its answer or Error frame.
 */
export class OneSidedInitiator {
  constructor(
    private readonly operations: OperationTable<StreamOperation>,
    private readonly output: FrameOutput,
    private readonly link: InitiatorLink,
    private readonly peerMemory?: PeerMemory,
  ) {}

  write(source: Region | RegionSlice, remoteDescriptor: Uint8Array, remoteOffset: number): Promise<void> {
    const { slice, remote } = prepareOneSided('write', source, remoteDescriptor, remoteOffset);
    const bytes = slice.bytes;
    const memory = this.peerMemory?.byReference(bytes.length, 'write') ? this.peerMemory : undefined;
    return this.start('write', undefined, memory && bytes, (id) => {
      counters.writes++;
      counters.bytesSent += bytes.length;
      const header = { id, key: remote.key, offset: remoteOffset };
      if (memory) {
        const reference = encodeReference(memory.address(bytes), bytes.length);
        this.output.writeFrame({ type: FrameType.WriteFrom, length: reference.length, ...header }, [
          reference,
        ]);
      } else {
        this.output.writeFrame({ type: FrameType.Write, length: bytes.length, ...header }, [bytes]);
      }
    });
  }

  read(target: Region | RegionSlice, remoteDescriptor: Uint8Array, remoteOffset: number): Promise<void> {
    const { slice, remote } = prepareOneSided('read', target, remoteDescriptor, remoteOffset);
    const memory = this.peerMemory?.byReference(slice.length, 'read') ? this.peerMemory : undefined;
    return this.start('read', memory ? undefined : slice.bytes, memory && slice.bytes, (id) => {
      counters.reads++;
      const header = { id, aux: slice.length, key: remote.key, offset: remoteOffset };
      if (memory) {
        const address = encodeAddress(memory.address(slice.bytes));
        this.output.writeFrame({ type: FrameType.ReadInto, length: address.length, ...header }, [address]);
      } else {
        this.output.writeFrame({ type: FrameType.ReadRequest, ...header }, []);
      }
    });
  }

  /** Where the payload of a ReadResponse lands: the memory of the read it answers (EPROTO if none). */
  responseTarget(header: FrameHeader): Uint8Array | undefined {
    return this.pending(header, 'read').target;
  }

  /** The owner's answer to operation `header.id` (a `kind`) arrived whole: it resolves. */
  settle(header: FrameHeader, kind: 'write' | 'read'): void {
    const operation = this.pending(header, kind);
    // A read answers with its bytes (ReadResponse) or, by reference, without them (ReadDone).
    if (kind === 'read' && (header.type === FrameType.ReadDone) !== (operation.byReference === true)) {
      throw new FabricError(
        'EPROTO',
        `protocol violation by the peer: a ${frameTypeName(header.type)} for read ${header.id}`,
      );
    }
    this.operations.take(header.id)?.resolve();
  }

  private start(
    kind: 'write' | 'read',
    target: Uint8Array | undefined,
    /** The memory the owner copies from or into, for an operation by reference. */
    byReference: Uint8Array | undefined,
    emit: (id: number) => void,
  ): Promise<void> {
    return new Promise((resolve, reject) => {
      const operation: StreamOperation = { kind, what: `the ${kind}`, resolve, reject };
      if (target) operation.target = target;
      if (byReference) {
        operation.byReference = true;
        operation.memory = byReference;
      }
      const id = this.operations.add(operation);
      this.link.enqueue(
        () => emit(id),
        (error) => this.operations.take(id)?.reject(error),
      );
      this.link.awaitingPeer();
    });
  }

  private pending(header: FrameHeader, kind: 'write' | 'read'): StreamOperation {
    const op = this.operations.get(header.id);
    if (!op || op.kind !== kind || (op.target !== undefined && op.target.length !== header.length)) {
      throw new FabricError(
        'EPROTO',
        `protocol violation by the peer: unexpected response for operation ${header.id}`,
      );
    }
    return op;
  }
}
