/**
 * The server's certificate. `OTPGATE_TLS=auto` keeps a self-signed EC P-256 certificate
 * for localhost (SAN DNS:localhost, IP:127.0.0.1, IP:::1, one year) in `DATA_DIR/tls/`,
 * generated on first start and again only when missing, unreadable or expired; browsers
 * warn about it, and the printed SHA-256 fingerprint is how a person checks it.
 * `files` mode reads the operator's PEM files. Minimum protocol: TLS 1.2.
 */
import { createPrivateKey, randomBytes, X509Certificate } from 'node:crypto';
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { generate } from 'selfsigned';
import { ConfigError } from '../config.ts';
import type { Config } from '../config.ts';
import { describeFSError } from '../data-dir.ts';

export const TLS_MIN_VERSION = 'TLSv1.2';

/**
 * TLS 1.3's suites, then TLS 1.2 with forward secrecy and AEAD only (ASVS 12.1.2): no RSA
 * key exchange, no CBC, no SHA-1 MACs. The server's order wins.
 */
export const TLS_CIPHERS = [
  'TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384', 'ECDHE-ECDSA-CHACHA20-POLY1305', 'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

/** PEM certificate (chain) and private key, ready for `https.createServer`. */
export interface TLSMaterial {
  cert: string;
  key: string;
  /** SHA-256 fingerprint of the leaf certificate, `AB:CD:…`. */
  fingerprint256: string;
  notAfter: Date;
  selfSigned: boolean;
  /** True when this call generated a new self-signed certificate. */
  generated: boolean;
}

/**
 * The TLS material the configuration asks for, or undefined when TLS is off.
 * @param now the moment against which an existing self-signed certificate's expiry is checked.
 * @throws ConfigError naming OTPGATE_TLS_CERT or OTPGATE_TLS_KEY when their files are unusable.
 */
export async function loadTLS(
  config: Pick<Config, 'tls' | 'dataDir'>,
  now: Date = new Date(),
): Promise<TLSMaterial | undefined> {
  switch (config.tls.mode) {
    case 'off':
      return undefined;
    case 'files':
      return readTLSFiles(config.tls.certPath, config.tls.keyPath);
    case 'auto':
      return ensureSelfSignedCertificate(join(config.dataDir, 'tls'), now);
  }
}

/** Reads and checks the operator's certificate (chain) and key files. */
export async function readTLSFiles(certPath: string, keyPath: string): Promise<TLSMaterial> {
  const cert = await readOrThrow('OTPGATE_TLS_CERT', certPath);
  const key = await readOrThrow('OTPGATE_TLS_KEY', keyPath);
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch {
    throw new ConfigError('OTPGATE_TLS_CERT', `${certPath} does not hold a PEM certificate`);
  }
  try {
    if (!x509.checkPrivateKey(createPrivateKey(key))) {
      throw new ConfigError('OTPGATE_TLS_KEY', `${keyPath} does not match the certificate in ${certPath}`);
    }
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError('OTPGATE_TLS_KEY', `${keyPath} does not hold an unencrypted PEM private key`);
  }
  return { cert, key, fingerprint256: x509.fingerprint256, notAfter: x509.validToDate, selfSigned: false, generated: false };
}

/**
 * Returns the self-signed certificate kept in `dir`, generating it when missing, unusable or expired.
 * @param dir created 0700 when missing; `key.pem` is written 0600.
 */
export async function ensureSelfSignedCertificate(dir: string, now: Date = new Date()): Promise<TLSMaterial> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const certPath = join(dir, 'cert.pem');
  const keyPath = join(dir, 'key.pem');
  const existing = await readSelfSigned(certPath, keyPath, now);
  if (existing !== undefined) return existing;

  const generated = await generateSelfSigned(now);
  // Key first, then certificate, each renamed into place whole. Two processes racing on a
  // first start may interleave the renames; the check after writing catches a mismatched pair.
  await writeAtomically(keyPath, generated.key, 0o600);
  await writeAtomically(certPath, generated.cert, 0o644);
  const written = await readSelfSigned(certPath, keyPath, now);
  if (written === undefined) throw new Error(`The certificate just written to ${dir} does not match its key; start again`);
  return { ...written, generated: written.fingerprint256 === generated.fingerprint256 };
}

async function readOrThrow(variable: 'OTPGATE_TLS_CERT' | 'OTPGATE_TLS_KEY', path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError(variable, `cannot read ${path}: ${describeFSError(error)}`, { cause: error });
  }
}

/** The stored pair when both files are present, parse, match and are still valid at `now`. */
async function readSelfSigned(certPath: string, keyPath: string, now: Date): Promise<TLSMaterial | undefined> {
  let cert: string;
  let key: string;
  try {
    [cert, key] = await Promise.all([readFile(certPath, 'utf8'), readFile(keyPath, 'utf8')]);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const x509 = new X509Certificate(cert);
    if (!x509.checkPrivateKey(createPrivateKey(key))) return undefined;
    if (x509.validToDate.getTime() <= now.getTime()) return undefined;
    return { cert, key, fingerprint256: x509.fingerprint256, notAfter: x509.validToDate, selfSigned: true, generated: false };
  } catch {
    return undefined; // unparsable: ours to replace
  }
}

async function generateSelfSigned(now: Date): Promise<{ cert: string; key: string; fingerprint256: string }> {
  const notAfterDate = new Date(now.getTime() + 365 * 86_400_000);
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: new Date(now.getTime() - 60_000), // a minute of clock skew
    notAfterDate,
    extensions: [
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
          { type: 7, ip: '::1' },
        ],
      },
    ],
  });
  return { cert: pems.cert, key: pems.private, fingerprint256: new X509Certificate(pems.cert).fingerprint256 };
}

async function writeAtomically(path: string, content: string, mode: number): Promise<void> {
  const temporary = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const handle = await open(temporary, 'wx', mode);
  try {
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temporary, path);
  } catch (error) {
    await unlink(temporary);
    throw error;
  }
}
