import { strict as assert } from 'node:assert';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ConfigError } from '../src/config.ts';
import { ensureSelfSignedCertificate, loadTLS, readTLSFiles } from '../src/http/tls.ts';

const root = await mkdtemp(join(tmpdir(), 'otpgate-tls-'));
after(() => rm(root, { recursive: true, force: true }));

void describe('loadTLS() in auto mode', () => {
  const dataDir = join(root, 'auto');

  void test('generates a certificate for localhost once, key file 0600', async () => {
    const tls = await loadTLS({ tls: { mode: 'auto' }, dataDir });
    assert.ok(tls);
    assert.equal(tls.generated, true);
    assert.equal(tls.selfSigned, true);
    assert.match(tls.fingerprint256, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    assert.equal((await stat(join(dataDir, 'tls', 'key.pem'))).mode & 0o777, 0o600);
    assert.equal((await stat(join(dataDir, 'tls'))).mode & 0o777, 0o700);

    const x509 = new X509Certificate(await readFile(join(dataDir, 'tls', 'cert.pem')));
    assert.equal(x509.subject, 'CN=localhost');
    assert.match(x509.subjectAltName ?? '', /DNS:localhost/);
    assert.match(x509.subjectAltName ?? '', /IP Address:127\.0\.0\.1/);
    assert.match(x509.subjectAltName ?? '', /IP Address:0:0:0:0:0:0:0:1/);
    assert.equal(x509.checkHost('localhost'), 'localhost');
    assert.equal(x509.checkIP('127.0.0.1'), '127.0.0.1');
    const days = (x509.validToDate.getTime() - Date.now()) / 86_400_000;
    assert.ok(days > 360 && days < 370, `valid for ${days} days`);
    assert.equal(x509.fingerprint256, tls.fingerprint256);
  });

  void test('reuses the stored certificate on the next start', async () => {
    const first = await loadTLS({ tls: { mode: 'auto' }, dataDir });
    const second = await loadTLS({ tls: { mode: 'auto' }, dataDir });
    assert.equal(second?.generated, false);
    assert.equal(second?.fingerprint256, first?.fingerprint256);
  });

  void test('replaces an expired certificate', async () => {
    const dir = join(root, 'expiring');
    const old = await ensureSelfSignedCertificate(dir);
    const later = new Date(old.notAfter.getTime() + 1000);
    const renewed = await ensureSelfSignedCertificate(dir, later);
    assert.equal(renewed.generated, true);
    assert.notEqual(renewed.fingerprint256, old.fingerprint256);
    assert.ok(renewed.notAfter > later);
  });

  void test('replaces a missing key', async () => {
    const dir = join(root, 'no-key');
    const old = await ensureSelfSignedCertificate(dir);
    await rm(join(dir, 'key.pem'));
    assert.notEqual((await ensureSelfSignedCertificate(dir)).fingerprint256, old.fingerprint256);
  });

  void test('is off when TLS is off', async () => {
    assert.equal(await loadTLS({ tls: { mode: 'off' }, dataDir }), undefined);
  });
});

void describe('loadTLS() in files mode', () => {
  void test('reads the given certificate and key', async () => {
    const made = await ensureSelfSignedCertificate(join(root, 'made'));
    const certPath = join(root, 'site.crt');
    const keyPath = join(root, 'site.key');
    await writeFile(certPath, made.cert);
    await writeFile(keyPath, made.key);
    const tls = await loadTLS({ tls: { mode: 'files', certPath, keyPath }, dataDir: join(root, 'unused') });
    assert.equal(tls?.fingerprint256, made.fingerprint256);
    assert.equal(tls?.selfSigned, false);
  });

  const refused = (variable: string, pattern: RegExp) => (error: unknown) =>
    error instanceof ConfigError && error.variable === variable && pattern.test(error.message) && !error.message.includes('\n');

  void test('names the variable of an unreadable file', async () => {
    await assert.rejects(readTLSFiles(join(root, 'missing.crt'), join(root, 'missing.key')), refused('OTPGATE_TLS_CERT', /cannot read .*missing\.crt: ENOENT/));
  });

  void test('refuses a file that is not a certificate, and a key that does not match', async () => {
    const a = await ensureSelfSignedCertificate(join(root, 'a'));
    const b = await ensureSelfSignedCertificate(join(root, 'b'));
    await assert.rejects(readTLSFiles(join(root, 'a', 'key.pem'), join(root, 'a', 'key.pem')), refused('OTPGATE_TLS_CERT', /does not hold a PEM certificate/));
    await assert.rejects(readTLSFiles(join(root, 'a', 'cert.pem'), join(root, 'a', 'cert.pem')), refused('OTPGATE_TLS_KEY', /unencrypted PEM private key/));
    await assert.rejects(readTLSFiles(join(root, 'a', 'cert.pem'), join(root, 'b', 'key.pem')), refused('OTPGATE_TLS_KEY', /does not match/));
    assert.notEqual(a.fingerprint256, b.fingerprint256);
  });
});
