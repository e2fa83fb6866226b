import type { TransportKind } from './options.js';
import type { Region, RegionSlice } from './region.js';

/** One connection to a peer, whatever the transport underneath. */
export interface Connection extends AsyncIterable<Uint8Array> {
  /** The transport actually in use. */
  readonly transport: TransportKind;
  /** True once the connection is closed, by either side or by an error. */
  readonly closed: boolean;
  /** Largest message the peer accepts (its maxMessageSize). */
  readonly peerMaxMessageSize: number;
  /**
   * Sends one message (any typed array's bytes); an array of parts is gathered without concatenation and
   * arrives as one message.
   * Resolves once the bytes are handed to the transport: the memory may then be reused.
   */
  send(message: ArrayBufferView | readonly ArrayBufferView[]): Promise<void>;
  /** The next message, in order. Rejects with ECLOSED once the connection is closed and drained. */
  receive(): Promise<Uint8Array>;
  /** RDMA WRITE semantics: copies `source` into the peer's region; resolves once it is in the peer's memory. */
  write(source: Region | RegionSlice, remoteDescriptor: Uint8Array, remoteOffset?: number): Promise<void>;
  /** RDMA READ semantics: fills `target` from the peer's region. */
  read(target: Region | RegionSlice, remoteDescriptor: Uint8Array, remoteOffset?: number): Promise<void>;
  /** Closes the connection; pending operations reject with ECLOSED. Idempotent, bounded in time. */
  close(): Promise<void>;
}
