/**
 * `otpgate` — the operator's command line, against the same configuration (env
 * variables) and store as the server:
 *
 *   otpgate user add NAME [--email ADDRESS] [--phone +NUMBER]   (password prompted, or read from stdin)
 *   otpgate user list
 *   otpgate user disable|enable|unlock|reset-2fa NAME
 *   otpgate user groups NAME [add|remove GROUP]                  (the forward-auth gate's groups)
 *   otpgate audit [--user NAME] [--limit N]
 *   otpgate keys check
 */
import { parseArgs } from 'node:util';
import type { Auth, StoredAuditEvent, User } from '../auth/index.ts';
import { openRuntime } from '../runtime.ts';
import { readPassword } from './prompt.ts';
import { escapeControls, normalizeUsername } from '../auth/normalize.ts';
import { runGroups } from './groups.ts';

const USAGE = `Usage:
  otpgate user add NAME [--email ADDRESS] [--phone +NUMBER]
  otpgate user list
  otpgate user disable NAME | enable NAME | unlock NAME | reset-2fa NAME
  otpgate user groups NAME [add|remove GROUP]
  otpgate audit [--user NAME] [--limit N]
  otpgate keys check

The password for 'user add' is asked without echo, or read from the first line of stdin.
Configuration comes from the same OTPGATE_* variables as the server.`;

class UsageError extends Error {}

interface Output {
  out: (line: string) => void;
  err: (line: string) => void;
}

// Every line reaches the operator's terminal through escapeControls: names, addresses and
// user agents may hold escape sequences (rows written before they were refused, or crafted).
const TERMINAL: Output = { out: (l) => console.log(escapeLines(l)), err: (l) => console.error(escapeLines(l)) };

function escapeLines(text: string): string {
  return text.split('\n').map((line) => line.split('\t').map(escapeControls).join('\t')).join('\n');
}

export async function runCLI(argv: string[], io: Output = TERMINAL): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      email: { type: 'string' },
      phone: { type: 'string' },
      user: { type: 'string' },
      limit: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [group, action, name, groupAction, groupName] = positionals;
  if (values.help || !group) {
    io.out(USAGE);
    return values.help ? 0 : 2;
  }
  const runtime = await openRuntime({
    quiet: true,
    // Only the failure's own message: never the password, its hash or the lookup's address.
    onBreachCheckError: (error) => io.err(`otpgate: warning: the breached-password check failed (${error instanceof Error ? error.message : 'unknown error'}); the password was checked against the bundled list only`),
  });
  try {
    const { auth } = runtime;
    if (group === 'user' && action === 'list') {
      await listUsers(auth, io);
      return 0;
    }
    if (group === 'user' && action === 'add') {
      if (!name) throw new UsageError('user add needs a NAME');
      const password = await readPassword('Password: ');
      const created = await auth.createAccount({ username: name, password, email: values.email ?? null, phone: values.phone ?? null });
      if (created.status !== 'ok') {
        io.err(`otpgate: ${created.status === 'username_taken' ? 'that username is taken' : created.message}`);
        return 1;
      }
      io.out(`created ${created.user.username} (${created.user.id}); at first sign-in they ${created.user.email ? 'get a code by email' : 'enroll an authenticator'}`);
      return 0;
    }
    if (group === 'user' && action && ['disable', 'enable', 'unlock', 'reset-2fa'].includes(action)) {
      if (!name) throw new UsageError(`user ${action} needs a NAME`);
      const user = await findUser(auth, name);
      if (!user) {
        io.err(`otpgate: no user named ${name}`);
        return 1;
      }
      if (action === 'disable') io.out(`disabled ${user.username}; ${await auth.disableAccount(user.id)} session(s) ended`);
      if (action === 'enable') {
        await auth.enableAccount(user.id);
        io.out(`enabled ${user.username}`);
      }
      if (action === 'unlock') {
        await auth.unlockAccount(user);
        io.out(`unlocked ${user.username}: failure counts, the second-factor lock and the password lock for new browsers cleared`);
      }
      if (action === 'reset-2fa') {
        await auth.resetSecondFactors(user);
        io.out(`reset ${user.username}: authenticators, recovery codes, phone and known browsers removed; sessions ended; ${user.email !== null && user.emailVerifiedAt !== null ? "the next sign-in sends a code to their email address" : "the next sign-in enrolls again"}`);
      }
      return 0;
    }
    if (group === 'keys' && action === 'check') return await checkKeys(auth, io);
    if (group === 'user' && action === 'groups') {
      if (!name) throw new UsageError('user groups needs a NAME');
      const user = await findUser(auth, name);
      if (!user) {
        io.err(`otpgate: no user named ${name}`);
        return 1;
      }
      const outcome = await runGroups(auth, user, groupAction, groupName);
      if (outcome.ok) {
        io.out(outcome.line);
        return 0;
      }
      if ('usage' in outcome) throw new UsageError(outcome.usage);
      io.err(`otpgate: ${outcome.error}`);
      return 1;
    }
    if (group === 'audit') {
      const limit = values.limit ? Number(values.limit) : 50;
      if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw new UsageError('--limit must be a whole number from 1 to 10000');
      let userId: string | undefined;
      if (values.user) {
        const user = await findUser(auth, values.user);
        if (!user) {
          io.err(`otpgate: no user named ${values.user}`);
          return 1;
        }
        userId = user.id;
      }
      const events = await auth.listAudit(userId ? { userId, limit } : { limit });
      for (const event of events) io.out(formatEvent(event));
      return 0;
    }
    throw new UsageError(`unknown command: ${positionals.join(' ')}`);
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`otpgate: ${error.message}\n\n${USAGE}`);
      return 2;
    }
    throw error;
  } finally {
    await runtime.close();
  }
}

/**
 * One line per secret-key id: what it still seals or keys and whether it is configured.
 * Exit 1 when a record depends on a key that is not configured (those sign-ins answer 503).
 */
async function checkKeys(auth: Auth, io: Output): Promise<number> {
  const reports = await auth.checkKeys();
  io.out(['key id', 'status', 'totp secrets', 'recovery codes'].join('\t'));
  for (const r of reports) io.out([r.keyId ?? '(unrecorded)', r.status, String(r.totpSecrets), String(r.recoveryCodes)].join('\t'));
  const missing = reports.filter((r) => r.status === 'missing' && r.totpSecrets + r.recoveryCodes > 0);
  for (const r of missing) io.err(`otpgate: key ${r.keyId ?? ''} is not configured: add it to OTPGATE_PREVIOUS_SECRET_KEYS, or those accounts cannot sign in`);
  for (const r of reports.filter((p) => p.status === 'previous')) {
    io.out(r.totpSecrets + r.recoveryCodes === 0
      ? `previous key ${r.keyId ?? ''} seals nothing any more: it may be removed from OTPGATE_PREVIOUS_SECRET_KEYS`
      : `previous key ${r.keyId ?? ''} is still needed: TOTP secrets move to the current key at their next use; recovery codes keep it until used or regenerated`);
  }
  return missing.length > 0 ? 1 : 0;
}

async function findUser(auth: Auth, name: string): Promise<User | null> {
  const n = normalizeUsername(name, { forLookup: true });
  return n.ok ? auth.context.store.getUserByUsername(n.value) : null;
}

async function listUsers(auth: Auth, io: Output): Promise<void> {
  const users = await auth.context.store.listUsers();
  io.out(['username', 'email', 'phone', 'authenticators', 'status', 'created', 'groups'].join('\t'));
  for (const u of users) {
    const totp = (await auth.context.store.listTOTPFactors(u.id)).filter((f) => f.confirmedAt !== null).length;
    const phone = u.phone ? `${u.phone}${u.phoneVerifiedAt ? '' : ' (unverified)'}` : '-';
    const groups = await auth.listGroups(u.id);
    io.out([escapeControls(u.username), escapeControls(u.email ?? '-'), escapeControls(phone), String(totp), u.disabled ? 'disabled' : 'active', new Date(u.createdAt).toISOString(), groups.length === 0 ? '-' : escapeControls(groups.join(','))].join('\t'));
  }
}

/** One line per event; values are JSON-encoded and escaped so a crafted user agent can neither forge lines nor drive the terminal. */
function formatEvent(e: StoredAuditEvent): string {
  const parts = [new Date(e.at).toISOString(), e.type, `user=${e.userId ?? '-'}`];
  if (e.method) parts.push(`method=${e.method}`);
  if (e.ip) parts.push(`ip=${JSON.stringify(e.ip)}`);
  if (e.userAgent) parts.push(`agent=${JSON.stringify(e.userAgent)}`);
  if (e.detail) parts.push(JSON.stringify(e.detail));
  // A counted refusal: `count` events of this kind from here in one window, the last at `last`.
  if ((e.count ?? 1) > 1) parts.push(`count=${e.count ?? 1}`, `last=${new Date(e.lastAt ?? e.at).toISOString()}`);
  return escapeControls(parts.join(' '));
}
