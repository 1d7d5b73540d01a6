import { strict as assert } from 'node:assert';
import { resolve } from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError, loadConfig } from './config.ts';

const KEY_32 = Buffer.alloc(32, 7).toString('base64');
const TWILIO = {
  OTPGATE_TWILIO_ACCOUNT_SID: `AC${'0123456789abcdef'.repeat(2)}`,
  OTPGATE_TWILIO_AUTH_TOKEN: 'f'.repeat(32),
  OTPGATE_TWILIO_FROM: '+14155550100',
};

function refusal(env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig(env, '/srv/otpgate');
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error;
  }
  assert.fail(`expected ${JSON.stringify(env)} to be refused`);
}

void describe('loadConfig()', () => {
  void test('defaults match API.md', () => {
    const config = loadConfig({ PATH: '/usr/bin', HOME: '/root' }, '/srv/otpgate');
    assert.equal(config.host, '127.0.0.1');
    assert.equal(config.port, 8443);
    assert.equal(config.dataDir, '/srv/otpgate/data');
    assert.deepEqual(config.database, { kind: 'sqlite', path: '/srv/otpgate/data/otpgate.db' });
    assert.equal(config.publicURL.href, 'https://localhost:8443/');
    assert.deepEqual(config.tls, { mode: 'auto' });
    assert.deepEqual(config.trustProxy, []);
    assert.equal(config.secretKey, undefined);
    assert.equal(config.smtp, undefined);
    assert.equal(config.sms, undefined);
    assert.equal(config.twilio, undefined);
    assert.equal(config.signup, 'open');
    assert.equal(config.issuer, 'otpgate');
    assert.equal(config.codeTTLSeconds, 300);
    assert.equal(config.backoffSeconds, 1);
    assert.equal(loadConfig({ OTPGATE_BACKOFF: '0' }).backoffSeconds, 0);
    assert.equal(config.loginTTLSeconds, 600);
    assert.deepEqual(config.factors, ['totp', 'email', 'sms', 'recovery']);
    assert.equal(config.sessionIdleSeconds, 3600);
    assert.equal(config.sessionMaxSeconds, 86400);
    assert.equal(config.logLevel, 'info');
    assert.equal(config.breachCheckURL, undefined, 'no lookup leaves the machine unless asked for');
    assert.equal(loadConfig({ OTPGATE_BREACH_CHECK_URL: 'off' }).breachCheckURL, undefined);
  });

  void test('the data dir defaults to ./data under process.cwd()', () => {
    assert.equal(loadConfig({}).dataDir, resolve(process.cwd(), 'data'));
  });

  void test('reads every variable', () => {
    const config = loadConfig(
      {
        OTPGATE_HOST: '0.0.0.0',
        OTPGATE_PORT: '9000',
        OTPGATE_DATA_DIR: 'var/otp',
        OTPGATE_DATABASE_URL: 'postgres://otp:pw@db.internal:5432/otpgate',
        OTPGATE_PUBLIC_URL: 'https://auth.example.com',
        OTPGATE_TLS: 'off',
        OTPGATE_TRUST_PROXY: '10.0.0.0/8, ::1',
        OTPGATE_SECRET_KEY: KEY_32,
        OTPGATE_SMTP_URL: 'smtps://u:p@mail.example.com:465',
        OTPGATE_MAIL_FROM: 'otpgate <otp@example.com>',
        OTPGATE_SMTP_CA: 'ca.pem',
        OTPGATE_SMS_WEBHOOK_URL: 'https://sms.example.com/send',
        OTPGATE_SMS_WEBHOOK_SECRET: 'a-long-enough-secret',
        OTPGATE_SIGNUP: 'closed',
        OTPGATE_ISSUER: 'Example Corp',
        OTPGATE_CODE_TTL: '120',
        OTPGATE_LOGIN_TTL: '300',
        OTPGATE_FACTORS: 'recovery,totp',
        OTPGATE_SESSION_IDLE: '900',
        OTPGATE_SESSION_MAX: '43200',
        OTPGATE_LOG_LEVEL: 'warn',
        OTPGATE_BREACH_CHECK_URL: 'https://breach.example.com/range/',
      },
      '/srv/otpgate',
    );
    assert.equal(config.host, '0.0.0.0');
    assert.equal(config.port, 9000);
    assert.equal(config.dataDir, '/srv/otpgate/var/otp');
    assert.equal(config.database.kind, 'postgres');
    assert.equal(config.publicURL.origin, 'https://auth.example.com');
    assert.deepEqual(config.tls, { mode: 'off' });
    assert.deepEqual(config.trustProxy, ['10.0.0.0/8', '::1']);
    assert.deepEqual(config.secretKey, Buffer.alloc(32, 7));
    assert.equal(config.smtp?.url.hostname, 'mail.example.com');
    assert.equal(config.smtp?.from, 'otpgate <otp@example.com>');
    assert.equal(config.smtp?.caPath, '/srv/otpgate/ca.pem');
    assert.equal(config.sms?.webhookURL.href, 'https://sms.example.com/send');
    assert.equal(config.signup, 'closed');
    assert.equal(config.issuer, 'Example Corp');
    assert.equal(config.codeTTLSeconds, 120);
    assert.equal(config.loginTTLSeconds, 300);
    assert.deepEqual(config.factors, ['totp', 'recovery']);
    assert.equal(config.sessionIdleSeconds, 900);
    assert.equal(config.sessionMaxSeconds, 43200);
    assert.equal(config.logLevel, 'warn');
    assert.equal(config.breachCheckURL?.href, 'https://breach.example.com/range/');
  });

  void test('TLS files mode, sqlite paths and the http public URL when TLS is off', () => {
    const files = loadConfig({ OTPGATE_TLS_CERT: 'c.pem', OTPGATE_TLS_KEY: '/etc/k.pem' }, '/srv');
    assert.deepEqual(files.tls, { mode: 'files', certPath: '/srv/c.pem', keyPath: '/etc/k.pem' });
    assert.deepEqual(loadConfig({ OTPGATE_DATABASE_URL: 'sqlite:db/x.db' }, '/srv').database, { kind: 'sqlite', path: '/srv/db/x.db' });
    assert.deepEqual(loadConfig({ OTPGATE_DATABASE_URL: 'sqlite:///var/x.db' }, '/srv').database, { kind: 'sqlite', path: '/var/x.db' });
    assert.equal(loadConfig({ OTPGATE_TLS: 'off', OTPGATE_PORT: '8080' }).publicURL.href, 'http://localhost:8080/');
  });

  void test('an empty value counts as unset', () => {
    assert.equal(loadConfig({ OTPGATE_PORT: '', OTPGATE_TRUST_PROXY: '' }).port, 8443);
  });

  void test('port 0 is accepted (a free port, filled in by main)', () => {
    const config = loadConfig({ OTPGATE_PORT: '0' });
    assert.equal(config.port, 0);
    assert.equal(config.publicURL.port, '0');
  });

  void describe('TLS off', () => {
    void test('is refused on 0.0.0.0 without a trusted proxy', () => {
      assert.equal(
        refusal({ OTPGATE_TLS: 'off', OTPGATE_HOST: '0.0.0.0' }).message,
        'OTPGATE_TLS: off is only allowed when OTPGATE_HOST is loopback or OTPGATE_TRUST_PROXY is set (host is 0.0.0.0)',
      );
    });
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', 'localhost']) {
      void test(`is allowed on ${host}`, () => {
        assert.deepEqual(loadConfig({ OTPGATE_TLS: 'off', OTPGATE_HOST: host }).tls, { mode: 'off' });
      });
    }
    void test('is allowed on 0.0.0.0 behind a trusted proxy', () => {
      const env = { OTPGATE_TLS: 'off', OTPGATE_HOST: '0.0.0.0', OTPGATE_TRUST_PROXY: '10.1.2.3' };
      assert.deepEqual(loadConfig(env).tls, { mode: 'off' });
    });
  });

  void describe('refuses a bad value with one line naming the variable', () => {
    const cases: Array<[string, NodeJS.ProcessEnv, string, RegExp?]> = [
      ['port not a number', { OTPGATE_PORT: 'abc' }, 'OTPGATE_PORT', /must be an integer from 0 to 65535.*got "abc"/],
      ['port too large', { OTPGATE_PORT: '65536' }, 'OTPGATE_PORT'],
      ['port negative', { OTPGATE_PORT: '-1' }, 'OTPGATE_PORT'],
      ['port fractional', { OTPGATE_PORT: '80.5' }, 'OTPGATE_PORT'],
      ['host', { OTPGATE_HOST: 'not a host!' }, 'OTPGATE_HOST'],
      ['TLS mode', { OTPGATE_TLS: 'on' }, 'OTPGATE_TLS', /must be auto, off or files/],
      ['TLS cert without key', { OTPGATE_TLS_CERT: 'c.pem' }, 'OTPGATE_TLS_KEY'],
      ['TLS key without cert', { OTPGATE_TLS_KEY: 'k.pem' }, 'OTPGATE_TLS_CERT'],
      ['TLS files without files', { OTPGATE_TLS: 'files' }, 'OTPGATE_TLS'],
      ['TLS off with files', { OTPGATE_TLS: 'off', OTPGATE_TLS_CERT: 'c', OTPGATE_TLS_KEY: 'k' }, 'OTPGATE_TLS'],
      ['secret key of 16 bytes', { OTPGATE_SECRET_KEY: Buffer.alloc(16).toString('base64') }, 'OTPGATE_SECRET_KEY', /got 16 bytes/],
      ['secret key of 33 bytes', { OTPGATE_SECRET_KEY: Buffer.alloc(33).toString('base64') }, 'OTPGATE_SECRET_KEY'],
      ['secret key not base64', { OTPGATE_SECRET_KEY: 'not base64 at all!' }, 'OTPGATE_SECRET_KEY'],
      ['database scheme', { OTPGATE_DATABASE_URL: 'mysql://u:hunter2@h/db' }, 'OTPGATE_DATABASE_URL'],
      ['empty sqlite path', { OTPGATE_DATABASE_URL: 'sqlite:' }, 'OTPGATE_DATABASE_URL'],
      ['public URL with a path', { OTPGATE_PUBLIC_URL: 'https://example.com/auth' }, 'OTPGATE_PUBLIC_URL'],
      ['public URL over http', { OTPGATE_PUBLIC_URL: 'http://example.com' }, 'OTPGATE_PUBLIC_URL'],
      ['public URL garbage', { OTPGATE_PUBLIC_URL: 'example' }, 'OTPGATE_PUBLIC_URL'],
      ['SMTP scheme', { OTPGATE_SMTP_URL: 'http://mail.example.com', OTPGATE_MAIL_FROM: 'a@b.c' }, 'OTPGATE_SMTP_URL'],
      ['SMTP without from', { OTPGATE_SMTP_URL: 'smtps://mail.example.com' }, 'OTPGATE_MAIL_FROM'],
      ['SMTP from with a line break', { OTPGATE_SMTP_URL: 'smtps://m.example', OTPGATE_MAIL_FROM: 'a@b.c\nBcc: x@y.z' }, 'OTPGATE_MAIL_FROM'],
      ['SMTP starttls=off off loopback', { OTPGATE_SMTP_URL: 'smtp://mail.example.com?starttls=off', OTPGATE_MAIL_FROM: 'a@b.c' }, 'OTPGATE_SMTP_URL'],
      ['mail from without SMTP', { OTPGATE_MAIL_FROM: 'a@b.c' }, 'OTPGATE_MAIL_FROM'],
      ['SMS URL without secret', { OTPGATE_SMS_WEBHOOK_URL: 'https://sms.example.com' }, 'OTPGATE_SMS_WEBHOOK_SECRET'],
      ['SMS secret without URL', { OTPGATE_SMS_WEBHOOK_SECRET: 'a-long-enough-secret' }, 'OTPGATE_SMS_WEBHOOK_SECRET'],
      ['SMS URL over http', { OTPGATE_SMS_WEBHOOK_URL: 'http://sms.example.com', OTPGATE_SMS_WEBHOOK_SECRET: 'a-long-enough-secret' }, 'OTPGATE_SMS_WEBHOOK_URL'],
      ['SMS secret too short', { OTPGATE_SMS_WEBHOOK_URL: 'https://sms.example.com', OTPGATE_SMS_WEBHOOK_SECRET: 'short' }, 'OTPGATE_SMS_WEBHOOK_SECRET'],
      ['Twilio SID alone', { OTPGATE_TWILIO_ACCOUNT_SID: TWILIO.OTPGATE_TWILIO_ACCOUNT_SID }, 'OTPGATE_TWILIO_AUTH_TOKEN', /must be set together/],
      ['Twilio without SID', { ...TWILIO, OTPGATE_TWILIO_ACCOUNT_SID: undefined }, 'OTPGATE_TWILIO_ACCOUNT_SID'],
      ['Twilio without from', { ...TWILIO, OTPGATE_TWILIO_FROM: '' }, 'OTPGATE_TWILIO_FROM'],
      ['Twilio SID malformed', { ...TWILIO, OTPGATE_TWILIO_ACCOUNT_SID: 'AC123' }, 'OTPGATE_TWILIO_ACCOUNT_SID', /AC and 32 hex digits/],
      ['Twilio token too short', { ...TWILIO, OTPGATE_TWILIO_AUTH_TOKEN: 'short' }, 'OTPGATE_TWILIO_AUTH_TOKEN', /got 5 characters/],
      ['Twilio from not E.164', { ...TWILIO, OTPGATE_TWILIO_FROM: '0415 555 0123' }, 'OTPGATE_TWILIO_FROM'],
      ['Twilio and the webhook', { ...TWILIO, OTPGATE_SMS_WEBHOOK_URL: 'https://sms.example.com', OTPGATE_SMS_WEBHOOK_SECRET: 'a-long-enough-secret' }, 'OTPGATE_TWILIO_ACCOUNT_SID', /choose one SMS provider/],
      ['signup value', { OTPGATE_SIGNUP: 'invite' }, 'OTPGATE_SIGNUP', /must be one of open, closed, got "invite"/],
      ['issuer with a colon', { OTPGATE_ISSUER: 'a:b' }, 'OTPGATE_ISSUER'],
      ['code TTL 0', { OTPGATE_CODE_TTL: '0' }, 'OTPGATE_CODE_TTL', /from 1 to 600/],
      ['code TTL 601', { OTPGATE_CODE_TTL: '601' }, 'OTPGATE_CODE_TTL'],
      ['back-off -1', { OTPGATE_BACKOFF: '-1' }, 'OTPGATE_BACKOFF'],
      ['back-off 61', { OTPGATE_BACKOFF: '61' }, 'OTPGATE_BACKOFF'],
      ['login TTL too short', { OTPGATE_LOGIN_TTL: '5' }, 'OTPGATE_LOGIN_TTL'],
      ['factors empty', { OTPGATE_FACTORS: ',' }, 'OTPGATE_FACTORS'],
      ['factors unknown', { OTPGATE_FACTORS: 'totp,push' }, 'OTPGATE_FACTORS', /got "push"/],
      ['factors only recovery', { OTPGATE_FACTORS: 'recovery' }, 'OTPGATE_FACTORS'],
      ['sms without totp', { OTPGATE_FACTORS: 'sms,email,recovery' }, 'OTPGATE_FACTORS', /sms counts only beside totp/],
      ['session idle > max', { OTPGATE_SESSION_IDLE: '7200', OTPGATE_SESSION_MAX: '3600' }, 'OTPGATE_SESSION_IDLE', /must not exceed OTPGATE_SESSION_MAX/],
      ['trust proxy garbage', { OTPGATE_TRUST_PROXY: '10.0.0.0/8,proxy.example.com' }, 'OTPGATE_TRUST_PROXY', /got "proxy.example.com"/],
      ['trust proxy bad prefix', { OTPGATE_TRUST_PROXY: '10.0.0.0/33' }, 'OTPGATE_TRUST_PROXY'],
      ['log level', { OTPGATE_LOG_LEVEL: 'verbose' }, 'OTPGATE_LOG_LEVEL'],
      ['breach check over http', { OTPGATE_BREACH_CHECK_URL: 'http://breach.example.com/range/' }, 'OTPGATE_BREACH_CHECK_URL', /https/],
      ['breach check with a query', { OTPGATE_BREACH_CHECK_URL: 'https://breach.example.com/range?x=1' }, 'OTPGATE_BREACH_CHECK_URL', /without \? or #/],
      ['breach check not a URL', { OTPGATE_BREACH_CHECK_URL: 'pwned' }, 'OTPGATE_BREACH_CHECK_URL'],
      ['unknown variable', { OTPGATE_PROT: '80' }, 'OTPGATE_PROT', /unknown variable; did you mean OTPGATE_PORT\?/],
      ['unknown variable typo', { OTPGATE_SESION_IDLE: '60' }, 'OTPGATE_SESION_IDLE', /did you mean OTPGATE_SESSION_IDLE\?/],
    ];
    for (const [name, env, variable, pattern] of cases) {
      void test(name, () => {
        const error = refusal(env);
        assert.equal(error.variable, variable);
        assert.ok(error.message.startsWith(`${variable}: `), error.message);
        assert.ok(!error.message.includes('\n'), 'one line');
        if (pattern) assert.match(error.message, pattern);
      });
    }
  });

  void test('never echoes a secret value in its message', () => {
    for (const env of [
      { OTPGATE_SECRET_KEY: 'aHVudGVyMg==' },
      { OTPGATE_DATABASE_URL: 'mysql://u:hunter2@h/db' },
      { OTPGATE_DATABASE_URL: 'postgres://u:hunter2@/db' },
      { OTPGATE_SMTP_URL: 'smtp://u:hunter2@mail.example.com?starttls=off', OTPGATE_MAIL_FROM: 'a@b.c' },
    ]) {
      const { message } = refusal(env);
      assert.ok(!message.includes('hunter2') && !message.includes('aHVudGVyMg'), message);
    }
  });

  void test('reads the Twilio variables together; the from may be a Messaging Service SID', () => {
    assert.deepEqual(loadConfig(TWILIO).twilio, { accountSID: TWILIO.OTPGATE_TWILIO_ACCOUNT_SID, authToken: 'f'.repeat(32), from: '+14155550100' });
    const service = `MG${'ab'.repeat(16)}`;
    assert.equal(loadConfig({ ...TWILIO, OTPGATE_TWILIO_FROM: service }).twilio?.from, service);
  });

  void test('never echoes the Twilio auth token', () => {
    const { message } = refusal({ ...TWILIO, OTPGATE_TWILIO_AUTH_TOKEN: 'hunter2 hunter2 hunter2' });
    assert.ok(!message.includes('hunter2'), message);
  });

  void test('an unknown variable far from every name gets no guess', () => {
    assert.match(refusal({ OTPGATE_SOMETHING_ELSE_ENTIRELY: '1' }).message, /unknown variable; known variables/);
  });
});
