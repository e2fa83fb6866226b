import { FabricError } from '../../api/errors.js';
import type { ConnectionState } from '../../core/connection-base.js';
import type { MessageCredit } from '../../core/message-credit.js';
import type { UserOperation } from '../../core/user-operations.js';
import {
  decodeHeader,
  encodeHeader,
  type FrameHeader,
  FrameType,
  HEADER_SIZE,
} from '../../protocol/frame.js';
import { Fifo } from '../../util/fifo.js';
import { FRAME_BYTES, RDMA_FRAMES, RECEIVE_BUFFERS, RECEIVE_CREDITS } from './frames.js';
import type { NativeMemoryRegion } from './native.js';
import { LOCAL_WRITE, registerMemory } from './registrations.js';
import type { QueuePair } from './setup.js';
import { OP_SEND, type WorkQueue } from './work-queue.js';

/** Frame slots of the send buffer: frames being sent, copied there first. */
const SEND_SLOTS = 64;
/** Frame credits kept back from messages, so that control frames (grants, rendezvous completions) always go. */
const MESSAGE_RESERVE = 4;
/** Unreturned frame credits that make the receiver send a Credit frame even when nothing asks for it sooner. */
const CREDIT_BATCH = RECEIVE_CREDITS / 4;
/** Work request ids from here on are receive buffers; below, send work. */
export const RECEIVE_ID_BASE = 0x8000_0000;

/** One frame to send. */
export interface OutgoingFrame {
  header: Buffer;
  payload: readonly Uint8Array[];
  /** Payload bytes. */
  length: number;
  /** Whether the header carries returned credit (Message, Rendezvous, Credit: aux bytes, key frames). */
  carriesCredit: boolean;
  /** Message bytes it costs against the peer's receive window (messages only). */
  bytes: number;
  /** Whether it costs no frame credit (Credit frames, the final Error frame). */
  free?: boolean;
  /** The frame is in the send buffer: a message's memory may be reused. */
  onPosted?: () => void;
}

/** What the frame channel needs of its connection. */
export interface FrameChannelOwner {
  readonly link: Pick<QueuePair, 'endpoint' | 'work'>;
  readonly credit: MessageCredit;
  state(): ConnectionState;
  /** Whether the endpoint is gone (torn down): nothing is posted any more. */
  destroyed(): boolean;
  /** Handles a received frame; `payload` lies in the receive buffer, which is reused once this returns. */
  onFrame(header: FrameHeader, payload: Uint8Array): void;
  /** A work completion failed with `status` while the connection was not closed. */
  onCompletionError(status: number): void;
  /** Starts the user's operations that can go now. */
  pumpUser(): void;
}

/**
 * Frames over the queue pair: each is one SEND from a send slot into one of the peer's pre-posted receive
 * buffers, under per-buffer frame credit. Control frames go before the user's operations; a message keeps
 * MESSAGE_RESERVE credits back for them. Credit (frames, and message bytes) goes back in the headers of
 * frames that carry it, or in a Credit frame, which costs none.
 */
export class FrameChannel {
  private readonly receiveBuffers = new Uint8Array(RECEIVE_BUFFERS * FRAME_BYTES);
  private readonly sendBuffers = new Uint8Array(SEND_SLOTS * FRAME_BYTES);
  private receiveRegistration: NativeMemoryRegion | undefined;
  private sendRegistration: NativeMemoryRegion | undefined;
  private readonly freeSlots = Array.from({ length: SEND_SLOTS }, (_, i) => SEND_SLOTS - 1 - i);
  /** Frames (other than Credit frames) we may still send before the peer returns frame credit. */
  private frameCredit = RECEIVE_CREDITS;
  /** Frames received (other than Credit frames) whose credit was not returned yet. */
  private peerFramesUsed = 0;
  /** Credit of handled frames and of messages the application took, to return to the peer. */
  private framesToReturn = 0;
  private creditFlushScheduled = false;
  /** A Credit frame is due but had no send slot yet. */
  private creditFlushWanted = false;
  private readonly controlFrames = new Fifo<OutgoingFrame>();

  constructor(private readonly owner: FrameChannelOwner) {}

  /** The queue pair exists: registers the buffers and posts every receive buffer. */
  open(): void {
    const { endpoint } = this.owner.link;
    this.receiveRegistration = registerMemory(endpoint, this.receiveBuffers, LOCAL_WRITE);
    this.sendRegistration = registerMemory(endpoint, this.sendBuffers, LOCAL_WRITE);
    for (let slot = 0; slot < RECEIVE_BUFFERS; slot++) this.postReceive(slot);
  }

  // ---- frames in ----------------------------------------------------------------------------------------------

  /** Completions ([wrId, status, opcode, byteLength] * n): received frames, and the send queue's work. */
  onCompletions(completions: Uint32Array): void {
    for (let i = 0; i + 3 < completions.length; i += 4) {
      const id = completions[i] as number;
      const status = completions[i + 1] as number;
      if (id >= RECEIVE_ID_BASE) this.onReceive(id - RECEIVE_ID_BASE, status, completions[i + 3] as number);
      else this.owner.link.work?.complete(id, status);
      if (status !== 0 && this.owner.state() !== 'closed') this.owner.onCompletionError(status);
    }
    this.pump();
  }

  /** Credit the peer returned: message bytes in `aux`, frames in `key`. */
  addCredit(header: FrameHeader): void {
    const frames = Number(header.key);
    if (this.frameCredit + frames > RECEIVE_CREDITS) {
      throw new FabricError(
        'EPROTO',
        'protocol violation by the peer: it returned more credit than it was sent',
      );
    }
    this.owner.credit.returned(header.aux);
    this.frameCredit += frames;
  }

  private onReceive(slot: number, status: number, byteLength: number): void {
    if (this.owner.state() === 'closed' || status !== 0) return;
    const frame = this.receiveBuffers.subarray(slot * FRAME_BYTES, slot * FRAME_BYTES + byteLength);
    const header = decodeHeader(frame, RDMA_FRAMES);
    if (byteLength !== HEADER_SIZE + header.length) {
      throw new FabricError(
        'EPROTO',
        'protocol violation by the peer: a frame whose length does not match its header',
      );
    }
    const costsCredit = header.type !== FrameType.Credit;
    if (costsCredit && ++this.peerFramesUsed > RECEIVE_CREDITS) {
      throw new FabricError(
        'EPROTO',
        'protocol violation by the peer: it sent more frames than its credit allows',
      );
    }
    // Everything the handlers keep is copied out, so the buffer goes straight back to the receive queue, and
    // its credit back to the peer: soon for control frames, whose sender may be waiting on it.
    this.owner.onFrame(header, frame.subarray(HEADER_SIZE));
    this.postReceive(slot);
    if (costsCredit) {
      const isMessage = header.type === FrameType.Message || header.type === FrameType.Rendezvous;
      this.returnFrame(!isMessage);
    }
  }

  private postReceive(slot: number): void {
    const registration = this.receiveRegistration as NativeMemoryRegion;
    const error = this.owner.link.endpoint.postRecv(
      RECEIVE_ID_BASE + slot,
      registration.address + BigInt(slot * FRAME_BYTES),
      FRAME_BYTES,
      registration.lkey,
    );
    if (error !== 0 && this.owner.state() !== 'closed') {
      throw new FabricError('ECONNRESET', `cannot post a receive buffer (errno ${error})`);
    }
  }

  // ---- frames out ---------------------------------------------------------------------------------------------

  /** A message frame among the user's operations: it goes after the control frames, with credit to spare. */
  userFrame(frame: OutgoingFrame, reject: (error: Error) => void): UserOperation {
    return {
      cost: frame.bytes,
      start: () => {
        const blocked =
          !this.postable ||
          this.controlFrames.length > 0 ||
          this.freeSlots.length === 0 ||
          this.frameCredit <= MESSAGE_RESERVE;
        if (!blocked) this.postFrame(frame);
        return !blocked;
      },
      reject,
    };
  }

  /** Queues a control frame (`free`: it costs no frame credit), ahead of the user's operations. */
  queueControl(header: Buffer, payload: readonly Uint8Array[] = [], free = false): void {
    const length = payload.reduce((sum, part) => sum + part.length, 0);
    this.controlFrames.push({ header, payload, length, carriesCredit: false, bytes: 0, free });
    this.pump();
  }

  /**
   * Posts what can go: a due Credit frame, control frames (they only need a send slot and one credit), then
   * the user's operations in call order (a message needs credit beyond the reserve, a one-sided operation its
   * grant).
   */
  pump(): void {
    if (!this.postable) return;
    if (this.creditFlushWanted && this.freeSlots.length > 0) this.flushCredit();
    for (
      let control = this.controlFrames.peek();
      control && this.freeSlots.length > 0 && (this.frameCredit > 0 || control.free);
      control = this.controlFrames.peek()
    ) {
      this.controlFrames.shift();
      this.postFrame(control);
    }
    this.owner.pumpUser();
  }

  /** Sends the credit owed soon, in a Credit frame unless a frame sent before then carries it. */
  scheduleCreditFlush(): void {
    if (this.creditFlushScheduled) return;
    this.creditFlushScheduled = true;
    // Deferred so that a reply sent right after receive() carries the credit instead of an extra frame.
    setImmediate(() => {
      this.creditFlushScheduled = false;
      this.flushCredit();
    });
  }

  /** Deregisters the buffers: the endpoint is gone. */
  release(): void {
    this.receiveRegistration?.deregister();
    this.sendRegistration?.deregister();
  }

  /** Whether frames may be posted: the queue pair exists and is not torn down. */
  private get postable(): boolean {
    return this.owner.link.work !== undefined && !this.owner.destroyed();
  }

  /** One handled frame's credit is owed; `soon` asks for a Credit frame if nothing carries it. */
  private returnFrame(soon: boolean): void {
    this.framesToReturn++;
    if (soon || this.framesToReturn >= CREDIT_BATCH) this.scheduleCreditFlush();
  }

  /** Sends a Credit frame with what is owed (it costs no credit), or as soon as a send slot frees up. */
  private flushCredit(): void {
    this.creditFlushWanted = false;
    if (this.owner.state() !== 'open' || this.owner.destroyed()) return;
    if (this.framesToReturn === 0 && this.owner.credit.owing === 0) return;
    if (this.freeSlots.length === 0) {
      this.creditFlushWanted = true;
      return;
    }
    this.postFrame({
      header: encodeHeader({ type: FrameType.Credit }),
      payload: [],
      length: 0,
      carriesCredit: true,
      bytes: 0,
      free: true,
    });
  }

  /** Copies a frame into a send slot and posts it as one SEND. */
  private postFrame(frame: OutgoingFrame): void {
    const slot = this.freeSlots.pop() as number;
    const at = slot * FRAME_BYTES;
    try {
      // The payload first: if copying it throws, no credit has been handed out yet.
      let offset = at + HEADER_SIZE;
      for (const part of frame.payload) {
        this.sendBuffers.set(part, offset);
        offset += part.length;
      }
    } catch (error) {
      this.freeSlots.push(slot);
      throw error;
    }
    if (frame.carriesCredit) {
      frame.header.writeUInt32LE(this.owner.credit.takeOwed(), 12);
      frame.header.writeBigUInt64LE(BigInt(this.framesToReturn), 16);
      this.peerFramesUsed -= this.framesToReturn;
      this.framesToReturn = 0;
    }
    this.sendBuffers.set(frame.header, at);
    if (!frame.free) this.frameCredit--;
    const registration = this.sendRegistration as NativeMemoryRegion;
    (this.owner.link.work as WorkQueue).post({
      opcode: OP_SEND,
      address: registration.address + BigInt(at),
      length: HEADER_SIZE + frame.length,
      lkey: registration.lkey,
      remoteAddress: 0n,
      rkey: 0,
      done: () => {
        this.freeSlots.push(slot);
      },
    });
    frame.onPosted?.();
  }
}
