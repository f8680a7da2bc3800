import { sql } from 'drizzle-orm';
import type { Queryable } from '../../db/client.js';
import { IDLE_FLOW, IDLE_STEP } from '../dialog/state.js';
import type { Choice } from '../dialog/reply.js';
import { OUTBOX_PRIORITY } from './outbox.js';

/**
 * "Last choices shown" (what a bare "1" answers on WeChat) are recorded when a message with
 * choices is DELIVERED, not when it is queued: a card queued behind a broadcast, or held until
 * quiet hours end, must not take over the number keys before the person has seen it.
 *
 * A broadcast's choices never capture input meant for a flow the person is in the middle of:
 * they are recorded only while the chat is idle (main menu). Its buttons still work by tapping
 * (their ids are global actions); only the bare number stays with the flow.
 *
 * The conversation's own replies are also recorded by the dialog engine with the turn (the step
 * state and its choices commit together); recording them again on delivery is the same list.
 */
export async function recordChoicesShown(q: Queryable, row: { identityId: string; priority: number; choices: readonly Choice[] | undefined }): Promise<void> {
  if (!row.choices?.length) return;
  const choices = JSON.stringify(row.choices);
  const broadcast = row.priority >= OUTBOX_PRIORITY.broadcast;
  await q.execute(sql`
    insert into dialog_states (identity_id, flow, step, choices)
    values (${row.identityId}, ${IDLE_FLOW}, ${IDLE_STEP}, ${choices}::jsonb)
    on conflict (identity_id) do update set choices = excluded.choices, updated_at = now()
      where ${!broadcast} or (dialog_states.flow = ${IDLE_FLOW} and dialog_states.step = ${IDLE_STEP})`);
}
