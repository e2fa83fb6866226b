// The layering rules of src/ (docs/ARCHITECTURE.md, "Layers"), checked on the sources:
// 1. outside src/transports/<name>/, only src/transports/registry.ts imports from that folder;
// 2. no code outside a transport's folder names a transport (its folder name or one of its kinds);
// 3. the library (src/ except the CLI, src/cli/) imports nothing from outside src/ (not bench/, not examples/),
//    and nothing from the CLI.
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
    return /\.[cm]?ts$/.test(entry.name) ? [path] : [];
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

/** The source without its comments (strings kept, so that prose may name transports), and its string literals. */
function scan(text) {
  let code = '';
  const strings = [];
  for (let i = 0; i < text.length; ) {
    const two = text.slice(i, i + 2);
    if (two === '//') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (two === '/*') {
      const end = text.indexOf('*/', i + 2);
      i = end < 0 ? text.length : end + 2;
    } else if (text[i] === "'" || text[i] === '"' || text[i] === '`') {
      const quote = text[i];
      let j = i + 1;
      while (j < text.length && text[j] !== quote) j += text[j] === '\\' ? 2 : 1;
      strings.push(text.slice(i + 1, j));
      code += text.slice(i, j + 1);
      i = j + 1;
    } else {
      code += text[i++];
    }
  }
  return { code, strings };
}
const specifiers = (code) =>
  [
    ...code.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s+)(['"`])([^'"`]+)\1/gm),
  ].map((match) => match[2]);

const violations = [];
for (const file of filesUnder(SRC)) {
  const where = relative(ROOT, file);
  const { code, strings } = scan(readFileSync(file, 'utf8'));
  const home = transportFolders.find((folder) => inside(file, folder));
  for (const specifier of specifiers(code)) {
    if (!specifier.startsWith('.')) continue;
    const target = resolve(dirname(file), specifier.replace(/\.([cm]?)js$/, '.$1ts'));
    const folder = transportFolders.find((candidate) => inside(target, candidate));
    if (folder && folder !== home && file !== REGISTRY) {
      violations.push(
        `${where}: imports ${specifier} from ${relative(ROOT, folder)}/ (only the registry may)`,
      );
    }
    if (!inside(file, CLI) && (!inside(target, SRC) || inside(target, CLI))) {
      violations.push(`${where}: the library imports ${specifier}, outside the library`);
    }
  }
  if (home) continue;
  for (const literal of strings) {
    if (names.has(literal)) violations.push(`${where}: names the transport '${literal}'`);
  }
}
for (const violation of violations) console.error(`check-layers: ${violation}`);
if (violations.length > 0) process.exit(1);
console.log(
  `check-layers: src/ keeps its layers (${names.size} transport names, ${transportFolders.length} folders)`,
);
