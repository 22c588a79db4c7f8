import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CONSUMERS_TENANT, microsoft } from './microsoft.ts';

const WORK = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const at = (tenant: string) => `https://login.microsoftonline.com/${tenant}/v2.0`;
const expected = (tenant: string, tid: unknown) => microsoft.idTokenIssuer({ configuredIssuer: at(tenant), claims: { tid } });

test('common and organizations expect the issuer of the token\'s own tenant', () => {
  assert.equal(expected('common', WORK), at(WORK));
  assert.equal(expected('organizations', WORK), at(WORK));
  assert.equal(expected('contoso.onmicrosoft.com', WORK), at(WORK));
});

test('organizations refuses the personal-account tenant; consumers accepts only it', () => {
  assert.equal(expected('organizations', CONSUMERS_TENANT), at('organizations'));
  assert.equal(expected('consumers', CONSUMERS_TENANT), at(CONSUMERS_TENANT));
  assert.equal(expected('consumers', WORK), at('consumers'));
});

test('a tenant given by id expects exactly that tenant, whatever tid says', () => {
  assert.equal(expected(WORK, 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee'), at(WORK));
});

test('a tid that is missing or not a GUID expects the configured issuer, which no real token carries', () => {
  assert.equal(expected('common', undefined), at('common'));
  assert.equal(expected('common', '../evil'), at('common'));
  assert.equal(expected('common', `${WORK}/x`), at('common'));
});
