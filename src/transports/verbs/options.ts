import type { DeviceFilter } from '../../api/rdma-device.js';
import {
  invalid,
  type OptionsFragment,
  type Parse,
  parseInteger,
  readSetting,
} from '../../core/option-settings.js';

/** The options of the verbs transports (RoCE, InfiniBand). */
export interface VerbsOptions {
  /** `FABRIC_DEVICE`: RDMA devices to use, e.g. `mlx5_0,mlx5_1:2` or `^mlx5_2`. */
  device?: string;
  /** `FABRIC_GID_INDEX`: overrides the GID that RDMA-CM would pick. */
  gidIndex?: number;
  /** `FABRIC_IB_PORT`: RDMA port number (1-based). */
  ibPort?: number;
}

export interface ResolvedVerbsOptions {
  devices: DeviceFilter[];
  gidIndex: number | undefined;
  ibPort: number | undefined;
}

const DEVICE_SYNTAX =
  'a comma-separated list of device names, each optionally `:port`, `^` to exclude (e.g. mlx5_0:1,^mlx5_2)';

const parseDevices: Parse<DeviceFilter[]> = (value, origin, fromEnv) => {
  if (typeof value !== 'string') throw invalid(origin, fromEnv, value, DEVICE_SYNTAX);
  const filters: DeviceFilter[] = [];
  for (const entry of value.split(',').map((part) => part.trim())) {
    if (entry === '') continue;
    const match = /^(\^?)([A-Za-z0-9_.-]+)(?::(\d{1,3}))?$/.exec(entry);
    const port = match?.[3] === undefined ? undefined : Number(match[3]);
    if (!match || match[2] === undefined || (port !== undefined && (port < 1 || port > 255))) {
      throw invalid(origin, fromEnv, value, DEVICE_SYNTAX);
    }
    filters.push(
      port === undefined
        ? { name: match[2], exclude: match[1] === '^' }
        : { name: match[2], port, exclude: match[1] === '^' },
    );
  }
  return filters;
};

const SETTINGS = {
  device: { env: 'FABRIC_DEVICE', parse: parseDevices },
  gidIndex: { env: 'FABRIC_GID_INDEX', parse: parseInteger(0, 65535) },
  ibPort: { env: 'FABRIC_IB_PORT', parse: parseInteger(1, 255) },
};

export const verbsOptions: OptionsFragment<VerbsOptions, ResolvedVerbsOptions> = {
  settings: SETTINGS,
  resolve: (options) => ({
    devices: readSetting(options, 'device', SETTINGS.device) ?? [],
    gidIndex: readSetting(options, 'gidIndex', SETTINGS.gidIndex),
    ibPort: readSetting(options, 'ibPort', SETTINGS.ibPort),
  }),
};
