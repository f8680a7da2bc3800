import { and, eq, gt, isNull } from 'drizzle-orm';
import { staffAssignments, staffCodes } from '../../db/schema/index.js';
import type { Tx } from '../../db/client.js';
import type { Flow, FlowContext, StepOutcome } from '../dialog/flow.js';
import { getUnit, placeName } from '../org/tree.js';
import { codeKey } from '../secrets.js';
import { hashCode, type StaffRole, type SubCommittee } from './codes.js';

export class StaffCodeInvalid extends Error {}

/**
 * Consumes a one-time staff code and records the assignment. The guarded UPDATE … WHERE used_at
 * IS NULL makes the code single-use even when two people type it at the same moment.
 */
export async function bindStaff(
  tx: Tx,
  personId: string,
  typed: string,
  key: string,
  now = new Date(),
): Promise<{ assignmentId: number; role: StaffRole; orgUnitId: number; subCommittee: SubCommittee | null }> {
  const [code] = await tx
    .update(staffCodes)
    .set({ usedAt: now, usedBy: personId })
    .where(and(eq(staffCodes.codeHash, hashCode(typed, key)), isNull(staffCodes.usedAt), gt(staffCodes.expiresAt, now)))
    .returning();
  if (!code) throw new StaffCodeInvalid();
  const [assignment] = await tx
    .insert(staffAssignments)
    .values({ personId, role: code.role, orgUnitId: code.orgUnitId, subCommittee: code.subCommittee })
    .onConflictDoUpdate({
      target: [staffAssignments.personId, staffAssignments.role, staffAssignments.orgUnitId],
      set: { active: true, subCommittee: code.subCommittee },
    })
    .returning({ id: staffAssignments.id });
  return { assignmentId: assignment!.id, role: code.role, orgUnitId: code.orgUnitId, subCommittee: code.subCommittee };
}

async function attempt(ctx: FlowContext, typed: string, onBound: StaffBoundHook | undefined): Promise<StepOutcome> {
  const t = ctx.t.staff;
  if (await ctx.attempts.blocked('staff')) {
    ctx.reply({ text: t.tooManyAttempts });
    return { done: true, silent: true };
  }
  try {
    const bound = await bindStaff(ctx.tx, ctx.person.id, typed, codeKey(ctx.config), ctx.now);
    ctx.person.staff.push({ id: bound.assignmentId, role: bound.role, orgUnitId: bound.orgUnitId, subCommittee: bound.subCommittee, onLeave: false });
    await ctx.audit('staff.bind', 'staff_assignment', String(bound.assignmentId), { role: bound.role, orgUnitId: bound.orgUnitId });
    ctx.reply({ text: t.bound({ role: t[`role_${bound.role}`], area: await placeName(ctx.tx, bound.orgUnitId) }) });
    await onBound?.(ctx, { personId: ctx.person.id, role: bound.role, orgUnitId: bound.orgUnitId, subCommittee: bound.subCommittee });
    return { done: true };
  } catch (err) {
    if (!(err instanceof StaffCodeInvalid)) throw err;
    await ctx.attempts.failed('staff');
    await ctx.audit('staff.bind_failed', 'person', ctx.person.id);
    ctx.reply({ text: t.codeInvalid });
    return { next: 'code' };
  }
}

/** What else happens when someone binds (the cases waiting for them reach them, see src/cases/coverage.ts). */
export type StaffBoundHook = (ctx: FlowContext, bound: { personId: string; role: StaffRole; orgUnitId: number; subCommittee: SubCommittee | null }) => Promise<void>;

/**
 * 工作人员绑定: `/staff S-XXXX-XXXX`, or `/staff` then the code. Works as the very first message in
 * a chat (the engine lets it through before onboarding).
 */
export function createStaffBindingFlow(opts: { onBound?: StaffBoundHook } = {}): Flow {
  return {
    name: 'staff',
    commands: { words: ['/staff', '员工绑定', '工作人员绑定', '직원 등록', 'staff'], takesArgument: true },
    async start(ctx, args) {
      const argument = typeof args?.argument === 'string' ? args.argument : '';
      if (argument) return attempt(ctx, argument, opts.onBound);
      ctx.reply({ text: ctx.t.staff.askCode });
      return { next: 'code' };
    },
    steps: {
      async code(ctx, input) {
        if (input.kind !== 'text') {
          ctx.reply({ text: ctx.t.staff.askCode });
          return { next: 'code' };
        }
        return attempt(ctx, input.text, opts.onBound);
      },
    },
  };
}

export const staffBindingFlow: Flow = createStaffBindingFlow();
