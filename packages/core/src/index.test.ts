import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';

test('importing the package loads no PostgreSQL driver (~16 MB) until one is used', () => {
  // A fresh process: this test's own process may have loaded pg for other tests.
  const index = new URL('./index.js', import.meta.url).href;
  const script = `
    import { createRequire } from 'node:module';
    await import(${JSON.stringify(index)});
    const cache = createRequire(import.meta.url).cache;
    console.log(JSON.stringify(Object.keys(cache).filter((f) => /[\\\\/]node_modules[\\\\/]pg[\\\\/]/.test(f))));
  `;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.deepEqual(JSON.parse(out.trim().split('\n').at(-1) ?? '[]'), []);
});
