import { FabricError } from '../../api/errors.js';
import { checkRegionAccess, type RegionSlice } from '../../api/region.js';
import { counters } from '../../api/stats.js';
import type { OperationTable } from '../../core/operation-table.js';
import type { UserOperation } from '../../core/user-operations.js';
import { ACCESS_READ, ACCESS_WRITE } from '../../protocol/descriptor.js';
import type { Grant, Grants, VerbsOperation } from './grants.js';
import { regionRegistration } from './registrations.js';
import type { QueuePair } from './setup.js';
import { OP_READ, OP_WRITE, type WorkQueue } from './work-queue.js';

/** The largest single RDMA WRITE/READ work request (InfiniBand's limit is 2^31; NICs often allow less). */
const CHUNK_BYTES = 1 << 30;

/** What one-sided operations need of their connection. */
export interface OneSidedOwner {
  readonly peerName: string;
  readonly link: Pick<QueuePair, 'endpoint' | 'device' | 'work'>;
  readonly grants: Pick<Grants, 'request' | 'current'>;
  readonly operations: OperationTable<VerbsOperation>;
  /** Queues one of the user's operations in call order. */
  queueUser(operation: UserOperation): void;
  /** Posts what can go now: control frames, then the user's operations. */
  pump(): void;
}

/**
 * RDMA WRITE and READ on the peer's registered memory, among the user's operations in call order: each waits
 * at the head of the queue for its grant (asked at once), is checked against it, and goes in chunks.
 */
export class OneSided {
  constructor(private readonly owner: OneSidedOwner) {}

  /**
   * Queues a one-sided operation among the user's operations: it asks for the grant at once, and is posted
   * in call order once the grant is there, checked against it.
   */
  start(kind: 'write' | 'read', slice: RegionSlice, key: bigint, remoteOffset: number): Promise<void> {
    const { grants } = this.owner;
    return new Promise<void>((resolve, reject) => {
      let grant: Promise<Grant> | undefined;
      let granted: Grant | undefined;
      // Whether it may go when it comes first (its grant arrived, or it failed), and what it then does.
      let ready = false;
      let post = (): boolean => false;
      const refuse = (error: Error) => {
        ready = true;
        post = () => true;
        reject(error);
        this.owner.pump();
      };
      const fetch = () => {
        ready = false;
        const pending = grants.request(key);
        grant = pending;
        pending.then((answer) => {
          if (grant !== pending) return;
          granted = answer;
          ready = true;
          this.owner.pump();
        }, refuse);
      };
      post = () => {
        // A grant revoked while the operation waited in the queue is never used: ask again.
        if (grants.current(key) !== grant) {
          fetch();
          return false;
        }
        try {
          this.post(kind, slice, granted as Grant, remoteOffset, resolve, reject);
        } catch (error) {
          reject(error as Error);
        }
        return true;
      };
      this.owner.queueUser({ cost: 0, start: () => ready && post(), reject });
      fetch();
    });
  }

  private post(
    kind: 'write' | 'read',
    slice: RegionSlice,
    grant: Grant,
    remoteOffset: number,
    resolve: () => void,
    reject: (error: Error) => void,
  ): void {
    const refused = checkRegionAccess(
      grant.access,
      grant.length,
      remoteOffset,
      slice.length,
      kind === 'write' ? ACCESS_WRITE : ACCESS_READ,
    );
    if (refused) throw new FabricError(refused.code, `${this.owner.peerName} says: ${refused.message}`);
    if (!slice.region.registered) {
      throw new FabricError(
        'EINVAL',
        `${kind}: the local region was deregistered; register the memory again`,
      );
    }
    if (kind === 'write') {
      counters.writes++;
      counters.bytesSent += slice.length;
    } else {
      counters.reads++;
    }
    if (slice.length === 0) {
      resolve();
      return;
    }
    const { link, operations } = this.owner;
    const registration = regionRegistration(slice.region, link.endpoint, link.device, false);
    const local = registration.memory;
    const release = registration.use();
    const id = operations.add({ kind, what: `the ${kind}`, resolve, reject });
    let outstanding = Math.ceil(slice.length / CHUNK_BYTES);
    for (let done = 0; done < slice.length; done += CHUNK_BYTES) {
      (link.work as WorkQueue).post({
        opcode: kind === 'write' ? OP_WRITE : OP_READ,
        address: local.address + BigInt(slice.offset + done),
        length: Math.min(CHUNK_BYTES, slice.length - done),
        lkey: local.lkey,
        remoteAddress: grant.address + BigInt(remoteOffset + done),
        rkey: grant.rkey,
        done: (status) => {
          if (--outstanding > 0) return;
          release();
          if (status !== 0) return;
          // The NIC put every byte straight into its final memory.
          counters.placedBytes += slice.length;
          operations.take(id)?.resolve();
        },
      });
    }
  }
}
