/**
 * scaffold/templates.ts — the files of a new plugin package, as text.
 *
 * Each function returns one file of `smarthold-plugin-NAME/` for a plugin
 * called NAME. The generated plugin refuses recipients in configured domains
 * (one `rcpt` hook) and offers that check to other plugins as a typed
 * service. The templates are code, not files on disk, so they are compiled,
 * type-checked with the CLI and shipped in dist. Writing them is scaffold.ts's
 * job; this module does no I/O.
 */

/** Where the new package gets `@smarthold/core` and `@smarthold/testkit` from. */
export interface DependencySource {
  /** Version range or `file:` specifier for `@smarthold/core`. */
  readonly core: string;
  /** Version range or `file:` specifier for `@smarthold/testkit`. */
  readonly testkit: string;
}

/** What every template needs. */
export interface TemplateInput {
  /** The plugin's name as in `plugins = [...]` ("hello"). */
  readonly name: string;
  readonly deps: DependencySource;
}

/** "rate-limit" → "RateLimit". */
export function pascalCase(name: string): string {
  return name
    .split(/[-_.]/)
    .filter(Boolean)
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('');
}

/** The npm package name of a plugin called `name`. */
export function packageName(name: string): string {
  return `smarthold-plugin-${name}`;
}

export function packageJson({ name, deps }: TemplateInput): string {
  const pkg = {
    name: packageName(name),
    version: '0.1.0',
    description: `smarthold plugin ${name}: refuses recipients in configured domains`,
    type: 'module',
    license: 'MIT',
    keywords: ['smarthold-plugin', 'smarthold', 'smtp'],
    engines: { node: '>=20.19' },
    exports: {
      '.': { types: './dist/index.d.ts', default: './dist/index.js' },
      './package.json': './package.json',
    },
    smarthold: { plugin: './dist/index.js' },
    files: ['dist', '!dist/**/*.test.*', 'README.md'],
    scripts: {
      build: 'tsc',
      test: 'tsc && node --test dist/',
      prepublishOnly: 'npm run build && npm test',
    },
    peerDependencies: { '@smarthold/core': '^0.1.0' },
    dependencies: { zod: '^4.1.0' },
    devDependencies: {
      '@smarthold/core': deps.core,
      '@smarthold/testkit': deps.testkit,
      '@types/node': '^20.19.0',
      typescript: '~6.0.3',
    },
    // better-sqlite3 (a dependency of core) compiles on install; approve it explicitly.
    allowScripts: { 'better-sqlite3': true },
  };
  return JSON.stringify(pkg, null, 2) + '\n';
}

export function tsconfigJson(): string {
  const cfg = {
    compilerOptions: {
      target: 'ES2023',
      lib: ['ES2023'],
      module: 'nodenext',
      moduleResolution: 'nodenext',
      strict: true,
      noUncheckedIndexedAccess: true,
      exactOptionalPropertyTypes: true,
      verbatimModuleSyntax: true,
      declaration: true,
      sourceMap: true,
      skipLibCheck: true,
      types: ['node'],
      rootDir: 'src',
      outDir: 'dist',
    },
    include: ['src'],
  };
  return JSON.stringify(cfg, null, 2) + '\n';
}

export function indexTs({ name }: TemplateInput): string {
  const Service = `${pascalCase(name)}Service`;
  return `/**
 * index.ts — the ${packageName(name)} manifest.
 *
 * Refuses recipients in the domains listed in \`[plugin.${name}] blocked_domains\`
 * at RCPT (550 5.7.1), records why in the results store, and offers the same
 * check to other plugins as the \`${name}\` service. It does not look at the
 * message itself.
 */
import { definePlugin, verdict } from '@smarthold/core';
import { z } from 'zod';

/** What the \`${name}\` service offers to plugins that require it. */
export interface ${Service} {
  /** True when mail to \`address\` is refused by this plugin. */
  isBlocked(address: string): boolean;
}

// Makes ctx.service('${name}') typed for every plugin that imports this package.
declare module '@smarthold/core' {
  interface Services {
    '${name}': ${Service};
  }
}

/** The \`[plugin.${name}]\` section of smarthold.toml. */
export const configSchema = z.strictObject({
  blocked_domains: z.array(z.string()).default([]).describe('Recipient domains refused at RCPT'),
  message: z.string().default('No mail for that domain here').describe('Text of the 550 reply'),
});

export default definePlugin({
  name: '${name}',
  version: '0.1.0',
  core: '^1',
  description: 'Refuses recipients in configured domains',
  config: configSchema,
  provides: ['${name}'],
  setup(ctx) {
    const blocked = new Set(ctx.config.blocked_domains.map((d) => d.toLowerCase()));
    const service: ${Service} = {
      isBlocked: (address) => blocked.has(address.slice(address.lastIndexOf('@') + 1).toLowerCase()),
    };
    ctx.provide('${name}', service);
    ctx.hook('rcpt', (tx, recipient) => {
      if (!service.isBlocked(recipient)) return Promise.resolve(verdict.next());
      tx.results.set('blocked', true, { recipient });
      return Promise.resolve(verdict.reject(ctx.config.message, { code: 550, enhanced: '5.7.1' }));
    });
  },
});
`;
}

export function indexTestTs({ name }: TemplateInput): string {
  const Service = `${pascalCase(name)}Service`;
  return `// Tests for the ${name} plugin, with @smarthold/testkit: hooks driven without sockets.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertResult, assertTraced, assertVerdict, createTestHost, runTransaction } from '@smarthold/testkit';
import plugin, { type ${Service} } from './index.js';

const message = 'From: a@example.org\\r\\nTo: b@example.net\\r\\nSubject: hi\\r\\n\\r\\nhello\\r\\n';
const config = { plugin: { '${name}': { blocked_domains: ['blocked.example'] } } };

test('refuses recipients in a blocked domain and passes the others', async () => {
  const r = await runTransaction([plugin], {
    from: 'a@example.org',
    to: ['b@example.net', 'c@blocked.example'],
    message,
    config,
  });
  assertVerdict(r, 'rcpt', 'reject', { recipient: 'c@blocked.example' });
  assertVerdict(r, 'rcpt', 'continue', { recipient: 'b@example.net' });
  assertVerdict(r, 'data', 'deliver');
  assertResult(r, '${name}', 'blocked', true, { recipient: 'c@blocked.example' });
  assertTraced(r, '${name}', 'rcpt');
  assert.equal(r.replies.rcpt['c@blocked.example']?.code, 550);
});

test('with the default config nothing is refused', async () => {
  const r = await runTransaction([plugin], { from: 'a@example.org', to: ['c@blocked.example'], message });
  assertVerdict(r, 'data', 'deliver');
});

test('offers the ${name} service to other plugins', async () => {
  const t = await createTestHost([plugin], { config });
  try {
    const service = t.host.service('${name}') as ${Service};
    assert.equal(service.isBlocked('x@BLOCKED.example'), true);
    assert.equal(service.isBlocked('x@example.net'), false);
  } finally {
    await t.close();
  }
});
`;
}

export function readme({ name, deps }: TemplateInput): string {
  const linked = deps.core.startsWith('file:');
  return `# ${packageName(name)}

A [smarthold](https://github.com/smarthold/smarthold) plugin that refuses
recipients in configured domains at RCPT (550 5.7.1) and offers the same check
to other plugins as the \`${name}\` service.

## Install

\`\`\`sh
npm install ${packageName(name)}     # next to smarthold
\`\`\`

\`\`\`toml
plugins = ["${name}"]
\`\`\`

## Configuration: \`[plugin.${name}]\`

| key | type | default | meaning |
|---|---|---|---|
| \`blocked_domains\` | list of string | \`[]\` | Recipient domains refused at RCPT |
| \`message\` | string | \`"No mail for that domain here"\` | Text of the 550 reply |

## Example

\`\`\`toml
plugins = ["${name}"]

[plugin.${name}]
blocked_domains = ["blocked.example", "old-brand.example"]
message = "This domain no longer receives mail"
\`\`\`

\`smarthold plugin info ${name}\` prints this table from the plugin's schema.

## Service

Another plugin lists \`requires: ['${name}']\` and calls
\`ctx.service('${name}').isBlocked(address)\`; importing \`${packageName(name)}\`
(even as a type) makes the call typed.

## Development

\`\`\`sh
npm install
npm test        # tsc, then node --test dist/
\`\`\`
${
  linked
    ? `
This package was scaffolded inside a smarthold checkout: \`@smarthold/core\` and
\`@smarthold/testkit\` are \`file:\` dependencies on that checkout (npm links
them). Before publishing, replace them with version ranges
(\`"@smarthold/core": "^0.1.0"\`); see docs/guides/publishing-a-plugin.md.
`
    : ''
}`;
}

export function gitignore(): string {
  return 'node_modules/\ndist/\n*.tgz\n';
}
