import { invalid, type OptionsFragment, type Parse, readSetting } from '../../core/option-settings.js';

/** The options of the TCP transport. */
export interface TcpOptions {
  /**
   * `FABRIC_KEEPALIVE_MS`: a TCP connection whose peer has acknowledged nothing for this long (idle or not:
   * keepalive probes and TCP_USER_TIMEOUT) fails with ETIMEDOUT; 0 turns it off (default 60000, at least 1000).
   */
  keepalive?: number;
}

export interface ResolvedTcpOptions {
  keepalive: number;
}

const parseKeepalive: Parse<number> = (value, origin, fromEnv) => {
  const n = fromEnv && typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  if (n === 0 || (typeof n === 'number' && Number.isInteger(n) && n >= 1000 && n <= 3_600_000)) return n;
  throw invalid(origin, fromEnv, value, '0 (off) or milliseconds from 1000 to 3600000');
};

const SETTINGS = { keepalive: { env: 'FABRIC_KEEPALIVE_MS', parse: parseKeepalive } };

export const tcpOptions: OptionsFragment<TcpOptions, ResolvedTcpOptions> = {
  settings: SETTINGS,
  resolve: (options) => ({ keepalive: readSetting(options, 'keepalive', SETTINGS.keepalive) ?? 60_000 }),
};
