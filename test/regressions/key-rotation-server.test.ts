/**
 * Issue 12, finding 5, end to end against `npm start`: a full secret-key rotation on one
 * data directory, with `otpgate keys check` run beside the server.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKeyring } from '../../src/auth/keyring.ts';
import { decodeBase32, generateTOTP } from '../../src/otp/index.ts';
import type { BrowserLikeClient, RunningServer } from '../support/server.ts';
import { httpsClient, startServer } from '../support/server.ts';
import { runCLI } from '../support/cli.ts';

const PASSWORD = 'rotation-Pw-3e9b71';

const keyA = randomBytes(32);
const keyB = randomBytes(32);
const idOf = (key: Buffer): string => createKeyring(key).current.id;
const b64 = (key: Buffer): string => key.toString('base64');

const keysCheck = (dataDir: string, env: Record<string, string>) => runCLI(['keys', 'check'], { OTPGATE_DATA_DIR: dataDir, ...env });

/** The counts `keys check` printed for `keyId`: [status, totp secrets, recovery codes]. */
function row(stdout: string, keyId: string): [string, number, number] | null {
  const line = stdout.split('\n').find((l) => l.startsWith(`${keyId}\t`));
  if (!line) return null;
  const [, status = '', totp = '', recovery = ''] = line.split('\t');
  return [status, Number(totp), Number(recovery)];
}

async function signIn(c: BrowserLikeClient, method: 'totp' | 'recovery', code: string) {
  const login = await c.request('POST', '/api/login', { username: 'rotor', password: PASSWORD });
  assert.equal(login.status, 200, login.body);
  assert.equal(login.json().status, 'otp_required');
  return c.request('POST', '/api/login/verify', { method, code });
}

let dataDir = '';
let server: RunningServer | undefined;
after(async () => {
  await server?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

async function restart(env: Record<string, string>): Promise<RunningServer> {
  await server?.stop();
  server = await startServer(env, { dataDir });
  return server;
}

describe('issue 12 finding 5: a full key rotation on a running server', () => {
  it('finding 5: enroll under key A, sign in under B with A previous, keys check shows the move, then B alone works; an unrelated key answers 503 key_unavailable and spends no attempt', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'otpgate-rotation-'));

    // Key A: sign up without email, enroll an authenticator (the step before now).
    let s = await restart({ OTPGATE_SECRET_KEY: b64(keyA) });
    let c = httpsClient(s);
    assert.equal((await c.request('POST', '/api/signup', { username: 'rotor', password: PASSWORD })).status, 201);
    const begun = (await c.request('POST', '/api/factors/totp', { label: 'Phone' })).json<{ factor_id: string; secret: string }>();
    const seed = decodeBase32(begun.secret);
    const confirmed = await c.request('POST', '/api/factors/totp/verify', { factor_id: begun.factor_id, code: generateTOTP(seed, Date.now() - 30_000) });
    assert.equal(confirmed.status, 200, confirmed.body);
    const recoveryCodes = confirmed.json<{ recovery_codes: string[] }>().recovery_codes;
    assert.equal(recoveryCodes.length, 10);

    // Key B, A previous: both still sign in; the TOTP secret moves to B, the codes stay keyed by A.
    const rotated = { OTPGATE_SECRET_KEY: b64(keyB), OTPGATE_PREVIOUS_SECRET_KEYS: b64(keyA) };
    const before = await keysCheck(dataDir, rotated);
    assert.equal(before.code, 0, before.stderr);
    assert.deepEqual(row(before.stdout, idOf(keyA)), ['previous', 1, 10]);
    assert.deepEqual(row(before.stdout, idOf(keyB)), ['current', 0, 0]);
    s = await restart(rotated);
    c = httpsClient(s);
    const totp = await signIn(c, 'totp', generateTOTP(seed, Date.now()));
    assert.equal(totp.status, 200, totp.body);
    c = httpsClient(s);
    const recovery = await signIn(c, 'recovery', recoveryCodes[0] ?? '');
    assert.equal(recovery.status, 200, recovery.body);
    assert.equal(recovery.json().recovery_codes_left, 9);
    const moved = await keysCheck(dataDir, rotated);
    assert.deepEqual(row(moved.stdout, idOf(keyA)), ['previous', 0, 9], moved.stdout);
    assert.deepEqual(row(moved.stdout, idOf(keyB)), ['current', 1, 0], moved.stdout);

    // An unrelated key: 503 key_unavailable, the log names the missing key id, no attempt spent.
    const unrelated = { OTPGATE_SECRET_KEY: b64(randomBytes(32)) };
    s = await restart(unrelated);
    await s.waitForOutput(new RegExp(`secret key ${idOf(keyB)} is not configured but seals 1 TOTP secret`), 0);
    c = httpsClient(s);
    const mark = s.output().length;
    const refused = await signIn(c, 'totp', generateTOTP(seed, Date.now() + 30_000));
    assert.equal(refused.status, 503, refused.body);
    assert.equal(refused.json().error, 'key_unavailable');
    await s.waitForOutput(new RegExp(`No configured secret key has id ${idOf(keyB)}`), mark);
    for (let i = 0; i < 6; i++) {
      const again = await c.request('POST', '/api/login/verify', { method: 'recovery', code: recoveryCodes[1] ?? '' });
      assert.equal(again.status, 503, again.body);
      assert.equal(again.json().error, 'key_unavailable');
    }
    const missing = await keysCheck(dataDir, unrelated);
    assert.equal(missing.code, 1, 'keys check fails while records depend on a key not configured');
    assert.deepEqual(row(missing.stdout, idOf(keyB)), ['missing', 1, 0]);
    assert.match(missing.stderr, new RegExp(`key ${idOf(keyB)} is not configured`));

    // B alone: the same pending login still has every attempt (5) left; the TOTP secret,
    // re-sealed under B, signs in; the codes still keyed by A answer 503 until regenerated.
    s = await restart({ OTPGATE_SECRET_KEY: b64(keyB) });
    const sameBrowser = httpsClient(s);
    for (const [name, value] of c.cookies) sameBrowser.cookies.set(name, value);
    const wrong = await sameBrowser.request('POST', '/api/login/verify', { method: 'totp', code: '000000' });
    assert.equal(wrong.status, 401, wrong.body);
    assert.equal(wrong.json().attempts_left, 4, 'the 503s spent none of the pending login attempts');
    c = httpsClient(s);
    const totpB = await signIn(c, 'totp', generateTOTP(seed, Date.now() + 30_000));
    assert.equal(totpB.status, 200, totpB.body);
    const renewed = await c.request('POST', '/api/recovery-codes', { password: PASSWORD });
    assert.equal(renewed.status, 200, renewed.body);
    const newCodes = renewed.json<{ recovery_codes: string[] }>().recovery_codes;
    const bOnly = await keysCheck(dataDir, { OTPGATE_SECRET_KEY: b64(keyB) });
    assert.equal(bOnly.code, 0, bOnly.stderr);
    assert.deepEqual(row(bOnly.stdout, idOf(keyB)), ['current', 1, 10]);
    assert.equal(row(bOnly.stdout, idOf(keyA)), null, 'nothing depends on key A any more');
    c = httpsClient(s);
    const recoveryB = await signIn(c, 'recovery', newCodes[0] ?? '');
    assert.equal(recoveryB.status, 200, recoveryB.body);
  });
});
