import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';

const ROOT = join(import.meta.dirname, '..');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const blocks = [...README.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');

describe('README', () => {
  it('shows the quick start and test commands', () => {
    for (const command of ['npm install', 'npm start', 'npm test', 'npm run bench']) assert.ok(README.includes(command), command);
  });

  it('has TypeScript examples to run', () => {
    assert.ok(blocks.length >= 1);
  });

  for (const [index, block] of blocks.entries()) {
    it(`example ${index + 1} runs and every line it prints is "true"`, () => {
      // The examples import the published names; here they resolve to the sources.
      const source = block.replaceAll("from 'otpgate/otp'", `from '${join(ROOT, 'src/otp/index.ts')}'`);
      const dir = mkdtempSync(join(tmpdir(), 'otpgate-readme-'));
      try {
        const file = join(dir, 'example.ts');
        writeFileSync(file, source);
        const run = spawnSync(process.execPath, [file], { encoding: 'utf8', timeout: 30_000 });
        assert.equal(run.status, 0, run.stderr);
        const lines = run.stdout.trim().split('\n');
        assert.ok(lines.length > 0 && lines[0] !== '', 'the example prints its checks');
        assert.deepEqual(lines, lines.map(() => 'true'), run.stdout);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
