import { sql } from 'drizzle-orm';
import type { Queryable } from '../../db/client.js';
import { IDLE_FLOW, IDLE_STEP } from '../dialog/state.js';
import type { Choice, Reply } from '../dialog/reply.js';
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
export async function recordChoicesShown(q: Queryable, row: { identityId: string; priority: number; choices: readonly Choice[] | undefined }): Promise<boolean> {
  if (!row.choices?.length) return false;
  const choices = JSON.stringify(row.choices);
  // 应急 goes ahead of replies but is a broadcast all the same: it must not take a flow's numbers.
  const broadcast = row.priority !== OUTBOX_PRIORITY.conversation;
  const recorded = await q.execute(sql`
    insert into dialog_states (identity_id, flow, step, choices)
    values (${row.identityId}, ${IDLE_FLOW}, ${IDLE_STEP}, ${choices}::jsonb)
    on conflict (identity_id) do update set choices = excluded.choices, updated_at = now()
      where ${!broadcast} or (dialog_states.flow = ${IDLE_FLOW} and dialog_states.step = ${IDLE_STEP})
    returning 1`);
  return recorded.length > 0;
}

/**
 * The reply as it goes out now. A broadcast with a `busyText` (its choices answered by number)
 * takes the number keys before it is sent, and only if the chat is idle; a chat in the middle of
 * a flow gets the busy text without choices. Recorded before the send, not after: the person may
 * answer "1" the moment it arrives.
 */
export async function replyToSend(q: Queryable, row: { identityId: string; priority: number }, reply: Reply): Promise<{ reply: Reply; recorded: boolean }> {
  const { busyText, ...rest } = reply;
  if (busyText === undefined || !rest.choices?.length) return { reply: rest, recorded: false };
  if (await recordChoicesShown(q, { ...row, choices: rest.choices })) return { reply: rest, recorded: true };
  const { choices: _shownOnlyWhenIdle, ...plain } = rest;
  return { reply: { ...plain, text: busyText }, recorded: true };
}
