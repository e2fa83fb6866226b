import { FabricError } from '../../api/errors.js';
import { checkRegionAccess, grantedRegion } from '../../api/region.js';
import { counters } from '../../api/stats.js';
import { ACCESS_READ, ACCESS_WRITE } from '../../protocol/descriptor.js';
import { errorFrame } from '../../protocol/error-frame.js';
import { type FrameHeader, FrameType, type HeaderFields } from '../../protocol/frame.js';
import { DISCARD } from '../../protocol/frame-reader.js';
import type { FrameOutput } from './frame-output.js';
import {
  type CopyOutcome,
  copyFailure,
  decodeAddress,
  decodeReference,
  type PeerMemory,
} from './peer-memory.js';

/** Answers beyond maxInFlight that may wait for a peer that does not read them (another side's limit, say). */
const UNREAD_ANSWERS_MARGIN = 64;

/** Operation ids are non-zero: id 0 in an Error frame means the whole connection. */
function checkOperationId(header: FrameHeader): void {
  if (header.id === 0) throw new FabricError('EPROTO', 'protocol violation by the peer: operation id 0');
}

/** What the owner side needs of its connection. */
export interface OwnerLink {
  /** The connection as regions are granted to it (register(memory, { peers })). */
  readonly grantee: object;
  readonly peerName: string;
  readonly maxInFlight: number;
  /** Fails the connection with `reason`, without telling the peer (it does not read what it is told). */
  drop(reason: FabricError): void;
}

/**
 * The owner side of the peer's one-sided operations: each Write and ReadRequest is checked against the region
 * granted to this connection (key, bounds, access) and answered, with a WriteAck, a ReadResponse carrying the
 * region's bytes, or an Error frame for that operation alone. A well-behaved peer has at most maxInFlight
 * operations unsettled, so it never leaves more answers than that unread; one that asks without reading is
 * dropped with ENOBUFS.
 */
export class OwnerAnswers {
  /** Verdict of the checks for the Write frame being received. */
  private writeVerdict: Uint8Array | FabricError | undefined;
  /** Answers to the peer's operations not yet taken by the kernel: they pile up when the peer stops reading. */
  private answersUnread = 0;

  constructor(
    private readonly output: FrameOutput,
    private readonly link: OwnerLink,
    private readonly peerMemory?: PeerMemory,
  ) {}

  /** Where the payload of the peer's Write lands: the granted region's memory, or DISCARD when refused. */
  writeTarget(header: FrameHeader): Uint8Array | typeof DISCARD {
    checkOperationId(header);
    this.writeVerdict = this.memory(header.key, header.offset, header.length, ACCESS_WRITE);
    return this.writeVerdict instanceof FabricError ? DISCARD : this.writeVerdict;
  }

  /** The peer's Write arrived whole (its payload in the region, unless refused): the answer. */
  onWrite(header: FrameHeader): void {
    checkOperationId(header);
    const verdict =
      header.length === 0 ? this.memory(header.key, header.offset, 0, ACCESS_WRITE) : this.writeVerdict;
    this.writeVerdict = undefined;
    counters.bytesReceived += header.length;
    if (verdict instanceof FabricError) this.refuse(header.id, verdict);
    else this.answer({ type: FrameType.WriteAck, id: header.id }, []);
  }

  /** The peer asks for bytes of a region: a ReadResponse with them, straight from the region's memory. */
  onReadRequest(header: FrameHeader): void {
    checkOperationId(header);
    const verdict = this.memory(header.key, header.offset, header.aux, ACCESS_READ);
    if (verdict instanceof FabricError) {
      this.refuse(header.id, verdict);
    } else {
      counters.bytesSent += verdict.length;
      this.answer({ type: FrameType.ReadResponse, id: header.id, length: verdict.length }, [verdict]);
    }
  }

  /** The peer's write by reference: after the same checks, its bytes are copied straight into the region. */
  onWriteFrom(header: FrameHeader, payload: Uint8Array): void {
    checkOperationId(header);
    const { address, length } = decodeReference(payload);
    const verdict = this.memory(header.key, header.offset, length, ACCESS_WRITE);
    this.answerByReference(
      header.id,
      verdict,
      (memory, bytes) => memory.copyFrom(address, bytes),
      () => {
        counters.bytesReceived += length;
        return FrameType.WriteAck;
      },
    );
  }

  /** The peer's read by reference: after the same checks, the region's bytes are copied straight into its memory. */
  onReadInto(header: FrameHeader, payload: Uint8Array): void {
    checkOperationId(header);
    const address = decodeAddress(payload);
    const verdict = this.memory(header.key, header.offset, header.aux, ACCESS_READ);
    this.answerByReference(
      header.id,
      verdict,
      (memory, bytes) => memory.copyTo(address, bytes),
      () => {
        counters.bytesSent += header.aux;
        return FrameType.ReadDone;
      },
    );
  }

  /**
   * Copies operation `id`'s bytes with the peer's memory once the checks gave `verdict`, and answers: the
   * frame `done` names, or an Error frame; a peer gone meanwhile drops the connection and gets no answer.
   */
  private answerByReference(
    id: number,
    verdict: Uint8Array | FabricError,
    copy: (memory: PeerMemory, bytes: Uint8Array) => CopyOutcome,
    done: () => FrameType,
  ): void {
    const copied =
      verdict instanceof FabricError ? verdict : this.copied(verdict, (memory) => copy(memory, verdict));
    if (copied === 'dropped') return;
    if (copied instanceof FabricError) this.refuse(id, copied);
    else this.answer({ type: done(), id }, []);
  }

  /**
   * Runs the copy of `bytes` with the peer's memory: undefined once done, or why the operation is refused; a
   * peer gone meanwhile drops the connection (what was copied from it cannot be trusted) and gets no answer.
   */
  private copied(
    bytes: Uint8Array,
    copy: (memory: PeerMemory) => CopyOutcome,
  ): FabricError | undefined | 'dropped' {
    const outcome = this.peerMemory === undefined ? 'refused' : copy(this.peerMemory);
    if (outcome === 'gone') {
      this.link.drop(copyFailure(outcome, this.link.peerName, `a ${bytes.length}-byte operation`));
      return 'dropped';
    }
    if (outcome === 'refused') return copyFailure(outcome, this.link.peerName, `${bytes.length} bytes`);
    counters.kernelCopiedBytes += bytes.length;
    counters.placedBytes += bytes.length;
    return undefined;
  }

  /** Owner-side checks of a peer's one-sided operation: the region's memory, or why not. */
  private memory(key: bigint, offset: number, length: number, access: number): Uint8Array | FabricError {
    const region = grantedRegion(key, this.link.grantee);
    if (region instanceof FabricError) return region;
    return (
      checkRegionAccess(region.accessBits, region.length, offset, length, access) ??
      region.bytes.subarray(offset, offset + length)
    );
  }

  /** An Error frame: the answer to operation `id`, which the owner refuses. */
  private refuse(id: number, error: FabricError): void {
    const { header, text } = errorFrame(id, error);
    this.answer(header, [text]);
  }

  /** Answers one of the peer's operations, unless the peer leaves too many answers unread. */
  private answer(header: HeaderFields, parts: readonly Uint8Array[]): void {
    const { maxInFlight, peerName } = this.link;
    if (this.answersUnread >= maxInFlight + UNREAD_ANSWERS_MARGIN) {
      this.link.drop(
        new FabricError(
          'ENOBUFS',
          `${peerName} does not read the answers to its operations (${this.answersUnread} wait, maxInFlight is ${maxInFlight})`,
        ),
      );
      return;
    }
    this.answersUnread++;
    this.output.writeFrame(header, parts, () => {
      this.answersUnread--;
    });
  }
}
