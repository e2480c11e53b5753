/**
 * The V8 flags Hookline runs with (src/node-flags.ts) are on every command line that starts it:
 * `npm start`, the `hookline` bin's shebang (none at present: src/node-flags.ts says why).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { NODE_FLAGS } from '../src/node-flags.ts';

const root = new URL('../', import.meta.url);

test('npm start and the hookline bin pass node the flags of src/node-flags.ts', () => {
  const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { scripts: Record<string, string>; bin: Record<string, string> };
  // `exec`: the shell npm runs the script in gives way to node, so npm's forwarded SIGTERM reaches it
  assert.match(pkg.scripts.start!, /^exec /, 'npm start execs node');
  const start = pkg.scripts.start!.replace(/^exec /, '').split(' ');
  assert.equal(start[0], 'node');
  assert.deepEqual(start.slice(1, 1 + NODE_FLAGS.length), [...NODE_FLAGS], `npm start: ${pkg.scripts.start}`);
  const shebang = readFileSync(new URL(pkg.bin.hookline!, root), 'utf8').split('\n')[0]!;
  assert.equal(shebang, NODE_FLAGS.length === 0 ? '#!/usr/bin/env node' : `#!/usr/bin/env -S node ${NODE_FLAGS.join(' ')}`);
});
