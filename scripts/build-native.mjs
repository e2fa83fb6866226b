// Builds the native addon with node-gyp and stages it as this platform's prebuild, which the loader prefers.
// Without a compiler the package still works over TCP: the build is skipped with a warning, unless
// FABRIC_REQUIRE_NATIVE=1 (CI) makes that an error. Without rdma-core's headers the addon builds without
// its verbs layer (binding.gyp) and says so at run time.
//
// FABRIC_SANITIZE=1 builds instead, for this machine only, an addon instrumented with AddressSanitizer and
// UndefinedBehaviorSanitizer into build-sanitized/ (FABRIC_NATIVE_ADDON loads it; docs/ARCHITECTURE.md, "Native
// code under the sanitizers"), and leaves build/ and prebuilds/ as they were.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const require = createRequire(import.meta.url);
const sanitize = process.env.FABRIC_SANITIZE === '1';
const required = process.env.FABRIC_REQUIRE_NATIVE === '1' || sanitize;

function fail(message) {
  console.error(`build-native: ${message}`);
  if (required) process.exit(1);
  console.error(
    'build-native: continuing without the native addon: only the TCP transport will be available',
  );
  process.exit(0);
}

let nodeGyp;
try {
  nodeGyp = require.resolve('node-gyp/bin/node-gyp.js');
} catch {
  fail('node-gyp is not installed (it is a devDependency: run npm ci)');
}
// Node's own headers, from the installation running this script: node-gyp would otherwise download them,
// and nothing but npm packages may be downloaded at install time.
const nodedir = join(dirname(process.execPath), '..');
if (!existsSync(join(nodedir, 'include', 'node', 'node_api.h'))) {
  fail(
    `Node's headers are not installed in ${join(nodedir, 'include', 'node')} (official Node builds ship them)`,
  );
}

/** Builds with node-gyp for `arch` (with `env` added) and copies the result into the folder `into`. */
function build(arch, env, into = join(root, 'prebuilds', `${process.platform}-${arch}`)) {
  const args = [nodeGyp, 'rebuild', `--nodedir=${nodedir}`, `--arch=${arch}`];
  const result = spawnSync(process.execPath, args, {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, ...env },
  });
  if (result.status !== 0) return false;
  mkdirSync(into, { recursive: true });
  copyFileSync(join(root, 'build', 'Release', 'fabric_transport.node'), join(into, 'fabric_transport.node'));
  console.log(`build-native: ${join(into, 'fabric_transport.node')}`);
  return true;
}

if (sanitize) {
  // Every report aborts (UBSan would otherwise print and go on); frame pointers and -O1 keep stacks readable.
  const flags = '-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -g -O1';
  const kept = join(root, 'build-kept');
  rmSync(kept, { recursive: true, force: true });
  if (existsSync(join(root, 'build'))) renameSync(join(root, 'build'), kept);
  const built = build(
    process.arch,
    { CFLAGS: flags, CXXFLAGS: flags, LDFLAGS: flags },
    join(root, 'build-sanitized'),
  );
  rmSync(join(root, 'build'), { recursive: true, force: true });
  if (existsSync(kept)) renameSync(kept, join(root, 'build'));
  if (!built) fail('the sanitized build failed (gcc with libasan and libubsan is needed)');
  process.exit(0);
}

// The linux-arm64 prebuild, cross-compiled when Debian's aarch64 compiler is there (g++-aarch64-linux-gnu);
// rdma-core's headers are architecture-independent, so the host's own serve it. Built first: the host's own build
// then leaves build/Release to this machine.
const cross = 'aarch64-linux-gnu-g++';
if (process.platform === 'linux' && process.arch === 'x64') {
  const hasCross = spawnSync(cross, ['--version'], { stdio: 'ignore' }).status === 0;
  const env = { CXX: cross, CC: 'aarch64-linux-gnu-gcc', LINK: cross, CXXFLAGS: '-idirafter /usr/include' };
  if (!hasCross || !build('arm64', env)) {
    const why = hasCross ? 'the cross build failed' : `${cross} is not installed (g++-aarch64-linux-gnu)`;
    if (required) fail(`no linux-arm64 prebuild: ${why}`);
    console.error(`build-native: no linux-arm64 prebuild: ${why}`);
  }
}
if (!build(process.arch, {})) fail('node-gyp failed (a C++ compiler, make and python3 are needed)');
