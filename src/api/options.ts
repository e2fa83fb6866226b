import type { RegisteredKind, TransportSpecificOptions } from '../transports/registry.js';

export type TransportKind = RegisteredKind;
export type TransportChoice = 'auto' | TransportKind;
export type PollMode = 'event' | 'spin' | 'hybrid';

/** The options every transport shares. Each has an environment variable that sets its default. */
export interface CommonOptions {
  /** `FABRIC_TRANSPORT`: 'auto' (default) picks the best transport that reaches the peer (InfiniBand, RoCE, then TCP). */
  transport?: TransportChoice;
  /** `FABRIC_POLL`: how completions are waited for. */
  pollMode?: PollMode;
  /** `FABRIC_SPIN_US`: how long 'spin' and 'hybrid' busy-poll, in microseconds. */
  spinMicros?: number;
  /** `FABRIC_MAX_MESSAGE`: largest message accepted from the peer, in bytes (suffixes K, M, G allowed in the variable). */
  maxMessageSize?: number;
  /** `FABRIC_TOKEN`: shared secret; both ends must hold the same one. */
  token?: string;
  /** Milliseconds allowed for connection set-up and handshake (default 10000). */
  handshakeTimeout?: number;
  /**
   * `FABRIC_MAX_IN_FLIGHT`: one-sided operations (writes, reads) one connection may have unsettled at once
   * (default 1024); one more rejects with ENOBUFS. An owner also drops a TCP peer that leaves more answers than
   * that unread. Messages are bounded by flow control instead (maxBufferedBytes).
   */
  maxInFlight?: number;
  /**
   * `FABRIC_MAX_BUFFERED`: the credit window announced to the peer: bytes of received messages, each counted
   * as its length + 32, held for an application that reads slowly; the peer's further sends wait for credit
   * (default maxMessageSize + 32 + 1 MiB, at least maxMessageSize + 32).
   */
  maxBufferedBytes?: number;
}

/** Options shared by `listen` and `connect`: the common ones and those of each transport. */
export type TransportOptions = CommonOptions & TransportSpecificOptions;

export type ConnectOptions = TransportOptions & {
  host: string;
  port: number;
};

export type ListenOptions = TransportOptions & {
  /** Address to listen on (default 127.0.0.1). */
  host?: string;
  /** Port to listen on; 0 (default) picks a free one, read it back from `listener.port`. */
  port?: number;
  /**
   * `FABRIC_MAX_CONNECTIONS`: connections the listener holds at once, in their handshake or open (default
   * 1024); a client beyond them is refused with EBUSY.
   */
  maxConnections?: number;
};
