// Stages the publishable package in out/package and packs it: the same files as the repository's build,
// with a manifest that has no scripts at all, so consumers install it without running anything
// (npm's --strict-allow-scripts refuses packages that declare install or prepare scripts).
// Usage: node scripts/stage-package.mjs [--pack-destination DIR]   (run `npm run build` first)
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const stage = join(root, 'out', 'package');
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
if (!existsSync(join(root, 'dist', 'src', 'index.js'))) {
  console.error('stage-package: dist/ is missing; run `npm run build` first');
  process.exit(1);
}

const { scripts, devDependencies, private: _private, ...published } = manifest;
rmSync(stage, { recursive: true, force: true });
mkdirSync(stage, { recursive: true });
for (const entry of manifest.files) cpSync(join(root, entry), join(stage, entry), { recursive: true });
writeFileSync(join(stage, 'package.json'), `${JSON.stringify(published, null, 2)}\n`);

const destination = process.argv.includes('--pack-destination')
  ? process.argv[process.argv.indexOf('--pack-destination') + 1]
  : root;
const packed = execFileSync('npm', ['pack', '--json', '--pack-destination', destination], {
  cwd: stage,
  encoding: 'utf8',
});
const [{ filename }] = JSON.parse(packed);
console.log(join(destination, filename));
