/** An RDMA device as `transports()` and `fabric-transport info` report it. */
export interface RdmaGid {
  index: number;
  /** The GID in IPv6 notation. */
  gid: string;
  /** 'IB/RoCE v1' or 'RoCE v2', as the kernel names it. */
  type: string;
  /** The network device a RoCE GID belongs to. */
  netdev?: string;
  /** The IPv4 address of an IPv4-mapped RoCE GID. */
  ipv4?: string;
}

export interface RdmaPort {
  port: number;
  state: string;
  linkLayer: 'Ethernet' | 'InfiniBand' | string;
  activeMtu?: number;
  gids: RdmaGid[];
}

export interface RdmaDevice {
  name: string;
  ports: RdmaPort[];
}

/** One entry of `FABRIC_DEVICE` / `device`: `name`, `name:port`, or `^name` to exclude. */
export interface DeviceFilter {
  name: string;
  port?: number;
  exclude: boolean;
}
