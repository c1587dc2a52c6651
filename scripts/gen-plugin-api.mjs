#!/usr/bin/env node
// scripts/gen-plugin-api.mjs — write docs/reference/plugin-api.md from the TSDoc in core's plugin API.
//
// The sources are the single source of truth: plugin/api.ts, plugin/verdict.ts,
// spam/contract.ts, spam/guard.ts and spam/config.ts. With the TypeScript
// compiler API this lists every exported interface, type, function, class and
// const with its TSDoc, each member with its type text and TSDoc, and
// `@example` blocks as code. It reads syntax only (no type checking), so type
// text is as written. Run `npm run docs:api` after changing the API; `npm test`
// runs it with --check, which fails when the file is out of date.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const sources = [
  ['plugin/api.ts', 'Manifests, hooks, services and the context a plugin is set up with.'],
  ['plugin/verdict.ts', 'What a hook answers.'],
  ['spam/contract.ts', 'The `spam-scanner` service contract.'],
  ['spam/guard.ts', 'Size limit and failure policy around a networked scanner.'],
  ['spam/config.ts', 'The config keys of that size limit and failure policy, shared by scanner plugins.'],
];

/** TSDoc of a node: its text and its tags (examples separately). */
function docOf(node) {
  const docs = ts.getJSDocCommentsAndTags(node).filter((d) => ts.isJSDoc(d));
  const doc = docs.at(-1);
  if (!doc) return { text: '', examples: [], tags: [] };
  const text = (ts.getTextOfJSDocComment(doc.comment) ?? '').trim();
  const examples = [];
  const tags = [];
  for (const tag of doc.tags ?? []) {
    const body = (ts.getTextOfJSDocComment(tag.comment) ?? '').replace(/^\n+|\s+$/g, '');
    if (tag.tagName.text === 'example') examples.push(body);
    else tags.push(`@${tag.tagName.text}${body ? ' ' + body : ''}`);
  }
  return { text, examples, tags };
}

/** {@link X} → `X`. */
const links = (s) => s.replace(/\{@link\s+([^}\s|]+)(?:\s*\|\s*([^}]+))?\}/g, (_m, a, b) => `\`${b ?? a}\``);

const isExported = (node) => ts.getCombinedModifierFlags(node) & ts.ModifierFlags.Export;
const oneLine = (s) =>
  s
    .replace(/\s*\n\s*/g, ' ')
    .replace(/\(\s+/g, '(')
    .replace(/,\s*\)/g, ')')
    .replace(/\s+\)/g, ')');

function renderDoc(doc, out) {
  if (doc.text) out.push(links(doc.text), '');
  for (const t of doc.tags) out.push(`*${links(t)}*`, '');
  for (const e of doc.examples) out.push('Example:', '', '```ts', e, '```', '');
}

function memberLine(sf, m) {
  const doc = docOf(m);
  let sig;
  if (ts.isPropertySignature(m) || ts.isPropertyDeclaration(m)) {
    const ro = m.modifiers?.some((x) => x.kind === ts.SyntaxKind.ReadonlyKeyword) ? 'readonly ' : '';
    const init =
      ts.isPropertyDeclaration(m) && m.initializer && !m.type ? ` = ${m.initializer.getText(sf)}` : '';
    sig = `${ro}${m.name.getText(sf)}${m.questionToken ? '?' : ''}${m.type ? ': ' + m.type.getText(sf) : ''}${init}`;
  } else if (ts.isMethodSignature(m) || ts.isMethodDeclaration(m)) {
    const tp = m.typeParameters ? `<${m.typeParameters.map((p) => p.getText(sf)).join(', ')}>` : '';
    sig = `${m.name.getText(sf)}${m.questionToken ? '?' : ''}${tp}(${m.parameters.map((p) => p.getText(sf)).join(', ')})${m.type ? ': ' + m.type.getText(sf) : ''}`;
  } else if (ts.isConstructorDeclaration(m)) {
    sig = `constructor(${m.parameters.map((p) => p.getText(sf)).join(', ')})`;
  } else if (
    ts.isPropertyAssignment(m) &&
    (ts.isArrowFunction(m.initializer) || ts.isFunctionExpression(m.initializer))
  ) {
    const f = m.initializer;
    sig = `${m.name.getText(sf)}(${f.parameters.map((p) => p.getText(sf)).join(', ')})${f.type ? ': ' + f.type.getText(sf) : ''}`;
  } else {
    sig = m.getText(sf);
  }
  return `- \`${oneLine(sig)}\`${doc.text ? ' — ' + links(doc.text).replace(/\n+/g, ' ') : ''}`;
}

function render(rel, summary) {
  const file = path.join(root, 'packages/core/src', rel);
  const sf = ts.createSourceFile(
    file,
    readFileSync(file, 'utf8'),
    ts.ScriptTarget.Latest,
    true,
    ts.ScriptKind.TS,
  );
  const out = [`## \`${rel}\``, '', summary, ''];
  for (const node of sf.statements) {
    if (ts.isModuleDeclaration(node)) {
      out.push('### Service declarations (module augmentation)', '', '```ts', node.getText(sf), '```', '');
      continue;
    }
    if (!isExported(node)) continue;
    const doc = docOf(node);
    if (ts.isInterfaceDeclaration(node) || ts.isClassDeclaration(node)) {
      const kind = ts.isClassDeclaration(node) ? 'class' : 'interface';
      const tp = node.typeParameters ? `<${node.typeParameters.map((p) => p.getText(sf)).join(', ')}>` : '';
      const heritage = node.heritageClauses?.map((h) => ' ' + h.getText(sf)).join('') ?? '';
      out.push(
        `### ${kind} \`${node.name.text}\``,
        '',
        '```ts',
        `${kind} ${node.name.text}${tp}${heritage}`,
        '```',
        '',
      );
      renderDoc(doc, out);
      const members = node.members.filter(
        (m) => !(m.modifiers ?? []).some((x) => x.kind === ts.SyntaxKind.PrivateKeyword),
      );
      const params = ts.isClassDeclaration(node)
        ? node.members
            .filter(ts.isConstructorDeclaration)
            .flatMap((c) =>
              c.parameters.filter((p) => ts.getCombinedModifierFlags(p) & ts.ModifierFlags.Readonly),
            )
        : [];
      if (members.length || params.length) {
        out.push('Members:', '');
        for (const p of params)
          out.push(`- \`${oneLine(p.getText(sf).replace(/^readonly /, 'readonly '))}\``);
        for (const m of members) out.push(memberLine(sf, m));
        out.push('');
      }
    } else if (ts.isTypeAliasDeclaration(node)) {
      out.push(
        `### type \`${node.name.text}\``,
        '',
        '```ts',
        node.getText(sf).replace(/^export /, ''),
        '```',
        '',
      );
      renderDoc(doc, out);
    } else if (ts.isFunctionDeclaration(node) && node.name) {
      const tp = node.typeParameters ? `<${node.typeParameters.map((p) => p.getText(sf)).join(', ')}>` : '';
      const sig = `function ${node.name.text}${tp}(\n${node.parameters.map((p) => '  ' + p.getText(sf)).join(',\n')},\n)${node.type ? ': ' + node.type.getText(sf) : ''}`;
      out.push(
        `### function \`${node.name.text}\``,
        '',
        '```ts',
        node.parameters.length ? sig : oneLine(sig),
        '```',
        '',
      );
      renderDoc(doc, out);
    } else if (ts.isVariableStatement(node)) {
      for (const d of node.declarationList.declarations) {
        const name = d.name.getText(sf);
        let init = d.initializer;
        while (init && (ts.isAsExpression(init) || ts.isSatisfiesExpression(init))) init = init.expression;
        out.push(`### const \`${name}\``, '');
        if (init && ts.isObjectLiteralExpression(init)) {
          renderDoc(doc, out);
          out.push('Members:', '');
          for (const p of init.properties) out.push(memberLine(sf, p));
          out.push('');
        } else {
          out.push(
            '```ts',
            `const ${name}${d.type ? ': ' + d.type.getText(sf) : ''}${init ? ' = ' + init.getText(sf) : ''}`,
            '```',
            '',
          );
          renderDoc(doc, out);
        }
      }
    }
  }
  return out;
}

export function renderAll() {
  const parts = [
    '# Plugin API reference',
    '',
    '<!-- generated by scripts/gen-plugin-api.mjs from the TSDoc in packages/core/src; do not edit by hand -->',
    '',
    'Everything here is exported by `@smarthold/core` (plugin API version `PLUGIN_API_VERSION`). The guide',
    '[Writing a plugin](../guides/writing-a-plugin.md) shows how the pieces fit; `@smarthold/testkit` tests them.',
    '',
  ];
  for (const [rel, summary] of sources) parts.push(...render(rel, summary));
  return parts
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .replace(/\n*$/, '\n');
}

const target = path.join(root, 'docs/reference/plugin-api.md');
const text = renderAll();
if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(target, 'utf8');
  } catch {
    // Missing counts as out of date.
  }
  if (current !== text) {
    console.error('docs/reference/plugin-api.md is out of date: run `npm run docs:api`');
    process.exit(1);
  }
} else {
  writeFileSync(target, text);
  console.log(`wrote ${path.relative(root, target)}`);
}
