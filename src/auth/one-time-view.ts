/**
 * Secrets shown once by a GET after the POST that made them (Post/Redirect/Get): the
 * authenticator's key and new recovery codes. The POST keeps them sealed (AES-256-GCM
 * under the keyring, I10) behind a single-use handle bound to its session; the GET spends
 * the handle. Back and Reload then re-send nothing, and a second view shows nothing secret.
 * Any instance sharing the Store can answer the GET.
 */
import type { Session } from './ports.ts';
import type { AuthContext } from './context.ts';
import { open, seal } from './keyring.ts';
import { generateToken, hashToken } from './tokens.ts';

/** What may be kept for one view. */
export type OneTimeSecret =
  | { kind: 'totp_setup'; factorId: string; secret: string; otpauthURI: string }
  | { kind: 'recovery_codes'; codes: string[]; generatedAt: number; firstFactor: boolean };

export type OneTimeSecretKind = OneTimeSecret['kind'];

/** Long enough to follow a redirect and scan a code; short, as the secret waits at rest. */
export const ONE_TIME_VIEW_TTL_MS = 10 * 60_000;

function sealContext(handleHash: string, sessionId: string, kind: string): string {
  return `one-time-view\0${handleHash}\0${sessionId}\0${kind}`;
}

/** Keeps `secret` for one view by this session; returns the handle (256 bits) for the client. */
export async function holdForOneView(ctx: AuthContext, session: Session, secret: OneTimeSecret): Promise<string> {
  const handle = generateToken();
  const handleHash = hashToken(handle);
  const sealed = seal(ctx.keyring, Buffer.from(JSON.stringify(secret), 'utf8'), sealContext(handleHash, session.id, secret.kind));
  await ctx.store.putOneTimeView({
    handleHash,
    userId: session.userId,
    sessionId: session.id,
    kind: secret.kind,
    sealed: sealed.sealed,
    keyId: sealed.keyId,
    expiresAt: ctx.now() + ONE_TIME_VIEW_TTL_MS,
  });
  return handle;
}

/**
 * The secret behind `handle`, once: null for an unknown, spent or expired handle, one made
 * for another session, or one of another kind (none of which spends it).
 */
export async function takeOneView<K extends OneTimeSecretKind>(ctx: AuthContext, session: Session, handle: string, kind: K): Promise<Extract<OneTimeSecret, { kind: K }> | null> {
  if (typeof handle !== 'string' || handle.length !== 43) return null;
  const handleHash = hashToken(handle);
  const view = await ctx.store.takeOneTimeView(handleHash, session.id, kind, ctx.now());
  if (!view || view.userId !== session.userId) return null;
  let secret: OneTimeSecret;
  try {
    secret = JSON.parse(open(ctx.keyring, view.keyId, view.sealed, sealContext(handleHash, session.id, kind)).toString('utf8')) as OneTimeSecret;
  } catch {
    return null; // sealed under a key no longer configured: show nothing rather than fail
  }
  return secret.kind === kind ? (secret as Extract<OneTimeSecret, { kind: K }>) : null;
}
