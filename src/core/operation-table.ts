/** One operation waiting for the peer's answer. */
export interface PendingOperation {
  /** What the operation asked the peer for, as an error says it: 'the write', 'access to the region'. */
  what: string;
  resolve(): void;
  reject(error: Error): void;
}

/**
 * Operations waiting for the peer, by the non-zero u32 id that travels in their frames (id 0 in an Error
 * frame means the whole connection).
 */
export class OperationTable<T extends PendingOperation> {
  private readonly pending = new Map<number, T>();
  private nextId = 1;

  /** Stores `operation` under a fresh id and returns the id. */
  add(operation: T): number {
    while (this.nextId === 0 || this.pending.has(this.nextId)) this.nextId = (this.nextId + 1) >>> 0;
    const id = this.nextId;
    this.nextId = (this.nextId + 1) >>> 0;
    this.pending.set(id, operation);
    return id;
  }

  get size(): number {
    return this.pending.size;
  }

  get(id: number): T | undefined {
    return this.pending.get(id);
  }

  /** Removes and returns the operation `id`. */
  take(id: number): T | undefined {
    const operation = this.pending.get(id);
    this.pending.delete(id);
    return operation;
  }

  rejectAll(reason: Error): void {
    const operations = [...this.pending.values()];
    this.pending.clear();
    for (const operation of operations) operation.reject(reason);
  }
}
