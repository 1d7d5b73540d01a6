/**
 * Command-line flags that mirror the environment variables: `--data-dir ./x` is
 * OTPGATE_DATA_DIR=./x, `--port=9000` is OTPGATE_PORT=9000. A flag wins over the
 * variable. An unknown flag or a missing value is a ConfigError naming the flag.
 */
import { CONFIG_VARIABLES, ConfigError } from './config.ts';

const flagFor = (variable: string): string => `--${variable.slice('OTPGATE_'.length).toLowerCase().replaceAll('_', '-')}`;

const BY_FLAG = new Map<string, string>(CONFIG_VARIABLES.map((variable) => [flagFor(variable), variable]));

/** The OTPGATE_* values given as flags in `argv` (e.g. process.argv.slice(2)). */
export function flagsToEnv(argv: readonly string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const eq = arg.indexOf('=');
    const flag = eq === -1 ? arg : arg.slice(0, eq);
    const variable = BY_FLAG.get(flag);
    if (!variable) throw new ConfigError(flag || 'argument', `unknown flag; the flags are ${[...BY_FLAG.keys()].join(', ')}`);
    const value = eq === -1 ? argv[++i] : arg.slice(eq + 1);
    if (value === undefined || (eq === -1 && value.startsWith('--'))) throw new ConfigError(variable, `${flag} needs a value`);
    env[variable] = value;
  }
  return env;
}
