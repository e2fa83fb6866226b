import type * as net from 'node:net';
import type { FrameOutput, WriteDone } from '../../core/stream/frame-output.js';
import {
  carriesPlacedPayload,
  encodeHeaderInto,
  HEADER_SIZE,
  type HeaderFields,
  READ_AHEAD_BYTES,
} from '../../protocol/frame.js';
import type { DirectSocket } from './direct-socket.js';

/** What follows the header of a Write or ReadResponse to a peer that reads ahead (zeros, never written to). */
const PADDING = new Uint8Array(READ_AHEAD_BYTES - HEADER_SIZE);
/** What is left of a frame the kernel took whole. */
const NOTHING_LEFT: readonly Uint8Array[] = Object.freeze([]);

/** What is left of `parts` once their first `written` bytes went out (views, not copies). */
function unwritten(parts: Uint8Array[], written: number): Uint8Array[] {
  let skip = written;
  let first = 0;
  while (first < parts.length && skip >= (parts[first] as Uint8Array).length) {
    skip -= (parts[first] as Uint8Array).length;
    first++;
  }
  const rest = parts.slice(first);
  if (skip > 0) rest[0] = (rest[0] as Uint8Array).subarray(skip);
  return rest;
}

/**
 * Puts frames on one socket, in order and without copying a payload, by two paths: straight to the kernel
 * through the DirectSocket while node:net holds nothing unsent, else (and for what the kernel did not take
 * at once) through node:net, corked so that a frame's parts go out in one writev.
 */
export class FrameWriter implements FrameOutput {
  /** Whether both sides read ahead: then Write and ReadResponse headers are padded (protocol/frame.ts). */
  private padded = false;
  /** Every outgoing header is encoded here: a direct write hands the kernel a copy before it returns. */
  private readonly headerBytes = Buffer.alloc(HEADER_SIZE);

  constructor(
    private readonly socket: net.Socket,
    private readonly direct: DirectSocket,
  ) {}

  /** Both sides read ahead: from now on, frames whose payload the peer places have padded headers. */
  padPlacedPayloads(): void {
    this.padded = true;
  }

  writable(): boolean {
    return !this.socket.destroyed && !this.socket.writableEnded;
  }

  /** Puts a frame on the wire in order: straight to the socket when node:net holds nothing unsent. */
  writeFrame(header: HeaderFields, parts: readonly Uint8Array[], done?: WriteDone): void {
    if (!this.writable()) {
      done?.(new Error('socket closed'));
      return;
    }
    const rest = this.writeDirectly(header, parts);
    if (rest.length === 0) done?.();
    else this.writeBySocket(rest, done);
  }

  /**
   * Encodes `header` and writes what the kernel takes of the frame now, without node:net (unless node:net
   * still holds earlier bytes): what is left, in order, for writeBySocket (empty when all went out).
   */
  writeDirectly(header: HeaderFields, parts: readonly Uint8Array[]): readonly Uint8Array[] {
    const headerBytes = this.headerBytes;
    encodeHeaderInto(headerBytes, header);
    const frame: Uint8Array[] = [headerBytes];
    let bytes = HEADER_SIZE;
    if (this.padded && carriesPlacedPayload(header.type)) {
      frame.push(PADDING);
      bytes += PADDING.length;
    }
    for (const part of parts) {
      if (part.length === 0) continue;
      frame.push(part);
      bytes += part.length;
    }
    const written = this.direct.write(frame);
    if (written === bytes) return NOTHING_LEFT;
    const rest = written > 0 ? unwritten(frame, written) : frame;
    // The header buffer is the next frame's: node:net gets its own copy of what it must still write of it.
    if (rest[0]?.buffer === headerBytes.buffer) rest[0] = Uint8Array.prototype.slice.call(rest[0]);
    return rest;
  }

  /** Hands the rest of a frame to node:net, which writes it after whatever it holds, then calls `done`. */
  writeBySocket(frame: readonly Uint8Array[], done?: WriteDone): void {
    const socket = this.socket;
    if (frame.length === 1) {
      socket.write(frame[0] as Uint8Array, done);
      return;
    }
    socket.cork();
    for (let i = 0; i < frame.length - 1; i++) socket.write(frame[i] as Uint8Array);
    socket.write(frame[frame.length - 1] as Uint8Array, done);
    socket.uncork();
  }
}
