export type { Connection } from './api/connection.js';
export { FabricError, type FabricErrorCode } from './api/errors.js';
export type { Listener } from './api/listener.js';
export type {
  CommonOptions,
  ConnectOptions,
  ListenOptions,
  PollMode,
  TransportChoice,
  TransportKind,
  TransportOptions,
} from './api/options.js';
export type { DeviceFilter, RdmaDevice, RdmaGid, RdmaPort } from './api/rdma-device.js';
export { type Access, Region, RegionSlice, type RegisterOptions, register } from './api/region.js';
export { type Stats, stats } from './api/stats.js';
export type { TransportInfo } from './api/transport-info.js';
export { connect } from './core/connect.js';
export { listen } from './core/listen.js';
export { transports } from './core/selection.js';
