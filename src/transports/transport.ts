import type { Connection } from '../api/connection.js';
import type { TransportInfo } from '../api/transport-info.js';
import type { Acceptor, FabricListener } from '../core/fabric-listener.js';
import type { OptionsFragment } from '../core/option-settings.js';
import type { ResolvedOptions } from '../core/options.js';

/** Where a connection goes: the host as given, its port, and its numeric address (looked up once, on need). */
export interface Peer {
  readonly host: string;
  readonly port: number;
  address(): Promise<string>;
}

/** How 'auto' would reach a peer with a transport (`fabric-transport info --peer`). */
export interface RouteChoice {
  transport: string;
  reason: string;
  /** The device and port the transport reaches the peer through, when it has such a notion. */
  device?: string;
  port?: number;
}

/** Where a client and a server on this host meet over one kind (the benchmark measures there). */
export interface LocalTarget {
  transport: string;
  /** The local address both ends use. */
  host: string;
  /** The device and GID that address belongs to, for the C tools measured beside it. */
  device?: string;
  gidIndex?: number;
  /** Which family of reference tools this kind is measured beside (bench/peers): 'sockets' or 'verbs'. */
  peers: string;
}

/**
 * One transport, as the core sees it: TCP, the verbs transports, shared memory... Each lives in its own folder
 * under src/transports/ and is listed once in registry.ts; the core, the CLI, the benchmark and the tests
 * only use it through this interface.
 */
export interface Transport<
  Kind extends string = string,
  Options extends object = object,
  Resolved extends object = object,
> {
  /** The kinds it provides: what the `transport` option names and `connection.transport` reports. */
  readonly kinds: readonly Kind[];
  /** 'auto' tries the transports that can reach a peer from the highest priority down. */
  readonly priority: number;
  /** Its options: names, FABRIC_* variables, parsing, defaults. */
  readonly options: OptionsFragment<Options, Resolved>;
  /** Whether each of its kinds can be used on this host, and why not. */
  availability(options: ResolvedOptions): TransportInfo[];
  /**
   * Why it cannot reach (or listen on) `peer`, or undefined when it may; with `kind` undefined ('auto'), also
   * where it should not be tried (verbs: loopback, which RDMA-CM does not route on every device).
   */
  unreachable(peer: Peer, kind: Kind | undefined): Promise<string | undefined>;
  /**
   * Starts accepting for `listener` on `local`'s host, on `port` (0: any free one). `kind` is the kind the
   * application forced, or undefined ('auto': whichever of its kinds the peer arrives by).
   */
  listen(
    listener: FabricListener,
    local: Peer,
    port: number,
    options: ResolvedOptions,
    kind: Kind | undefined,
  ): Promise<{ acceptor: Acceptor; port: number }>;
  /** Connects to `peer`; `kind` as for listen(). */
  connect(peer: Peer, options: ResolvedOptions, kind: Kind | undefined): Promise<Connection>;
  /** Whether an 'auto' connection that failed with `error` may try the next transport instead. */
  mayFallBack(error: unknown): boolean;
  /** Its part of `fabric-transport info`: lines for a person, beside the availability of its kinds. */
  describe(infos: readonly TransportInfo[]): string[];
  /** Where both ends can meet on this host over `info`'s kind (`host`: at that address), or why not. */
  localTarget(info: TransportInfo, host: string | undefined): LocalTarget | string;
  /** How it would reach `host`, or why it would not (`fabric-transport info --peer`); nothing connects. */
  probe(host: string, options: ResolvedOptions): Promise<RouteChoice | string>;
}
