import { join, resolve } from 'node:path';

/** The addon's interface version this code calls (native/common/addon.cc, kInterface). */
const ADDON_INTERFACE = 4;

/**
 * What every build of the addon exports. Each part of it declares its own exports beside the code that calls
 * them (src/transports/<kind>/native.ts, src/core/cuda-pinning.ts) and reads them through nativePart().
 */
export interface NativeAddon {
  /** Raised with every change to the functions' arguments or results. */
  interface: number;
  /**
   * Calls `onReadable` whenever `fd` is readable or has failed, watching a duplicate of the descriptor (its owner
   * keeps the original) and keeping the process alive until close(). Throws where it cannot duplicate it.
   */
  DescriptorWatcher: new (
    fd: number,
    onReadable: () => void,
  ) => { close(): void };
}

const ROOT = join(__dirname, '..', '..', '..');
const FILE = 'fabric_transport.node';

function load(): NativeAddon | string {
  // FABRIC_NATIVE_ADDON alone where it is set (a sanitized build, say); else the packaged prebuild, then a
  // local build (npm run build:native).
  const chosen = process.env.FABRIC_NATIVE_ADDON ? resolve(process.env.FABRIC_NATIVE_ADDON) : undefined;
  const candidates = chosen
    ? [chosen]
    : [
        join(ROOT, 'prebuilds', `${process.platform}-${process.arch}`, FILE),
        join(ROOT, 'build', 'Release', FILE),
      ];
  const failures: string[] = [];
  for (const candidate of candidates) {
    try {
      const addon = require(candidate) as NativeAddon;
      if (addon.interface === ADDON_INTERFACE) return addon;
      failures.push(
        `${candidate} was built from other sources (interface ${addon.interface ?? 1}, this code calls ${ADDON_INTERFACE}): run npm run build:native`,
      );
    } catch (error) {
      const { code, message } = error as NodeJS.ErrnoException;
      if (code !== 'MODULE_NOT_FOUND' || chosen) failures.push(`${candidate}: ${message}`);
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

/** The addon seen as one part's exports (`Part`, declared by that part), or why it is not available. */
export function nativePart<Part>(): (NativeAddon & Part) | string {
  return nativeAddon() as (NativeAddon & Part) | string;
}
