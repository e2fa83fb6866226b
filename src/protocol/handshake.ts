import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { FabricError } from '../api/errors.js';
import { HEADER_SIZE, HELLO_SIZE } from './frame.js';

export const PROTOCOL_VERSION = 1;
const MAGIC = 0x43524246; // "FBRC" read as a little-endian u32
const FLAG_TOKEN = 0x1;
/** Capability bit: the sender reads ahead, and pads the frames it sends to a peer that does too (frame.ts). */
export const CAPABILITY_READ_AHEAD = 0x1;

export interface Hello {
  /** Highest protocol version the sender speaks (the server answers with the version both will use). */
  version: number;
  capabilities: number;
  /** Largest message payload the sender accepts. */
  maxMessageSize: number;
  /** Message bytes (payload + header) the sender buffers for its peer before it returns credit. */
  receiveWindow: number;
  /** Whether the sender holds a token (and so requires its peer to prove the same one). */
  token: boolean;
  nonce: Buffer;
}

export function newNonce(): Buffer {
  return randomBytes(32);
}

export function encodeHello(hello: Hello): Buffer {
  const buf = Buffer.alloc(HELLO_SIZE);
  buf.writeUInt32LE(MAGIC, 0);
  buf.writeUInt16LE(hello.version, 4);
  buf.writeUInt16LE(hello.token ? FLAG_TOKEN : 0, 6);
  buf.writeUInt32LE(hello.capabilities, 8);
  buf.writeUInt32LE(hello.maxMessageSize, 12);
  buf.writeUInt32LE(hello.receiveWindow, 16);
  hello.nonce.copy(buf, 20);
  return buf;
}

export function decodeHello(payload: Uint8Array): Hello {
  const buf = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  if (buf.length !== HELLO_SIZE || buf.readUInt32LE(0) !== MAGIC) {
    throw new FabricError('EPROTO', 'the peer does not speak the fabric-transport protocol (bad HELLO)');
  }
  const version = buf.readUInt16LE(4);
  const flags = buf.readUInt16LE(6);
  const maxMessageSize = buf.readUInt32LE(12);
  const receiveWindow = buf.readUInt32LE(16);
  if (
    version === 0 ||
    (flags & ~FLAG_TOKEN) !== 0 ||
    maxMessageSize === 0 ||
    receiveWindow < maxMessageSize + HEADER_SIZE
  ) {
    throw new FabricError('EPROTO', 'the peer sent a malformed HELLO (version, flags or limits)');
  }
  return {
    version,
    capabilities: buf.readUInt32LE(8),
    maxMessageSize,
    receiveWindow,
    token: (flags & FLAG_TOKEN) !== 0,
    nonce: Buffer.from(buf.subarray(20, 52)),
  };
}

/** The text a proof's MAC input starts with: ASCII `fabric-transport v1 client` or `... server` (26 bytes). */
export function proofLabel(role: 'client' | 'server'): Buffer {
  return Buffer.from(`fabric-transport v${PROTOCOL_VERSION} ${role}`, 'ascii');
}

/**
 * Proof that a side knows the token, bound to both nonces and to the side's role, so a proof can be neither
 * replayed on another connection nor reflected back to its sender. The token itself never crosses the wire.
 * The client proves first and the server answers only a correct proof, so an unauthenticated client learns
 * nothing it could test token guesses against. Exactly (docs/PROTOCOL.md): HMAC-SHA256 keyed with the
 * token's UTF-8 bytes, over the 26-byte label, then the client's 32-byte nonce, then the server's, with
 * nothing between them (90 bytes).
 */
export function tokenProof(
  token: string,
  role: 'client' | 'server',
  clientNonce: Buffer,
  serverNonce: Buffer,
): Buffer {
  return createHmac('sha256', Buffer.from(token, 'utf8'))
    .update(proofLabel(role))
    .update(clientNonce)
    .update(serverNonce)
    .digest();
}

export function proofMatches(expected: Buffer, received: Uint8Array): boolean {
  return received.length === expected.length && timingSafeEqual(expected, received);
}
