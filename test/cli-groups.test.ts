import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCLI as run } from './support/cli.ts';



describe('otpgate user groups', () => {
  it('issue 13: adds and removes groups, refuses a bad name, and user list shows them', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'otpgate-cli-groups-'));
    const env = { OTPGATE_DATA_DIR: dir };
    try {
      assert.equal((await run(['user', 'add', 'ada'], env, 'lantern-harbour-73\n')).code, 0);
      const added = await run(['user', 'groups', 'ada', 'add', 'Admins'], env);
      assert.equal(added.code, 0, added.stderr);
      assert.equal(added.stdout.trim(), 'added ada to admins');
      assert.equal((await run(['user', 'groups', 'ada', 'add', 'staff'], env)).code, 0);
      assert.equal((await run(['user', 'groups', 'ada', 'add', 'staff'], env)).stdout.trim(), 'ada was already in staff');
      assert.equal((await run(['user', 'groups', 'ada'], env)).stdout.trim(), 'ada: admins,staff');
      const listed = await run(['user', 'list'], env);
      assert.match(listed.stdout, /\tgroups\n/);
      assert.match(listed.stdout, /\nada\t.*\tadmins,staff\n/);
      assert.equal((await run(['user', 'groups', 'ada', 'remove', 'staff'], env)).stdout.trim(), 'removed ada from staff');
      const bad = await run(['user', 'groups', 'ada', 'add', 'a,b'], env);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /not a group name/);
      assert.equal((await run(['user', 'groups', 'nobody', 'add', 'x'], env)).code, 1);
      assert.equal((await run(['user', 'groups', 'ada', 'rename', 'x'], env)).code, 2);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
