/**
 * Found by an outside review of the gate: a doubled slash or an encoded one reached a
 * path that a deny or group rule guards, since the rules saw "//admin" while the app
 * behind the proxy served "/admin". A path the rules and an app could read two ways is
 * refused (400) instead of matched.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { gateApp, nginxAsks, signedIn, traefikAsks } from '../support/gate-app.ts';

const TWO_WAY_PATHS = ['//admin', '//admin/x', '/%2fadmin', '/%2Fadmin/', '/x/..//admin', '/%5cadmin', '/admin;x', '/public/..;/admin', '/adm%00in'];

describe('gate paths read two ways', () => {
  it('finding (gate review): a doubled, encoded or parameterised slash never reaches a path a rule denies', async () => {
    const t = await gateApp();
    // Fully signed in, and not in the admins group.
    const c = await signedIn(t, 'mallory');
    const nginx = (path: string) => nginxAsks(c, `https://app.example.test${path}`);
    const traefik = (path: string) => traefikAsks(c, 'app.example.test', path);
    // The control: the plain path is denied, an ordinary one passes.
    assert.equal((await nginx('/admin')).statusCode, 403);
    assert.equal((await nginx('/reports')).statusCode, 200);
    for (const path of TWO_WAY_PATHS) {
      const viaNginx = await nginx(path);
      const viaTraefik = await traefik(path);
      assert.ok(viaNginx.statusCode === 400 || viaNginx.statusCode === 403, `auth-request ${path}: ${viaNginx.statusCode}`);
      assert.ok(viaTraefik.statusCode === 400 || viaTraefik.statusCode === 403, `forward-auth ${path}: ${viaTraefik.statusCode}`);
      assert.equal(viaNginx.headers['remote-user'] ?? '', '', path);
    }
  });
});
