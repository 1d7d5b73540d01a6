// Packs otpgate as npm would publish it, installs the tarball into a scratch folder, and uses
// 'otpgate/otp' from plain JavaScript and from type-checked TypeScript.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('..', import.meta.url));
const tsc = join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
let scratch = '';

before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'otpgate-pack-'));
  // `prepack` builds dist/ with tsconfig.build.json first.
  await run('npm', ['pack', '--silent', '--pack-destination', scratch], { cwd: repo });
  const tarballs = (await readdir(scratch)).filter((name) => name.endsWith('.tgz'));
  assert.equal(tarballs.length, 1, 'npm pack made one tarball');
  await writeFile(join(scratch, 'package.json'), JSON.stringify({ name: 'scratch', private: true, type: 'module' }));
  const install = ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--omit=optional', '--no-package-lock', `./${tarballs[0]}`];
  try {
    // The dependencies are normally in npm's cache already: no network at all.
    await run('npm', [...install, '--offline'], { cwd: scratch });
  } catch {
    await run('npm', [...install, '--prefer-offline'], { cwd: scratch });
  }
});

after(async () => {
  if (scratch !== '') {
    await rm(scratch, { recursive: true, force: true });
  }
});

test('the packed otpgate/otp runs from plain JavaScript', { timeout: 120_000 }, async () => {
  await writeFile(
    join(scratch, 'check.mjs'),
    `import { createOTPKey, generateTOTP, verifyTOTP } from 'otpgate/otp';
const key = createOTPKey(new TextEncoder().encode('12345678901234567890'));
const options = { digits: 8 };
const code = generateTOTP(key, 59_000, options);
console.log(JSON.stringify({ code, step: verifyTOTP(key, code, 59_000, options) }));
`,
  );
  const { stdout } = await run(process.execPath, ['check.mjs'], { cwd: scratch });
  // RFC 6238 Appendix B: SHA-1 at t = 59 s.
  assert.deepEqual(JSON.parse(stdout), { code: '94287082', step: 1 });
});

test("the packed otpgate/otp's types check with strict nodenext TypeScript", { timeout: 120_000 }, async () => {
  await writeFile(
    join(scratch, 'check.ts'),
    `import { createOTPKey, generateTOTP, verifyTOTP } from 'otpgate/otp';
import type { OTPKey, TOTPOptions } from 'otpgate/otp';
const key: OTPKey = createOTPKey(new TextEncoder().encode('12345678901234567890'));
const options: TOTPOptions = { digits: 8, algorithm: 'SHA256' };
const code: string = generateTOTP(key, 59_000, options);
const step: number | null = verifyTOTP(key, code, 59_000, { ...options, window: 1 });
// @ts-expect-error the types are real, not any: digits is a number.
generateTOTP(key, 0, { digits: '6' });
console.log(step);
`,
  );
  await writeFile(
    join(scratch, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        noUncheckedIndexedAccess: true,
        verbatimModuleSyntax: true,
        module: 'nodenext',
        moduleResolution: 'nodenext',
        target: 'es2024',
        lib: ['es2024'],
        types: ['node'],
        typeRoots: [join(repo, 'node_modules', '@types')],
        // Check the shipped .d.ts files too.
        skipLibCheck: false,
        noEmit: true,
      },
      files: ['check.ts'],
    }),
  );
  let errors = '';
  try {
    await run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: scratch });
  } catch (error) {
    errors = (error as { stdout?: string }).stdout || String(error);
  }
  assert.equal(errors, '', 'tsc reported no errors');
});
