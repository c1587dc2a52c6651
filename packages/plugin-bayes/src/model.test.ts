/**
 * model.test.ts — loading a model into the compact table: the whole shipped
 * model gives the counts the former Map of JSON.parse gave (alone and under a
 * local layer), it is read by the one-pass reader (no fallback), and any other
 * file gives what JSON.parse and the zod schema give, values or error.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { CompactCountsBuilder } from './compact.js';
import { SHIPPED_MODEL } from './index.js';
import { LayeredModel, MODEL_FORMAT, parseModel, TokenCounts, type ModelInfo } from './model.js';
import { scanModelJson } from './model-json.js';
import { fileSchema } from './model-schema.js';

/**
 * What loading gave before the compact table: JSON.parse, the zod schema for
 * the small fields, each token checked, then a Map.
 */
function reference(text: string, origin: string): { counts: TokenCounts; info: ModelInfo } {
  const raw = JSON.parse(text) as { tokens?: unknown };
  const tokens = raw.tokens;
  const parsed = fileSchema.safeParse({ ...raw, tokens: {} });
  if (!parsed.success)
    throw new Error(
      `${origin}: not a ${MODEL_FORMAT} model: ${parsed.error.issues[0]?.message ?? 'invalid'}`,
    );
  if (typeof tokens !== 'object' || tokens === null || Array.isArray(tokens))
    throw new Error(`${origin}: not a ${MODEL_FORMAT} model: tokens is not an object`);
  const counts = new TokenCounts();
  counts.nspam = parsed.data.nspam;
  counts.nham = parsed.data.nham;
  const table = tokens as Record<string, unknown>;
  for (const token in table) {
    const c = table[token];
    if (
      !Array.isArray(c) ||
      c.length !== 2 ||
      !Number.isInteger(c[0]) ||
      !Number.isInteger(c[1]) ||
      (c[0] as number) < 0 ||
      (c[1] as number) < 0
    )
      throw new Error(
        `${origin}: not a ${MODEL_FORMAT} model: token ${JSON.stringify(token)} has bad counts`,
      );
    counts.table.set(token, c as [number, number]);
  }
  const d = parsed.data;
  const info: ModelInfo = {
    tokenizer: d.tokenizer,
    classifier: d.classifier,
    ...(d.trained === undefined ? {} : { trained: d.trained }),
    ...(d.source === undefined ? {} : { source: d.source }),
    ...(d.sets === undefined ? {} : { sets: d.sets }),
  };
  return { counts, info };
}

/** Whether the one-pass reader takes the file (rather than leaving it to JSON.parse). */
function readInOnePass(text: string): boolean {
  return scanModelJson(Buffer.from(text), new CompactCountsBuilder()) !== undefined;
}

/** parseModel gives what the reference gives: the same tokens and counts, the same metadata, or the same error. */
async function assertSameAsReference(text: string, label: string): Promise<void> {
  let expected: { counts: TokenCounts; info: ModelInfo } | undefined;
  let expectedError: unknown;
  try {
    expected = reference(text, 'm.json');
  } catch (err) {
    expectedError = err;
  }
  if (expected === undefined) {
    await assert.rejects(parseModel(Buffer.from(text), 'm.json'), (err: Error) => {
      assert.equal(err.constructor, (expectedError as Error).constructor, label);
      assert.equal(err.message, (expectedError as Error).message, label);
      return true;
    });
    return;
  }
  const { counts, info } = await parseModel(Buffer.from(text), 'm.json');
  assert.deepEqual(info, expected.info, label);
  assert.equal(counts.nspam, expected.counts.nspam, label);
  assert.equal(counts.nham, expected.counts.nham, label);
  assert.equal(counts.size, expected.counts.table.size, label);
  for (const [token, c] of expected.counts.table)
    assert.deepEqual(counts.counts(token), c, `${label}: ${token}`);
}

const HEAD = `"format":"${MODEL_FORMAT}","nspam":3,"nham":4`;

describe('the shipped model', () => {
  it('is read in one pass, and every token has the counts the Map of JSON.parse had', async () => {
    const text = await readFile(SHIPPED_MODEL, 'utf8');
    assert.ok(readInOnePass(text), 'the shipped model must not need the JSON.parse fallback');
    const expected = reference(text, SHIPPED_MODEL);
    const { counts, info } = await parseModel(await readFile(SHIPPED_MODEL), SHIPPED_MODEL);
    assert.deepEqual(info, expected.info);
    assert.equal(counts.nspam, expected.counts.nspam);
    assert.equal(counts.nham, expected.counts.nham);
    assert.equal(counts.size, expected.counts.table.size);
    assert.ok(counts.size > 90_000);
    for (const [token, c] of expected.counts.table) {
      const got = counts.counts(token);
      if (got === undefined || got[0] !== c[0] || got[1] !== c[1])
        assert.fail(`${JSON.stringify(token)}: ${JSON.stringify(got)} instead of ${JSON.stringify(c)}`);
    }
    for (const [token, c] of counts.entries()) assert.deepEqual(expected.counts.table.get(token), c, token);
    assert.ok(counts.byteLength < 4 * 1024 * 1024, `${counts.byteLength} bytes`);
  });

  it('under a local layer, gives the summed counts the Map gave, for shipped, learnt and unknown tokens', async () => {
    const text = await readFile(SHIPPED_MODEL, 'utf8');
    const expected = reference(text, SHIPPED_MODEL);
    const { counts, info } = await parseModel(text, SHIPPED_MODEL);
    const shipped = [...expected.counts.table.keys()];
    const local = new TokenCounts();
    const learnt = [
      ...shipped.filter((_t, i) => i % 97 === 0),
      'learnt:only',
      'zzz-unknown-learnt',
      'é-local',
    ];
    local.add(learnt, 'spam');
    local.add(learnt.slice(0, 50), 'ham');
    const before = new LayeredModel(expected.counts, local, expected.info);
    const after = new LayeredModel(counts, local, info);
    assert.equal(after.nspam, before.nspam);
    assert.equal(after.nham, before.nham);
    for (const token of [...shipped, ...learnt, 'never-seen', '', 'bi:never seen'])
      assert.deepEqual(after.counts(token), before.counts(token), token);
    // And with the layer empty.
    const empty = new LayeredModel(counts, new TokenCounts(), info);
    for (const token of shipped.slice(0, 2000))
      assert.deepEqual(empty.counts(token), expected.counts.table.get(token));
  });
});

describe('parseModel on other files', () => {
  const cases: Record<string, string> = {
    'one token': `{${HEAD},"tokens":{"a":[1,2]}}`,
    'no tokens': `{${HEAD},"tokens":{}}`,
    'tokens first, metadata after': `{"tokens":{"a":[1,2]},${HEAD},"trained":"2026-11-23"}`,
    'pretty-printed': JSON.stringify(
      { format: MODEL_FORMAT, nspam: 3, nham: 4, sets: ['x'], tokens: { a: [1, 2], 'bi:a b': [0, 5] } },
      null,
      2,
    ),
    'white space everywhere': ` \n\t{ "format" : "${MODEL_FORMAT}" , "nspam" : 3 , "nham" : 4 , "tokens" : { "a" : [ 1 , 2 ] , "b" : [0,0] } } \r\n`,
    'non-ASCII tokens, raw': `{${HEAD},"tokens":{"café":[1,0],"日本語":[0,1],"😀":[2,2],"ÿ":[3,3]}}`,
    'escaped tokens': `{${HEAD},"tokens":{"caf\\u00e9":[1,0],"a\\"b":[2,0],"back\\\\slash":[3,0],"\\ud800":[4,0],"tab\\t":[5,0],"\\u0000":[6,0]}}`,
    'a token twice (the last counts)': `{${HEAD},"tokens":{"a":[1,2],"b":[3,3],"a":[5,6]}}`,
    'a raw and an escaped spelling of one token': `{${HEAD},"tokens":{"é":[1,2],"\\u00e9":[5,6]}}`,
    '__proto__ as a token': `{${HEAD},"tokens":{"__proto__":[1,2],"constructor":[3,4]}}`,
    'big counts': `{${HEAD},"tokens":{"a":[70000,4294967296],"b":[999999999999999,0]}}`,
    'counts of 16 digits': `{${HEAD},"tokens":{"a":[1000000000000000,0]}}`,
    'counts written 1.0 and 1e1': `{${HEAD},"tokens":{"a":[1.0,1e1]}}`,
    'count -0': `{${HEAD},"tokens":{"a":[-0,1]}}`,
    'unknown members': `{${HEAD},"extra":{"x":[1,{"y":"}"}]},"tokens":{"a":[1,2]},"more":null}`,
    'tokenizer and classifier given': `{${HEAD},"tokenizer":{"bigrams":false,"maxWordLength":20,"x":1},"classifier":{"strength":1,"prior":0.4,"minDistance":0.1,"maxTokens":150},"tokens":{}}`,
    'metadata twice': `{${HEAD},"nspam":9,"tokens":{"a":[1,2]}}`,
    'tokens twice': `{${HEAD},"tokens":{"a":[1,2]},"tokens":{"b":[3,4]}}`,
    'escaped member name': `{${HEAD},"tok\\u0065ns":{"a":[1,2]}}`,
    // Errors: the same message as before.
    'bad counts': `{${HEAD},"tokens":{"a":[1]}}`,
    'negative count': `{${HEAD},"tokens":{"a":[-1,2]}}`,
    'fractional count': `{${HEAD},"tokens":{"a":[1.5,2]}}`,
    'count as a string': `{${HEAD},"tokens":{"a":["1",2]}}`,
    'tokens not an object': `{${HEAD},"tokens":[]}`,
    'no token table': `{${HEAD}}`,
    'wrong format': `{"format":"other/1","nspam":3,"nham":4,"tokens":{}}`,
    'nspam missing': `{"format":"${MODEL_FORMAT}","nham":4,"tokens":{}}`,
    'nspam beyond safe integers': `{"format":"${MODEL_FORMAT}","nspam":1e300,"nham":4,"tokens":{}}`,
    'bad tokenizer': `{${HEAD},"tokenizer":{"bigrams":1,"maxWordLength":12},"tokens":{}}`,
    'bad classifier': `{${HEAD},"classifier":{"strength":0,"prior":0.5,"minDistance":0.2,"maxTokens":400},"tokens":{}}`,
    'sets not strings': `{${HEAD},"sets":[1],"tokens":{}}`,
    'trained null': `{${HEAD},"trained":null,"tokens":{}}`,
    'header errors before token errors': `{"format":"x","nspam":3,"nham":4,"tokens":{"a":[1]}}`,
    // Errors: not JSON.
    'trailing comma in tokens': `{${HEAD},"tokens":{"a":[1,2],}}`,
    'trailing comma at top level': `{${HEAD},"tokens":{},}`,
    'leading zero': `{${HEAD},"tokens":{"a":[01,2]}}`,
    'a control character in a token': `{${HEAD},"tokens":{"a\tb":[1,2]}}`,
    'a bad escape': `{${HEAD},"tokens":{"\\x":[1,2]}}`,
    'text after the end': `{${HEAD},"tokens":{}} x`,
    'two documents': `{${HEAD},"tokens":{}}{}`,
    'a byte-order mark': `\ufeff{${HEAD},"tokens":{}}`,
    'cut short': `{${HEAD},"tokens":{"a":[1,2]`,
    'empty file': ``,
    null: `null`,
    'an array': `[]`,
  };
  for (const [label, text] of Object.entries(cases))
    it(`${label}: as JSON.parse and the schema read it`, async () => {
      await assertSameAsReference(text, label);
    });

  it('reads the trainer’s form in one pass, and leaves the rest to JSON.parse', () => {
    for (const label of [
      'one token',
      'pretty-printed',
      'white space everywhere',
      'non-ASCII tokens, raw',
      'escaped tokens',
      'big counts',
      'unknown members',
    ])
      assert.ok(readInOnePass(cases[label] ?? ''), label);
    for (const label of [
      'counts written 1.0 and 1e1',
      'count -0',
      'tokens twice',
      'bad counts',
      'empty file',
    ])
      assert.ok(!readInOnePass(cases[label] ?? ''), label);
  });

  it('bytes that are not UTF-8 are read as a decoder reads them (U+FFFD)', async () => {
    const bytes = Buffer.concat([
      Buffer.from(`{${HEAD},"tokens":{"a`),
      Buffer.from([0xff, 0xc3]),
      Buffer.from(`":[1,2],"b":[3,4]}}`),
    ]);
    const { counts } = await parseModel(bytes, 'm.json');
    assert.deepEqual(counts.counts('a\ufffd\ufffd'), [1, 2]);
    assert.deepEqual(counts.counts('b'), [3, 4]);
  });
});
