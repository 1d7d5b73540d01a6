/**
 * Breached-password check by k-anonymity range query (the Pwned Passwords API and its
 * self-hosted mirrors): only the first 5 hex characters of the password's SHA-1 leave
 * the server; the answer lists the suffixes of every breached password with that prefix,
 * padded with zero-count decoys. SP 800-63B rev 4 §3.1.1.2 and ASVS 6.2.12.
 */
import { createHash } from 'node:crypto';

/** True: breached; false: not in the corpus; null: the service could not answer. */
export type BreachCheck = (password: string) => Promise<boolean | null>;

export interface RangeBreachCheckOptions {
  /** Give up after this long (default 3000 ms); the check then answers null. */
  timeoutMs?: number;
  /**
   * Told of a failed lookup, as a sanitised one-line Error: the service's host and what
   * failed, never the URL's userinfo, path or query (the path ends in the SHA-1 prefix).
   */
  onError?: (error: Error) => void;
}

/** `baseURL` is the range endpoint; the 5-character prefix is appended (`…/range/ABCDE`). */
export function createRangeBreachCheck(baseURL: URL, options: RangeBreachCheckOptions = {}): BreachCheck {
  const timeoutMs = options.timeoutMs ?? 3000;
  const base = baseURL.href.endsWith('/') ? baseURL.href : `${baseURL.href}/`;
  return async (password) => {
    const digest = createHash('sha1').update(password, 'utf8').digest('hex').toUpperCase();
    const prefix = digest.slice(0, 5);
    const suffix = digest.slice(5);
    try {
      const response = await fetch(`${base}${prefix}`, {
        headers: { 'add-padding': 'true', 'user-agent': 'otpgate' },
        signal: AbortSignal.timeout(timeoutMs),
        redirect: 'error',
      });
      if (!response.ok) throw new BreachServiceError(`breach check answered ${response.status}`);
      const body = await response.text();
      for (const line of body.split('\n')) {
        const [candidate, count] = line.trim().split(':');
        if (candidate?.toUpperCase() === suffix) return Number(count) > 0;
      }
      return false;
    } catch (error) {
      options.onError?.(lookupFailure(baseURL, error));
      return null;
    }
  };
}

/** What a failed lookup is logged as: fetch errors quote the URL, so only facts are kept. */
function lookupFailure(baseURL: URL, error: unknown): Error {
  const where = `(${baseURL.host})`;
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return new Error(`breach check: no answer in time ${where}`);
  }
  if (error instanceof BreachServiceError) return new Error(error.message);
  const cause = error instanceof Error ? error.cause : undefined;
  const code = [cause, error].map((e) => (typeof e === 'object' && e !== null && 'code' in e ? e.code : undefined)).find((c) => typeof c === 'string' && /^[A-Z0-9_]{2,64}$/.test(c));
  if (typeof code === 'string') return new Error(`breach check: request failed: ${code} ${where}`);
  if (error instanceof Error && /credentials/i.test(error.message)) return new Error(`breach check: the URL holds a user name or password ${where}`);
  return new Error(`breach check: request failed ${where}`);
}

class BreachServiceError extends Error {}
