import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { flagsToEnv } from './flags.ts';
import { ConfigError, loadConfig } from './config.ts';

describe('flagsToEnv()', () => {
  it('maps each flag to its variable, with a space or an equals sign', () => {
    assert.deepEqual(flagsToEnv(['--port', '9000', '--data-dir=/tmp/x', '--session-idle', '900']), {
      OTPGATE_PORT: '9000',
      OTPGATE_DATA_DIR: '/tmp/x',
      OTPGATE_SESSION_IDLE: '900',
    });
  });

  it('lets a flag win over the environment, validated like the variable', () => {
    const env = { OTPGATE_PORT: '8000', ...flagsToEnv(['--port', '9001']) };
    assert.equal(loadConfig(env).port, 9001);
    assert.throws(() => loadConfig({ ...flagsToEnv(['--port', 'abc']) }), /^ConfigError: OTPGATE_PORT: /);
  });

  it('refuses an unknown flag and a flag without a value, in one line naming it', () => {
    assert.throws(() => flagsToEnv(['--prot', '1']), (e: unknown) => e instanceof ConfigError && /^--prot: unknown flag/.test(e.message));
    assert.throws(() => flagsToEnv(['--port']), (e: unknown) => e instanceof ConfigError && e.message === 'OTPGATE_PORT: --port needs a value');
    assert.throws(() => flagsToEnv(['--port', '--host', 'x']), /needs a value/);
  });
});
