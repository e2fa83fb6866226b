import { isAbsolute } from 'node:path';
import {
  invalid,
  type OptionsFragment,
  type Parse,
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
  /** `FABRIC_SHM_RING`: the bytes of each direction's ring, a power of two (default 1 MiB: 2 MiB of shared memory per connection; the server's counts). */
  shmRingBytes?: number;
}

export interface ResolvedShmOptions {
  shmDir: string | undefined;
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
  shmRingBytes: { env: 'FABRIC_SHM_RING', parse: parseRing },
};

export const shmOptions: OptionsFragment<ShmOptions, ResolvedShmOptions> = {
  settings: SETTINGS,
  resolve: (options) => ({
    shmDir: readSetting(options, 'shmDir', SETTINGS.shmDir),
    shmRingBytes: readSetting(options, 'shmRingBytes', SETTINGS.shmRingBytes) ?? 1 << 20,
  }),
};
