import { isAbsolute } from 'node:path';
import {
  invalid,
  type OptionsFragment,
  type Parse,
  parseChoice,
  parseSize,
  readSetting,
} from '../../core/option-settings.js';
import { MAX_CAPACITY, MIN_CAPACITY } from './ring-layout.js';

/** The options of the shared-memory transport. */
export interface ShmOptions {
  /**
   * `FABRIC_SHM_DIR`: the directory where listeners put the Unix socket that offers shared memory beside their
   * port (`fabric-transport-<port>.sock`), for containers that share it; unset, the socket is in the abstract
   * namespace (seen by every process in the same network namespace).
   */
  shmDir?: string;
  /**
   * `FABRIC_SHM_COPY`: how one-sided operations of 4 KiB and more move. `auto`: copied once, by the kernel,
   * straight between the two processes (process_vm_readv / process_vm_writev) where it lets this side reach the
   * peer, else through the ring; `ring`: always through the ring (either side saying so is enough).
   */
  shmCopy?: 'auto' | 'ring';
  /** `FABRIC_SHM_RING`: the bytes of each direction's ring, a power of two (default 1 MiB: 2 MiB of shared memory per connection; the server's counts). */
  shmRingBytes?: number;
}

export interface ResolvedShmOptions {
  shmDir: string | undefined;
  shmCopy: 'auto' | 'ring';
  shmRingBytes: number;
}

const parseDirectory: Parse<string> = (value, origin, fromEnv) => {
  if (typeof value === 'string' && isAbsolute(value) && !value.includes('\0')) return value;
  throw invalid(origin, fromEnv, value, 'an absolute directory path');
};

const parseRing: Parse<number> = (value, origin, fromEnv) => {
  const bytes = parseSize(MIN_CAPACITY, MAX_CAPACITY)(value, origin, fromEnv);
  if ((bytes & (bytes - 1)) === 0) return bytes;
  throw invalid(origin, fromEnv, value, 'a power of two');
};

const SETTINGS = {
  shmDir: { env: 'FABRIC_SHM_DIR', parse: parseDirectory },
  shmCopy: { env: 'FABRIC_SHM_COPY', parse: parseChoice(() => ['auto', 'ring'] as const) },
  shmRingBytes: { env: 'FABRIC_SHM_RING', parse: parseRing },
};

export const shmOptions: OptionsFragment<ShmOptions, ResolvedShmOptions> = {
  settings: SETTINGS,
  resolve: (options) => ({
    shmDir: readSetting(options, 'shmDir', SETTINGS.shmDir),
    shmCopy: readSetting(options, 'shmCopy', SETTINGS.shmCopy) ?? 'auto',
    shmRingBytes: readSetting(options, 'shmRingBytes', SETTINGS.shmRingBytes) ?? 1 << 20,
  }),
};
