import { join } from 'node:path';

/** What native/devices.cc reports for one device. */
export interface NativeDevice {
  name: string;
  error?: string;
  ports: {
    port: number;
    state: string;
    linkLayer: string;
    activeMtu: number;
    maxMtu: number;
    gidTableLength: number;
  }[];
}

export interface NativeAddon {
  status(): { loaded: boolean; reason?: string };
  devices?(): NativeDevice[];
}

const ROOT = join(__dirname, '..', '..');
const FILE = 'fabric_transport.node';

function load(): NativeAddon | string {
  // The packaged prebuild first, then a local build (npm run build:native).
  const candidates = [
    join(ROOT, 'prebuilds', `${process.platform}-${process.arch}`, FILE),
    join(ROOT, 'build', 'Release', FILE),
  ];
  const failures: string[] = [];
  for (const candidate of candidates) {
    try {
      return require(candidate) as NativeAddon;
    } catch (error) {
      const { code, message } = error as NodeJS.ErrnoException;
      if (code !== 'MODULE_NOT_FOUND') failures.push(`${candidate}: ${message}`);
    }
  }
  return failures.length > 0
    ? `the native addon failed to load (${failures.join('; ')})`
    : `the native addon is not built for ${process.platform}-${process.arch}: run npm run build:native (needs a C++ compiler)`;
}

let cached: NativeAddon | string | undefined;

/** The native addon, or why it is not available. Loaded once, on first use. */
export function nativeAddon(): NativeAddon | string {
  cached ??= load();
  return cached;
}
