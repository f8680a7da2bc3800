import { sql, type SQL } from 'drizzle-orm';
import type { Queryable } from '../../db/client.js';
import { IDLE_FLOW, IDLE_STEP } from '../dialog/state.js';
import { MAX_CHOICES, type Choice, type Reply } from '../dialog/reply.js';
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
 * Nor do a message's choices replace those of a turn the person took after it was queued
 * (`dialog_states.updated_at` is the last turn's time; delivery never moves it). The person
 * answers the moment a message arrives, often before this runs: the turn's own choices, saved
 * with its state, are then the ones that count, and its reply reaches the chat after this
 * message in any case (one chat's rows go in id order). Recording here regardless once put the
 * question just answered back under the number keys of the next one.
 */
export async function recordChoicesShown(q: Queryable, row: { id: number; choices: readonly Choice[] | undefined }): Promise<boolean> {
  if (!row.choices?.length) return false;
  const shown = JSON.stringify([{ id: row.id, choices: row.choices }]);
  const [r] = (await q.execute(sql`
    with ${choicesShownCtes(sql`select * from jsonb_to_recordset(${shown}::jsonb) as s (id bigint, choices jsonb)`)}
    select (select count(*) from shown_updated) + (select count(*) from shown_added) as n`)) as unknown as { n: string | number }[];
  return Number(r!.n) > 0;
}

/**
 * `recordChoicesShown` for many delivered rows in one statement (the sent marks of a wave,
 * src/outbox/sent-marks.ts): CTEs over `rows` (the outbox row's id, choices jsonb; its chat,
 * priority and time are read from the row), with `shown_updated` and `shown_added` returning the
 * chats recorded. Rows without choices are
 * skipped; of one chat's rows only the newest counts. A chat with no dialog state yet gets one;
 * one whose state a turn creates at the same moment keeps the turn's (the turn is newer).
 */
export function choicesShownCtes(rows: SQL): SQL {
  // '-infinity': a row made by delivery records no turn.
  return sql`shown_rows as (
      select distinct on (o.identity_id) o.identity_id, r.choices, o.priority <> ${OUTBOX_PRIORITY.conversation} as broadcast, o.created_at
      from (${rows}) r join outbox o on o.id = r.id
      where jsonb_array_length(coalesce(r.choices, '[]'::jsonb)) > 0
      order by o.identity_id, r.id desc),
    shown_updated as (
      update dialog_states d set choices = s.choices from shown_rows s
      where d.identity_id = s.identity_id
        -- 应急 goes ahead of replies but is a broadcast all the same: it must not take a flow's numbers.
        and case when s.broadcast then d.flow = ${IDLE_FLOW} and d.step = ${IDLE_STEP} else d.updated_at <= s.created_at end
      returning d.identity_id),
    shown_added as (
      insert into dialog_states (identity_id, flow, step, choices, updated_at)
      select s.identity_id, ${IDLE_FLOW}, ${IDLE_STEP}, s.choices, '-infinity' from shown_rows s
      where not exists (select 1 from dialog_states d where d.identity_id = s.identity_id)
      on conflict (identity_id) do nothing
      returning identity_id)`;
}

/**
 * The reply as it goes out now. A broadcast whose choices are answered by number (WeChat's
 * 收到, `appendChoices`) has them added after the chat's current choices just before it is sent,
 * and numbered on from there: "3" still answers the menu or the flow's question, "9" the notice
 * (an action that leaves the person where they were). Recorded before the send, not after: the
 * person may answer the moment it arrives. With no room left (20 choices), or in a step that
 * asks for free text (where a bare number is an answer, not a choice), it goes as its plain
 * text, which asks for a typed 收到.
 */
export async function replyToSend(q: Queryable, row: { identityId: string; priority: number }, reply: Reply): Promise<{ reply: Reply; recorded: boolean }> {
  const { appendChoices, ...rest } = reply;
  if (!appendChoices || !rest.choices?.length) return { reply: rest, recorded: false };
  const added = JSON.stringify(rest.choices);
  // Sent again (a retry): the choices are there already and keep their numbers.
  const rows = await q.execute<{ choices: Choice[] }>(sql`
    insert into dialog_states (identity_id, flow, step, choices, updated_at)
    values (${row.identityId}, ${IDLE_FLOW}, ${IDLE_STEP}, ${added}::jsonb, '-infinity')
    on conflict (identity_id) do update
      set choices = case when dialog_states.choices @> ${added}::jsonb then dialog_states.choices else dialog_states.choices || ${added}::jsonb end
      where dialog_states.choices @> ${added}::jsonb
         or (jsonb_array_length(dialog_states.choices) + ${rest.choices.length} <= ${MAX_CHOICES}
             -- A step that asks for free text (hours, a room number) takes a bare number as text: no choices there.
             and (jsonb_array_length(dialog_states.choices) > 0 or (dialog_states.flow = ${IDLE_FLOW} and dialog_states.step = ${IDLE_STEP})))
    returning choices`);
  const shown = rows[0]?.choices;
  const first = shown?.findIndex((c) => c.id === rest.choices![0]!.id) ?? -1;
  if (first < 0) {
    const { choices: _noRoom, ...plain } = rest;
    return { reply: { ...plain, text: appendChoices.plainText }, recorded: true };
  }
  return { reply: { ...rest, numberFrom: first + 1 }, recorded: true };
}
