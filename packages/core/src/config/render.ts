/**
 * config/render.ts — the schema as text: the commented default config that
 * `smarthold init` writes, the reference tables in docs/reference/config.md,
 * and the effective config for `config show`.
 *
 * Everything is generated from the zod schemas (through JSON Schema), so the
 * docs cannot drift from what is validated. It does not read files.
 */
import { stringify } from 'smol-toml';
import { z } from 'zod';
import { deepMerge } from '../util/merge.js';

interface JsonSchema {
  type?: string | string[];
  description?: string;
  default?: unknown;
  enum?: unknown[];
  properties?: Record<string, JsonSchema>;
  /** Keys of `properties` that must be given (input side: no default, not optional). */
  required?: string[];
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  minimum?: number;
  maximum?: number;
}

/**
 * The input-side JSON Schema of a zod schema (what operators write). zod
 * leaves out the default of a key whose value is transformed (normalised
 * domain lists, say); those are filled in from what the schema makes of an
 * empty config, where that is plain data an operator could have written.
 */
export function inputSchema(schema: z.ZodType): JsonSchema {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  const empty = schema.safeParse({});
  if (empty.success) fillDefaults(json, empty.data);
  return json;
}

/** A value written as it would be in TOML by hand: strings, booleans and lists of strings. */
function isPlain(v: unknown): boolean {
  return (
    typeof v === 'string' ||
    typeof v === 'boolean' ||
    (Array.isArray(v) && v.every((x) => typeof x === 'string'))
  );
}

function fillDefaults(s: JsonSchema, value: unknown): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return;
  const record = value as Record<string, unknown>;
  for (const [k, p] of Object.entries(s.properties ?? {})) {
    const v = record[k];
    if (isSection(p)) fillDefaults(p, v);
    else if (p.default === undefined && isPlain(v)) p.default = v;
  }
}

function isSection(s: JsonSchema): boolean {
  return s.type === 'object' && s.properties !== undefined && Object.keys(s.properties).length > 0;
}

function tomlValue(v: unknown): string {
  if (typeof v === 'object' && v !== null && !Array.isArray(v) && !Object.keys(v).length) return '{}';
  return stringify({ v }).replace(/^v = /, '').trim();
}

function typeText(s: JsonSchema): string {
  if (s.enum) return s.enum.map((e) => JSON.stringify(e)).join(' | ');
  if (s.anyOf) return s.anyOf.map(typeText).join(' or ');
  if (s.type === 'array') return `list of ${s.items ? typeText(s.items) : 'values'}`;
  if (s.type === 'object') return 'table';
  return Array.isArray(s.type) ? s.type.join(' or ') : (s.type ?? 'value');
}

/** Default values of a section, as operators would write them. */
export function defaultsOf(s: JsonSchema): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, p] of Object.entries(s.properties ?? {})) {
    if (isSection(p) && p.default !== undefined) out[k] = defaultsOf(p);
    else if (p.default !== undefined) out[k] = p.default;
  }
  return out;
}

function commentBlock(lines: string[], s: JsonSchema, key: string, example?: string): void {
  if (s.description) lines.push(`# ${s.description}`);
  if (s.enum) lines.push(`# allowed: ${s.enum.map((e) => JSON.stringify(e)).join(', ')}`);
  if (s.default !== undefined) lines.push(`# ${key} = ${tomlValue(s.default)}`);
  else if (example) lines.push(`# ${key} = ${example}`);
  else lines.push(`# ${key} = (no default)`);
}

/**
 * Renders a commented TOML file where every key shows its default, commented
 * out, so the built-in defaults stay in force until a line is uncommented.
 */
export function renderCommentedToml(
  schema: JsonSchema,
  header: string[],
  uncommented: Record<string, string> = {},
): string {
  const lines = header.map((h) => (h ? `# ${h}` : '#'));
  const top = Object.entries(schema.properties ?? {});
  lines.push('');
  for (const [k, s] of top.filter(([, s]) => !isSection(s))) {
    if (s.description) lines.push(`# ${s.description}`);
    lines.push(
      uncommented[k] !== undefined ? `${k} = ${uncommented[k]}` : `# ${k} = ${tomlValue(s.default ?? null)}`,
    );
    lines.push('');
  }
  const walk = (prefix: string, s: JsonSchema): void => {
    lines.push(`[${prefix}]`);
    if (s.description) lines.push(`# ${s.description}`);
    const sub: [string, JsonSchema][] = [];
    for (const [k, p] of Object.entries(s.properties ?? {})) {
      if (isSection(p)) sub.push([k, p]);
      else {
        commentBlock(lines, p, k);
      }
    }
    lines.push('');
    for (const [k, p] of sub) {
      lines.push(`# [${prefix}.${k}]`);
      if (p.description) lines.push(`# ${p.description}`);
      for (const [kk, pp] of Object.entries(p.properties ?? {})) {
        commentBlock(lines, pp, kk, kk === 'host' ? '"mail.example.net"' : undefined);
      }
      lines.push('');
    }
  };
  for (const [k, s] of top.filter(([, s]) => isSection(s))) walk(k, s);
  return lines.join('\n') + '\n';
}

/** Renders reference tables: one table per section, a row per key. */
export function renderReference(
  schema: JsonSchema,
  sectionName: (k: string) => string = (k) => `[${k}]`,
): string {
  const out: string[] = [];
  // A key with no default is either required or simply optional (unset means "none").
  const defaultText = (k: string, p: JsonSchema, parent: JsonSchema): string =>
    p.default !== undefined
      ? `\`${tomlValue(p.default).replace(/\|/g, '\\|')}\``
      : parent.required?.includes(k)
        ? '(required)'
        : '(unset)';
  const row = (k: string, p: JsonSchema, parent: JsonSchema): string =>
    `| \`${k}\` | ${typeText(p).replace(/\|/g, '\\|')} | ${defaultText(k, p, parent)} | ${(p.description ?? '').replace(/\|/g, '\\|')} |`;
  const table = (title: string, s: JsonSchema): void => {
    const leaves = Object.entries(s.properties ?? {}).filter(([, p]) => !isSection(p));
    out.push(`## ${title}`, '');
    if (s.description) out.push(s.description, '');
    if (leaves.length) {
      out.push('| key | type | default | meaning |', '|---|---|---|---|');
      for (const [k, p] of leaves) out.push(row(k, p, s));
      out.push('');
    }
    for (const [k, p] of Object.entries(s.properties ?? {}).filter(([, p]) => isSection(p))) {
      table(`${title.replace(/\]$/, '')}.${k}]`, p);
    }
  };
  const top = Object.entries(schema.properties ?? {});
  const leaves = top.filter(([, s]) => !isSection(s));
  if (leaves.length) {
    out.push('## top level', '', '| key | type | default | meaning |', '|---|---|---|---|');
    for (const [k, p] of leaves) out.push(row(k, p, schema));
    out.push('');
  }
  for (const [k, s] of top.filter(([, s]) => isSection(s))) table(sectionName(k), s);
  return out.join('\n');
}

/** The effective configuration as TOML: defaults with the files' values over them. */
export function renderEffective(schema: JsonSchema, raw: Record<string, unknown>): string {
  return stringify(deepMerge(defaultsOf(schema), raw));
}
