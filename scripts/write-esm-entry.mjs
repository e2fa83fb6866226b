// Writes the ESM entry point next to the CommonJS build: one implementation,
// so `import` and `require` share the same module state (regions, stats).
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const api = require('../dist/src/index.js');
const names = Object.keys(api).filter((name) => name !== '__esModule' && name !== 'default');

mkdirSync(new URL('../dist/esm/', import.meta.url), { recursive: true });
writeFileSync(
  new URL('../dist/esm/index.mjs', import.meta.url),
  `import api from '../src/index.js';\nexport const { ${names.join(', ')} } = api;\n`,
);
writeFileSync(new URL('../dist/esm/index.d.mts', import.meta.url), "export * from '../src/index.js';\n");
