import { createHmac, randomInt } from 'node:crypto';
import { staffCodes } from '../../db/schema/index.js';
import type { Tx } from '../../db/client.js';

/** Letters that can't be confused when read aloud or typed on a phone (no 0/O, 1/I/L). */
const ALPHABET = '23456789ABCDEFGHJKMNPQRSTUVWXYZ';

/** A random code such as `7KQ4-M9XD`; `groups` blocks of 4. */
export function randomCode(groups = 2): string {
  const blocks: string[] = [];
  for (let g = 0; g < groups; g++) {
    let b = '';
    for (let i = 0; i < 4; i++) b += ALPHABET[randomInt(ALPHABET.length)];
    blocks.push(b);
  }
  return blocks.join('-');
}

/** Normalises what a person typed: case, spaces and dashes don't matter. */
export function normaliseCode(input: string): string {
  return input.toUpperCase().replace(/[\s-]/g, '');
}

/**
 * Only a keyed hash (HMAC-SHA256 under the server's code key, see src/secrets.ts) of a staff,
 * invite, link or follow code is stored: a database leak alone neither hands out access nor lets
 * anyone test guesses offline, which a bare SHA-256 of a 2^40 space would.
 */
export function hashCode(code: string, key: string): string {
  return createHmac('sha256', key).update(normaliseCode(code)).digest('hex');
}

export type StaffRole = (typeof staffCodes.$inferInsert)['role'];
export type SubCommittee = NonNullable<(typeof staffCodes.$inferInsert)['subCommittee']>;

/** Issues a one-time staff binding code; returns the plain code (shown once, never stored). */
export async function issueStaffCode(
  tx: Tx,
  opts: { role: StaffRole; orgUnitId: number; subCommittee?: SubCommittee; ttlDays: number; now?: Date; key: string },
): Promise<{ code: string; expiresAt: Date }> {
  const code = `S-${randomCode(2)}`;
  const now = opts.now ?? new Date();
  const expiresAt = new Date(now.getTime() + opts.ttlDays * 86_400_000);
  await tx.insert(staffCodes).values({
    codeHash: hashCode(code, opts.key),
    role: opts.role,
    orgUnitId: opts.orgUnitId,
    subCommittee: opts.subCommittee ?? null,
    expiresAt,
  });
  return { code, expiresAt };
}
