/** Process-wide data-path counters, as returned by `stats()`. */
export interface Stats {
  messagesSent: number;
  messagesReceived: number;
  bytesSent: number;
  bytesReceived: number;
  writes: number;
  reads: number;
  /** Payload bytes the library copied in user space on the data path (0 on the zero-copy paths). */
  copiedBytes: number;
  /** Payload bytes received straight into their final memory: a region, or a read's local slice. */
  placedBytes: number;
  /**
   * Payload bytes the kernel copied straight between this process and a peer on the same host for it
   * (shm's single-copy path, process_vm_readv / process_vm_writev), counted by the side that asked.
   */
  kernelCopiedBytes: number;
  /** Regions registered with an RDMA device (ibv_reg_mr), on their first use there. */
  deviceRegistrations: number;
  /** Regions that reused the device registration of the same memory registered before, instead. */
  registrationCacheHits: number;
}

export const counters: Stats = {
  messagesSent: 0,
  messagesReceived: 0,
  bytesSent: 0,
  bytesReceived: 0,
  writes: 0,
  reads: 0,
  copiedBytes: 0,
  placedBytes: 0,
  kernelCopiedBytes: 0,
  deviceRegistrations: 0,
  registrationCacheHits: 0,
};

/** A snapshot of the counters since the process started. */
export function stats(): Stats {
  return { ...counters };
}
