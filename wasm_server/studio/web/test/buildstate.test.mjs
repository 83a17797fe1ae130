import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_LOG_LINES, applyBuildEvent, initialBuildState, parseEventData, statusText } from '../src/buildstate.mjs';

const fold = (events) => events.reduce((s, [type, data]) => applyBuildEvent(s, type, data), initialBuildState());

test('a build goes idle → queued → building → succeeded', () => {
  let s = initialBuildState();
  assert.equal(s.status, 'idle');
  s = applyBuildEvent(s, 'queued', { position: 2 });
  assert.equal(s.status, 'queued');
  assert.equal(statusText(s), 'queued (position 2)');
  s = applyBuildEvent(s, 'start', {});
  assert.equal(s.status, 'building');
  s = applyBuildEvent(s, 'log', { line: 'compiling main.c' });
  s = applyBuildEvent(s, 'done', { ok: true, seconds: 1.25, error: null, diagnostics: [], components: [{ name: 'hello', built: true, size: 100 }] });
  assert.equal(s.status, 'succeeded');
  assert.equal(s.done, true);
  assert.deepEqual(s.log, ['compiling main.c']);
  assert.equal(statusText(s), 'succeeded in 1.3 s');
  assert.deepEqual(s.components, [{ name: 'hello', built: true, size: 100 }]);
});

test('a failed build keeps its error and diagnostics', () => {
  const diag = { file: 'main.c', line: 3, column: 1, severity: 'error', message: 'boom' };
  const s = fold([['queued', { position: 0 }], ['start', {}], ['done', { ok: false, seconds: 0.5, error: 'exit 1', diagnostics: [diag], components: [] }]]);
  assert.equal(s.status, 'failed');
  assert.deepEqual(s.diagnostics, [diag]);
  assert.equal(statusText(s), 'failed: exit 1');
});

test('a replayed stream folds to the same state (late subscribers get every event)', () => {
  const events = [['queued', { position: 1 }], ['start', {}], ['log', { line: 'a' }], ['log', { line: 'b' }], ['done', { ok: true, seconds: 1 }]];
  assert.deepEqual(fold(events), fold(events));
  assert.deepEqual(fold(events).log, ['a', 'b']);
});

test('log lines before start still show the build as running', () => {
  assert.equal(fold([['log', { line: 'x' }]]).status, 'building');
  assert.equal(fold([['queued', { position: 1 }], ['log', { line: 'x' }]]).status, 'queued');
});

test('the log is capped, counting what was dropped', () => {
  const events = Array.from({ length: MAX_LOG_LINES + 5 }, (_, i) => ['log', { line: String(i) }]);
  const s = fold(events);
  assert.equal(s.log.length, MAX_LOG_LINES);
  assert.equal(s.dropped, 5);
  assert.equal(s.log[0], '5');
});

test('unknown events and malformed data change nothing harmful', () => {
  const s = fold([['start', {}], ['progress', { x: 1 }]]);
  assert.equal(s.status, 'building');
  assert.deepEqual(parseEventData('{"line": "x"}'), { line: 'x' });
  assert.deepEqual(parseEventData('not json'), {});
  assert.deepEqual(parseEventData('42'), {});
  const done = applyBuildEvent(initialBuildState(), 'done', { ok: false, diagnostics: 'nope' });
  assert.deepEqual(done.diagnostics, []);
  assert.equal(statusText(done), 'failed');
});
