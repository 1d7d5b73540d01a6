/**
 * `otpgate user groups NAME [add|remove GROUP]`: the groups the forward-auth gate sends
 * as Remote-Groups and matches `group:NAME` subjects against. Without an action it
 * prints the user's groups.
 */
import type { Auth, User } from '../auth/index.ts';
import { normalizeGroupName } from '../gate/rules.ts';

export type GroupsOutcome = { ok: true; line: string } | { ok: false; usage: string } | { ok: false; error: string };

export async function runGroups(auth: Auth, user: User, action: string | undefined, group: string | undefined): Promise<GroupsOutcome> {
  if (action === undefined) {
    const groups = await auth.listGroups(user.id);
    return { ok: true, line: `${user.username}: ${groups.length === 0 ? '(no groups)' : groups.join(',')}` };
  }
  if (action !== 'add' && action !== 'remove') return { ok: false, usage: `user groups: unknown action ${action} (add or remove)` };
  if (group === undefined) return { ok: false, usage: `user groups NAME ${action} needs a GROUP` };
  const name = normalizeGroupName(group);
  if (name === null) return { ok: false, error: `${JSON.stringify(group)} is not a group name: 1 to 64 letters, digits, . _ - (no commas), starting with a letter or digit` };
  if (action === 'add') {
    const added = await auth.addToGroup(user.id, name);
    return { ok: true, line: added ? `added ${user.username} to ${name}` : `${user.username} was already in ${name}` };
  }
  const removed = await auth.removeFromGroup(user.id, name);
  return { ok: true, line: removed ? `removed ${user.username} from ${name}` : `${user.username} was not in ${name}` };
}
