import { FabricError } from '../api/errors.js';
import type { ResolvedOptions } from '../core/options.js';
import { type FrameHeader, FrameType } from './frame.js';
import {
  decodeHello,
  encodeHello,
  type Hello,
  newNonce,
  PROTOCOL_VERSION,
  proofMatches,
  tokenProof,
} from './handshake.js';

export type Role = 'client' | 'server';

/** Sends one handshake frame of `type` with `payload` (empty for none). */
export type SendHandshakeFrame = (type: FrameType, payload: Uint8Array) => void;

const EMPTY = new Uint8Array(0);

/**
 * The handshake both transports run before any data frame (docs/PROTOCOL.md):
 * client: Hello ->, <- Hello, Auth(proof) ->, <- Ready(proof). Each side refuses a peer whose token flag
 * differs from its own; the server checks the client's proof before it proves anything itself.
 */
export class HandshakeSession {
  /** The peer's HELLO, once received. */
  peer: Hello | undefined;
  private readonly nonce = newNonce();

  constructor(
    private readonly role: Role,
    private readonly options: ResolvedOptions,
    private readonly receiveWindow: number,
    private readonly peerName: string,
    private readonly sendFrame: SendHandshakeFrame,
    /** The capability bits this side announces in its HELLO. */
    private readonly capabilities: number,
  ) {}

  /** The client speaks first. */
  start(): void {
    if (this.role === 'client') this.sendHello(PROTOCOL_VERSION);
  }

  /** Handles one handshake frame (not Error frames); true once the handshake is complete. Throws FabricError. */
  onFrame(header: FrameHeader, payload: Uint8Array): boolean {
    const token = this.options.token;
    const step =
      this.peer === undefined ? FrameType.Hello : this.role === 'server' ? FrameType.Auth : FrameType.Ready;
    if (header.type !== step) {
      throw new FabricError(
        'EPROTO',
        `handshake failed: unexpected frame type 0x${header.type.toString(16)} from ${this.peerName}`,
      );
    }
    if (step === FrameType.Hello) {
      const peer = decodeHello(payload);
      if (this.role === 'client') this.checkServerVersion(peer);
      this.checkTokenFlag(peer);
      this.peer = peer;
      if (this.role === 'server') {
        this.sendHello(Math.min(peer.version, PROTOCOL_VERSION));
      } else {
        this.sendFrame(FrameType.Auth, token ? tokenProof(token, 'client', this.nonce, peer.nonce) : EMPTY);
      }
      return false;
    }
    const peerNonce = (this.peer as Hello).nonce;
    const [clientNonce, serverNonce] =
      this.role === 'server' ? [peerNonce, this.nonce] : [this.nonce, peerNonce];
    const peerRole = this.role === 'server' ? 'client' : 'server';
    if (
      token
        ? !proofMatches(tokenProof(token, peerRole, clientNonce, serverNonce), payload)
        : payload.length > 0
    ) {
      throw new FabricError(
        'EACCES',
        token
          ? `${this.peerName} did not prove it holds the token: set the same FABRIC_TOKEN on both sides`
          : `${this.peerName} sent a token proof, but this side has no token: set the same FABRIC_TOKEN on both sides`,
      );
    }
    if (this.role === 'server') {
      this.sendFrame(FrameType.Ready, token ? tokenProof(token, 'server', clientNonce, serverNonce) : EMPTY);
    }
    return true;
  }

  private sendHello(version: number): void {
    this.sendFrame(
      FrameType.Hello,
      encodeHello({
        version,
        capabilities: this.capabilities,
        maxMessageSize: this.options.maxMessageSize,
        receiveWindow: this.receiveWindow,
        token: this.options.token !== undefined,
        nonce: this.nonce,
      }),
    );
  }

  /** The client accepts the version the server chose only if it speaks it. */
  private checkServerVersion(peer: Hello): void {
    if (peer.version !== PROTOCOL_VERSION) {
      throw new FabricError(
        'EPROTO',
        `${this.peerName} answered with protocol version ${peer.version}; this side speaks ${PROTOCOL_VERSION}`,
      );
    }
  }

  /**
   * Both sides refuse a peer whose token flag differs from their own, as soon as its HELLO arrives: the client
   * before it sends Auth, the server before it answers with its HELLO.
   */
  private checkTokenFlag(peer: Hello): void {
    const token = this.options.token !== undefined;
    if (peer.token && !token) {
      throw new FabricError(
        'EACCES',
        this.role === 'client'
          ? `${this.peerName} requires a token: set FABRIC_TOKEN or the token option`
          : `${this.peerName} claims a token, but this listener has none: set the same FABRIC_TOKEN on both sides`,
      );
    }
    if (!peer.token && token) {
      throw new FabricError(
        'EACCES',
        this.role === 'client'
          ? `${this.peerName} has no token set, but this side has one: set the same FABRIC_TOKEN on both sides`
          : `${this.peerName} has no token, but this listener requires one: set FABRIC_TOKEN or the token option`,
      );
    }
  }
}
