import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import type { FastifyRequest } from 'fastify';
import { flashOf, formField, withFlash } from './forms.ts';

void describe('form helpers', () => {
  void test('formField() reads own string fields only; repeated or missing fields are empty', () => {
    const body = Object.assign(Object.create({ inherited: 'x' }) as object, { a: 'one', list: ['1', '2'], n: 5 });
    assert.equal(formField(body, 'a'), 'one');
    assert.equal(formField(body, 'list'), '');
    assert.equal(formField(body, 'n'), '');
    assert.equal(formField(body, 'inherited'), '');
    assert.equal(formField(body, '__proto__'), '');
    assert.equal(formField(undefined, 'a'), '');
    assert.equal(formField({ long: 'p'.repeat(5000) }, 'long').length, 5000, 'never truncated');
  });

  void test('flash notices come only from the fixed table', () => {
    const request = (m: unknown) => ({ query: { m } }) as unknown as FastifyRequest;
    assert.equal(flashOf(request('logged_out'))?.text, 'You have logged out.');
    assert.equal(flashOf(request('<script>')), undefined);
    assert.equal(flashOf(request('toString')), undefined);
    assert.equal(flashOf(request(['logged_out'])), undefined);
    assert.equal(withFlash('/login', 'logged_out'), '/login?m=logged_out');
    assert.equal(withFlash('/login/otp?method=email', 'delivery_failed'), '/login/otp?method=email&m=delivery_failed');
  });
});
