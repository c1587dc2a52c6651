// `smarthold plugin new|list|info` and `npm create smarthold-plugin`, as a plugin author runs them,
// ending with the scaffolded package installed (linked to this checkout) and its own tests passing.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { ownCheckout } from './scaffold/scaffold.js';
import { cleanup, cli, tmp } from './test-process.js';

after(cleanup);

const checkout = ownCheckout();
const CREATE = checkout ? path.join(checkout, 'packages/create-smarthold-plugin/dist/main.js') : '';

interface Pkg {
  name: string;
  keywords: string[];
  smarthold: { plugin: string };
  exports: Record<string, unknown>;
  files: string[];
  scripts: Record<string, string>;
  peerDependencies: Record<string, string>;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
}

const readPkg = (dir: string): Pkg => JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as Pkg;

/**
 * The environment for a child npm: without the npm_* variables of an `npm test` that may be running us,
 * and without NODE_TEST_CONTEXT, which would make the package's own `node --test` skip its files.
 */
function npmEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !k.toLowerCase().startsWith('npm_') && k !== 'NODE_TEST_CONTEXT',
    ),
  );
}

function npm(args: string[], cwd: string, timeoutMs: number): { status: number | null; out: string } {
  const r = spawnSync('npm', args, { cwd, encoding: 'utf8', timeout: timeoutMs, env: npmEnv() });
  return { status: r.status, out: `${r.stdout}\n${r.stderr}\n${r.error?.message ?? ''}` };
}

const npmAvailable = spawnSync('npm', ['--version'], { encoding: 'utf8', env: npmEnv() }).status === 0;

describe('plugin new', () => {
  test('writes the package, linked to this checkout when run from one', () => {
    const dir = tmp();
    const r = cli(['plugin', 'new', 'hello', '--dir', dir], dir);
    assert.equal(r.status, 0, r.stderr);
    const pkgDir = path.join(dir, 'smarthold-plugin-hello');
    assert.deepEqual(readdirSync(pkgDir).sort(), [
      '.gitignore',
      'README.md',
      'package.json',
      'src',
      'tsconfig.json',
    ]);
    assert.deepEqual(readdirSync(path.join(pkgDir, 'src')).sort(), ['index.test.ts', 'index.ts']);
    const pkg = readPkg(pkgDir);
    assert.equal(pkg.name, 'smarthold-plugin-hello');
    assert.ok(pkg.keywords.includes('smarthold-plugin'));
    assert.equal(pkg.smarthold.plugin, './dist/index.js');
    assert.deepEqual(pkg.peerDependencies, { '@smarthold/core': '^0.1.0' });
    assert.ok(pkg.dependencies['zod']);
    assert.equal(pkg.devDependencies['typescript'], '~6.0.3');
    assert.equal(pkg.scripts['test'], 'tsc && node --test dist/');
    assert.ok(pkg.scripts['prepublishOnly']);
    assert.ok(pkg.exports['.']);
    assert.ok(checkout, 'the tests run from a checkout');
    for (const p of ['core', 'testkit']) {
      const spec = pkg.devDependencies[`@smarthold/${p}`] ?? '';
      assert.match(spec, /^file:/);
      assert.equal(path.resolve(pkgDir, spec.slice('file:'.length)), path.join(checkout, 'packages', p));
    }
    assert.match(readFileSync(path.join(pkgDir, 'README.md'), 'utf8'), /\| `blocked_domains` \|/);
    assert.match(
      readFileSync(path.join(pkgDir, 'src/index.ts'), 'utf8'),
      /interface Services \{\n\s+'hello': HelloService;/,
    );
  });

  test('--no-link depends on the published versions', () => {
    const dir = tmp();
    const r = cli(['plugin', 'new', 'smarthold-plugin-rate-cap', '--dir', dir, '--no-link'], dir);
    assert.equal(r.status, 0, r.stderr);
    const pkg = readPkg(path.join(dir, 'smarthold-plugin-rate-cap'));
    assert.equal(pkg.devDependencies['@smarthold/core'], '^0.1.0');
    assert.equal(pkg.devDependencies['@smarthold/testkit'], '^0.1.0');
  });

  test('refuses bad names and non-empty directories with EX_USAGE', () => {
    const dir = tmp();
    assert.equal(cli(['plugin', 'new', 'Bad_Name', '--dir', dir], dir).status, 64);
    assert.equal(cli(['plugin', 'new'], dir).status, 64);
    mkdirSync(path.join(dir, 'smarthold-plugin-taken'));
    writeFileSync(path.join(dir, 'smarthold-plugin-taken', 'x'), '');
    const r = cli(['plugin', 'new', 'taken', '--dir', dir], dir);
    assert.equal(r.status, 64);
    assert.match(r.stderr, /not empty/);
    assert.equal(cli(['plugin', 'new', 'x', '--dir', dir, '--link', dir], dir).status, 64);
  });

  test('npm create smarthold-plugin writes the same files', () => {
    const a = tmp();
    const b = tmp();
    assert.equal(cli(['plugin', 'new', 'same', '--dir', a], a).status, 0);
    const r = spawnSync(process.execPath, [CREATE, 'same', '--dir', b], {
      cwd: b,
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(r.status, 0, r.stderr);
    for (const f of [
      'package.json',
      'tsconfig.json',
      'src/index.ts',
      'src/index.test.ts',
      'README.md',
      '.gitignore',
    ]) {
      const x = readFileSync(path.join(a, 'smarthold-plugin-same', f), 'utf8');
      const y = readFileSync(path.join(b, 'smarthold-plugin-same', f), 'utf8');
      // file: specifiers are relative to each package, so compare them resolved.
      const norm = (s: string, root: string): string =>
        s.replace(
          /"file:([^"]+)"/g,
          (_, p: string) => `"file:${path.resolve(root, 'smarthold-plugin-same', p)}"`,
        );
      assert.equal(norm(x, a), norm(y, b), f);
    }
    assert.equal(spawnSync(process.execPath, [CREATE], { encoding: 'utf8' }).status, 64);
  });
});

describe('plugin list', () => {
  /** A local plugin that requires spam-scanner, listed before the plugins that provide services. */
  function orderConfig(): string {
    const dir = tmp();
    writeFileSync(
      path.join(dir, 'scan-user.mjs'),
      `export default { name: 'scan-user', version: '1.2.3', core: '^1', requires: ['spam-scanner'], optional: ['sender-auth'], setup() {} };\n`,
    );
    const file = path.join(dir, 'smarthold.toml');
    writeFileSync(file, 'plugins = ["./scan-user.mjs", "bayes", "sender-auth"]\n');
    return file;
  }

  test('shows the run order derived from requires/provides, not the order in the file', () => {
    const file = orderConfig();
    const r = cli(['plugin', 'list', '-c', file], path.dirname(file));
    assert.equal(r.status, 0, r.stderr);
    const names = r.stdout
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.split(/\s+/)[1]);
    assert.deepEqual(names, ['bayes', 'sender-auth', 'scan-user']);
    assert.match(r.stdout, /scan-user\s+1\.2\.3\s+-\s+spam-scanner \(optional: sender-auth\)/);
  });

  test('--json gives one line per plugin with version, source, provides and requires', () => {
    const file = orderConfig();
    const r = cli(['plugin', 'list', '-c', file, '--json'], path.dirname(file));
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map(
        (l) =>
          JSON.parse(l) as {
            order: number;
            name: string;
            version: string;
            source: string;
            provides: string[];
            requires: string[];
            spec: string;
          },
      );
    assert.deepEqual(
      lines.map((l) => [l.order, l.name]),
      [
        [1, 'bayes'],
        [2, 'sender-auth'],
        [3, 'scan-user'],
      ],
    );
    const bayes = lines[0];
    assert.deepEqual(bayes?.provides, ['spam-scanner']);
    assert.match(bayes?.source ?? '', /plugin-bayes/);
    assert.equal(lines[2]?.spec, './scan-user.mjs');
    assert.deepEqual(lines[2]?.requires, ['spam-scanner']);
  });

  test('the default config loads sender-auth, bayes and the quarantine, in the order their services require', () => {
    const dir = tmp();
    const r = cli(['plugin', 'list'], dir);
    assert.equal(r.status, 0, r.stderr);
    const rows = r.stdout.trim().split('\n').slice(1);
    assert.deepEqual(
      rows.map((l) => l.split(/\s+/).slice(0, 2).join(' ')),
      ['1 sender-auth', '2 bayes', '3 quarantine'],
    );
    const json = cli(['plugin', 'list', '--json'], dir)
      .stdout.trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { name: string; requires: string[]; provides: string[] });
    assert.deepEqual(
      json.map((p) => p.name),
      ['sender-auth', 'bayes', 'quarantine'],
    );
    assert.deepEqual(json[2]?.requires, ['sender-auth', 'spam-scanner']);
  });

  test('a missing provider is a config error naming both sides', () => {
    const file = orderConfig();
    writeFileSync(file, 'plugins = ["./scan-user.mjs"]\n');
    const r = cli(['plugin', 'list', '-c', file], path.dirname(file));
    assert.equal(r.status, 78);
    assert.match(r.stderr, /scan-user.*spam-scanner/);
  });
});

describe('plugin info', () => {
  test('shows description, services and the config table with defaults', () => {
    const dir = tmp();
    const r = cli(['plugin', 'info', 'bayes'], dir);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^# bayes /);
    assert.match(r.stdout, /provides: spam-scanner/);
    assert.match(r.stdout, /## \[plugin\.bayes\]/);
    assert.match(r.stdout, /\| `threshold` \| number \| `99` \|/);
  });

  test('--json carries the schema and the defaults', () => {
    const dir = tmp();
    const r = cli(['plugin', 'info', 'sender-auth', '--json'], dir);
    assert.equal(r.status, 0, r.stderr);
    const info = JSON.parse(r.stdout) as {
      name: string;
      provides: string[];
      config: { properties: object };
      defaults: object;
    };
    assert.equal(info.name, 'sender-auth');
    assert.deepEqual(info.provides, ['sender-auth']);
    assert.ok(Object.keys(info.config.properties).length > 0);
    assert.equal(typeof info.defaults, 'object');
  });

  test('an unknown plugin exits 78 and says what was tried', () => {
    const dir = tmp();
    const r = cli(['plugin', 'info', 'no-such-thing'], dir);
    assert.equal(r.status, 78);
    assert.match(r.stderr, /smarthold-plugin-no-such-thing/);
  });
});

// Acceptance: scaffold, `npm install`, `npm test` in a fresh directory, linked to this checkout.
// npm fetches typescript, @types/node and zod (cached after the first run); core and testkit are symlinks.
test(
  'a scaffolded plugin installs and passes its own tests',
  { timeout: 300_000, skip: npmAvailable ? false : 'npm is not on PATH' },
  () => {
    const dir = tmp();
    const made = cli(['plugin', 'new', 'hello', '--dir', dir], dir);
    assert.equal(made.status, 0, made.stderr);
    const pkgDir = path.join(dir, 'smarthold-plugin-hello');
    const t0 = Date.now();
    const install = npm(['install', '--no-audit', '--no-fund', '--prefer-offline'], pkgDir, 240_000);
    assert.equal(install.status, 0, `npm install failed:\n${install.out}`);
    const t1 = Date.now();
    const run = npm(['test'], pkgDir, 120_000);
    assert.equal(run.status, 0, `npm test failed:\n${run.out}`);
    assert.match(run.out, /# pass 3/);
    assert.match(run.out, /# fail 0/);
    process.stdout.write(`# scaffold e2e: npm install ${t1 - t0} ms, npm test ${Date.now() - t1} ms\n`);
  },
);
