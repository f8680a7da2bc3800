import { householdInvites } from '../../db/schema/index.js';
import type { Tx } from '../../db/client.js';
import { hashCode, randomCode } from '../staff/codes.js';

/**
 * Issues a household invite code (入户邀请码) the community hands to a family; each member binds
 * with it, up to `maxUses`. Stored as a keyed hash like every other code (shown once, at issue).
 */
export async function issueHouseholdInvite(
  tx: Tx,
  opts: { householdId: number; maxUses?: number; expiresAt?: Date; key: string },
): Promise<{ code: string }> {
  const code = `H-${randomCode(2)}`;
  await tx.insert(householdInvites).values({
    codeHash: hashCode(code, opts.key),
    householdId: opts.householdId,
    maxUses: opts.maxUses ?? 6,
    expiresAt: opts.expiresAt ?? null,
  });
  return { code };
}
