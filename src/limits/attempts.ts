import type { LimitSpec, LimitStore } from './store.js';

/** The codes a person can type: 工作人员 staff codes, 入户邀请码 invites, link codes, desk follow codes. */
export type CodeKind = 'staff' | 'invite' | 'link' | 'follow';

/**
 * Wrong codes allowed per hour, counted three ways so that no fresh start resets them: per person,
 * per client (the web chat's network address, a platform account elsewhere — a new session or
 * "delete my data" is a new person but the same client), and per kind of code across everyone
 * (the code prefix S-/H-/L-/F-), which caps a guesser spread over many clients. At 200 a kind an
 * hour, a code of 2^40 would take millions of years to hit; the price is that a flood of wrong
 * codes makes everyone wait the hour out.
 */
export const WRONG_CODE_LIMITS: Record<'person' | 'client' | 'kind', LimitSpec> = {
  person: { points: 5, durationSec: 3600 },
  client: { points: 10, durationSec: 3600 },
  kind: { points: 200, durationSec: 3600 },
};

/** What a flow asks before it checks a typed code, and tells after a wrong one. */
export interface CodeAttempts {
  blocked(kind: CodeKind): Promise<boolean>;
  failed(kind: CodeKind): Promise<void>;
}

export function createCodeAttempts(store: LimitStore) {
  const person = store.limiter('code-person', WRONG_CODE_LIMITS.person);
  const client = store.limiter('code-client', WRONG_CODE_LIMITS.client);
  const kind = store.limiter('code-kind', WRONG_CODE_LIMITS.kind);
  return (who: { personId: string; clientKey: string }): CodeAttempts => {
    const keys = (k: CodeKind) => [
      [person, `${k}:${who.personId}`],
      [client, `${k}:${who.clientKey}`],
      [kind, k],
    ] as const;
    return {
      async blocked(k) {
        const over = await Promise.all(keys(k).map(([limiter, key]) => limiter.exhausted(key)));
        return over.some(Boolean);
      },
      async failed(k) {
        await Promise.all(keys(k).map(([limiter, key]) => limiter.take(key)));
      },
    };
  };
}
