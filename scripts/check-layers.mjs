// The layering rules of src/ (docs/ARCHITECTURE.md, "Layers"), checked on the sources:
// 1. outside src/transports/<name>/, only src/transports/registry.ts imports from that folder;
// 2. no code outside a transport's folder names a transport (its folder name or one of its kinds);
// 3. the library (src/ except the CLI, src/cli/) imports nothing from outside src/: not bench/, not examples/.
// Exit status 1 with one line per violation.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

const ROOT = resolve(dirname(new URL(import.meta.url).pathname), '..');
const SRC = join(ROOT, 'src');
const TRANSPORTS = join(SRC, 'transports');
const REGISTRY = join(TRANSPORTS, 'registry.ts');
const CLI = join(SRC, 'cli');

const filesUnder = (dir) =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return filesUnder(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
const inside = (path, dir) => path === dir || path.startsWith(dir + sep);

const transportFolders = readdirSync(TRANSPORTS, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => join(TRANSPORTS, entry.name));
const names = new Set();
for (const folder of transportFolders) {
  names.add(relative(TRANSPORTS, folder));
  for (const file of filesUnder(folder)) {
    const kinds = /\bkinds:\s*\[([^\]]*)\]/.exec(readFileSync(file, 'utf8'));
    for (const kind of kinds?.[1].match(/[\w-]+/g) ?? []) names.add(kind);
  }
}

/** The source without its comments (strings kept), so that prose may name transports. */
const code = (text) => text.replace(/\/\*[\s\S]*?\*\/|(^|[^:'"`\\])\/\/.*$/gm, '$1');
const specifiers = (text) =>
  [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)(['"])([^'"]+)\1/gm)].map(
    (match) => match[2],
  );

const violations = [];
for (const file of filesUnder(SRC)) {
  const where = relative(ROOT, file);
  const text = code(readFileSync(file, 'utf8'));
  const home = transportFolders.find((folder) => inside(file, folder));
  for (const specifier of specifiers(text)) {
    if (!specifier.startsWith('.')) continue;
    const target = resolve(dirname(file), specifier.replace(/\.js$/, '.ts'));
    const folder = transportFolders.find((candidate) => inside(target, candidate));
    if (folder && folder !== home && file !== REGISTRY) {
      violations.push(
        `${where}: imports ${specifier} from ${relative(ROOT, folder)}/ (only the registry may)`,
      );
    }
    if (!inside(file, CLI) && !inside(target, SRC)) {
      violations.push(`${where}: the library imports ${specifier}, outside src/`);
    }
  }
  if (home) continue;
  for (const match of text.matchAll(/(['"`])([\w-]+)\1/g)) {
    if (names.has(match[2])) violations.push(`${where}: names the transport ${match[0]}`);
  }
}
for (const violation of violations) console.error(`check-layers: ${violation}`);
if (violations.length > 0) process.exit(1);
console.log(
  `check-layers: src/ keeps its layers (${names.size} transport names, ${transportFolders.length} folders)`,
);
