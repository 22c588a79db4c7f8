import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KeywayError } from '../../core/errors.ts';
import { parseDefinition } from '../load.ts';
import { hooksFor } from './index.ts';

const base = { id: 'acme', name: 'Acme', authorizationUrl: 'https://acme.example/authorize', tokenUrl: 'https://acme.example/token' };

test('a provider naming an unknown quirk module is refused at catalog load, naming the field', () => {
  assert.throws(() => parseDefinition({ ...base, quirks: 'nope' }, 'acme.yaml'), (e: unknown) => {
    assert.ok(e instanceof KeywayError);
    assert.equal(e.code, 'catalog_invalid');
    assert.match(e.message, /acme\.yaml: provider "acme": field "quirks"/);
    return true;
  });
});

test('a provider without quirks gets no hooks; a known quirk gets its module', () => {
  assert.deepEqual(hooksFor(parseDefinition(base, 'acme.yaml')), {});
  assert.equal(typeof hooksFor(parseDefinition({ ...base, quirks: 'github' }, 'acme.yaml')).normalizeTokenResponse, 'function');
});
