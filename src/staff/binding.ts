import { and, eq, gt, isNull } from 'drizzle-orm';
import { staffAssignments, staffCodes } from '../../db/schema/index.js';
import type { Tx } from '../../db/client.js';
import type { Flow, FlowContext, StepOutcome } from '../dialog/flow.js';
import { auditCountLastHour } from '../audit/audit.js';
import { placeName } from '../org/tree.js';
import { hashStaffCode, type StaffRole, type SubCommittee } from './codes.js';

/** Wrong codes allowed per person per hour before we ask them to wait (guessing is pointless anyway). */
export const MAX_FAILED_ATTEMPTS_PER_HOUR = 5;

export class StaffCodeInvalid extends Error {}

/**
 * Consumes a one-time staff code and records the assignment. The guarded UPDATE … WHERE used_at
 * IS NULL makes the code single-use even when two people type it at the same moment.
 */
export async function bindStaff(
  tx: Tx,
  personId: string,
  typed: string,
  now = new Date(),
): Promise<{ assignmentId: number; role: StaffRole; orgUnitId: number; subCommittee: SubCommittee | null }> {
  const [code] = await tx
    .update(staffCodes)
    .set({ usedAt: now, usedBy: personId })
    .where(and(eq(staffCodes.codeHash, hashStaffCode(typed)), isNull(staffCodes.usedAt), gt(staffCodes.expiresAt, now)))
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
  if ((await auditCountLastHour(ctx.tx, { action: 'staff.bind_failed', actorId: ctx.person.id, now: ctx.now })) >= MAX_FAILED_ATTEMPTS_PER_HOUR) {
    ctx.reply({ text: t.tooManyAttempts });
    return { done: true, silent: true };
  }
  try {
    const bound = await bindStaff(ctx.tx, ctx.person.id, typed, ctx.now);
    ctx.person.staff.push({ id: bound.assignmentId, role: bound.role, orgUnitId: bound.orgUnitId, subCommittee: bound.subCommittee, onLeave: false });
    await ctx.audit('staff.bind', 'staff_assignment', String(bound.assignmentId), { role: bound.role, orgUnitId: bound.orgUnitId });
    ctx.reply({ text: t.bound({ role: t[`role_${bound.role}`], area: await placeName(ctx.tx, bound.orgUnitId) }) });
    await onBound?.(ctx, { personId: ctx.person.id, role: bound.role, orgUnitId: bound.orgUnitId, subCommittee: bound.subCommittee });
    return { done: true };
  } catch (err) {
    if (!(err instanceof StaffCodeInvalid)) throw err;
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
