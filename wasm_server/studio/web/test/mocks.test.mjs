import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EXAMPLE_FETCH, defaultKv, defaultVariables, parseFetchRules, parseKv, parseVariables } from '../src/mocks.mjs';
import { runErrorMessage, statusClass } from '../src/tryresult.mjs';
import { attachmentName, serviceNameFromFile } from '../src/share.mjs';
import { defaultAppName } from '../src/deploypanel.mjs';

test('KV JSON: values become strings, empty means none', () => {
  assert.deepEqual(parseKv('{"default": {"count": 3, "name": "x", "obj": {"a": 1}}}'), { default: { count: '3', name: 'x', obj: '{"a":1}' } });
  assert.deepEqual(parseKv('  '), {});
});

test('KV JSON with the wrong shape says what is wrong', () => {
  assert.throws(() => parseKv('{'), /KV stores: not valid JSON/);
  assert.throws(() => parseKv('[]'), /expected an object/);
  assert.throws(() => parseKv('{"default": "x"}'), /"default" must be an object/);
});

test('variables JSON', () => {
  assert.deepEqual(parseVariables('{"greeting": "hi", "n": 2}'), { greeting: 'hi', n: '2' });
  assert.throws(() => parseVariables('"x"'), /Variables: expected an object/);
});

test('fetch rules get defaults and are checked', () => {
  assert.deepEqual(parseFetchRules('[{"url": "https://a.example/*"}]'), [{ url: 'https://a.example/*', status: 200, headers: {}, body: '' }]);
  assert.deepEqual(parseFetchRules(JSON.stringify(EXAMPLE_FETCH)), EXAMPLE_FETCH);
  assert.deepEqual(parseFetchRules('[{"url": "u", "method": "post", "body": {"a": 1}}]')[0], { url: 'u', method: 'POST', status: 200, headers: {}, body: '{"a":1}' });
  assert.throws(() => parseFetchRules('{}'), /expected a list/);
  assert.throws(() => parseFetchRules('[{"status": 200}]'), /rule 1 needs a "url"/);
  assert.throws(() => parseFetchRules('[{"url": "u", "status": 42}]'), /rule 1 has a bad status/);
});

test('defaults from the component: a store per label, the manifest\'s variable defaults', () => {
  const component = { stores: ['default', 'cache'], variables: { greeting: 'Hello', secret: null } };
  assert.deepEqual(defaultKv(component), { default: {}, cache: {} });
  assert.deepEqual(defaultVariables(component), { greeting: 'Hello', secret: '' });
  assert.deepEqual(defaultKv(null), {});
});

test('run errors read clearly', () => {
  assert.match(runErrorMessage({ type: 'error', kind: 'trap', message: 'unreachable' }, 5000), /^The guest trapped: unreachable/);
  assert.match(runErrorMessage({ type: 'error', kind: 'timeout', message: '' }, 250), /longer than 250 ms/);
  assert.match(runErrorMessage({ type: 'error', kind: 'load', message: 'bad magic' }, 1), /Could not load the module: bad magic/);
  assert.match(runErrorMessage(undefined, 1), /no answer/);
  assert.deepEqual([200, 302, 404, 500].map(statusClass), ['ok', 'redirect', 'bad', 'bad']);
});

test('names for export, import and deploy', () => {
  assert.equal(attachmentName('attachment; filename="hello.zip"', 'x.zip'), 'hello.zip');
  assert.equal(attachmentName(null, 'x.zip'), 'x.zip');
  assert.equal(serviceNameFromFile('My App (2).zip'), 'my-app-2');
  assert.equal(serviceNameFromFile('2024-hello.ZIP'), 'hello');
  assert.equal(serviceNameFromFile('???.zip'), 'imported');
  assert.equal(defaultAppName('Hello_World'), 'hello-world');
  assert.equal(defaultAppName('.'), 'app');
});

test('kvChanges lists what a run set and deleted, per store', async () => {
  const before = { default: { a: '1', b: '2', same: 'x' }, gone: { k: 'v' } };
  const after = { default: { a: '1', b: '3', c: 'new', same: 'x' }, fresh: { z: '0' } };
  const { kvChanges } = await import('../src/mocks.mjs');
  assert.deepEqual(kvChanges(before, after), [
    { label: 'default', key: 'b', op: 'set', value: '3' },
    { label: 'default', key: 'c', op: 'set', value: 'new' },
    { label: 'fresh', key: 'z', op: 'set', value: '0' },
    { label: 'gone', key: 'k', op: 'deleted' },
  ]);
  assert.deepEqual(kvChanges({}, {}), []);
  assert.deepEqual(kvChanges(undefined, { s: {} }), []);
});
