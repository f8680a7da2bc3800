import { and, eq, sql, type SQL } from 'drizzle-orm';
import { auditLog, channelIdentities, dialogStates, inboundMessages } from '../../db/schema/index.js';
import type { Database, Tx } from '../../db/client.js';
import type { UnitOfWork } from '../work/unit.js';
import type { Config, Locale } from '../config.js';
import { messages, type Messages } from '../i18n/index.js';
import { lazyChild, type Logger } from '../log.js';
import { chatLockCte, outboxInsert, outboxInsertSent, queuedFrom, type DeliveryQueue, type OutboxItem, type QueuedMessage } from '../outbox/outbox.js';
import { flushUnit, openUnit, type AfterCommitSink } from '../work/unit.js';
import { inboundEventSchema, type Channel, type InboundEvent } from './events.js';
import type { Flow, FlowContext, PersonView, Say } from './flow.js';
import { createCodeAttempts } from '../limits/attempts.js';
import { createLimitStore, type LimitStore } from '../limits/store.js';
import { interpret } from './input.js';
import { runTurn } from './turn.js';
import { checkMenu } from './menu.js';
import { openTurn, toRow, toState, upsertIdentity } from './state.js';

export { loadPerson } from './state.js';

export type HandleResult = 'handled' | 'duplicate' | 'invalid';

/** Thrown inside a turn's transaction for a message seen before, so that it rolls back. */
const DUPLICATE = Symbol('duplicate inbound message');

export interface DialogDeps {
  database: Database;
  /** Where committed work goes (jobs/producer.ts `sink`): deliveries, timer wake-ups, jobs. */
  sink?: AfterCommitSink;
  /** Only deliveries (tests without jobs); `sink` wins when both are given. */
  delivery?: DeliveryQueue;
  config: Config;
  logger: Logger;
  flows: Flow[];
  /** Shared rate-limit counters (default: the `rate_limits` table of `database`). */
  limits?: LimitStore;
  /** Where a person who is not yet onboarded is sent (default `onboarding`). */
  entryFlow?: string;
  /** Default: the person has a current consent, or is staff (bound with a one-time code). */
  isOnboarded?: (person: PersonView) => boolean;
  /**
   * Flows a person may use before onboarding is finished, besides the entry flow: switching
   * language, seeing or deleting their data, and joining an account they already have on
   * another channel, and binding as staff — `/staff CODE` may be the very first message
   * (default `language`, `privacy`, `link`, `staff`).
   */
  openBeforeOnboarding?: string[];
  /**
   * Channels whose delivery is the committed outbox row itself (the web chat: its browser reads
   * the chat's sent rows), delivered in this process: a turn's replies to them are written
   * already sent, and `sink.deliver` gets them flagged `sent` (only the chat's poll to wake).
   * Read on every turn, so the composition root may fill it once the channel is wired.
   */
  sentOnCommit?: ReadonlySet<Channel>;
}

/**
 * The channel-agnostic dialog engine: one inbound event → one transaction that records the event
 * (the duplicate guard), runs the person's current flow step and writes the replies to the
 * outbox; delivery is enqueued after commit.
 *
 * `handle` resolves 'handled' even when a flow fails (the person gets an apology); it rejects
 * only when the database cannot record the message at all, so the adapter may let the platform
 * retry.
 */
export function createDialog(deps: DialogDeps) {
  const entryFlow = deps.entryFlow ?? 'onboarding';
  const attemptsOf = createCodeAttempts(deps.limits ?? createLimitStore({ database: deps.database, prefix: deps.config.queue.prefix, logger: deps.logger }));
  const rules = {
    entryFlow,
    isOnboarded: deps.isOnboarded ?? ((p: PersonView) => p.consented || p.staff.length > 0),
    open: new Set([entryFlow, ...(deps.openBeforeOnboarding ?? ['language', 'privacy', 'link', 'staff'])]),
    flows: new Map<string, Flow>(),
    actions: new Map<string, Flow>(),
    menu: deps.flows.flatMap((f) => (f.menu ?? []).map((m) => ({ ...m, flow: f.name }))),
  };
  checkMenu(rules.menu);
  for (const f of deps.flows) {
    if (rules.flows.has(f.name)) throw new Error(`two flows are named ${f.name}`);
    rules.flows.set(f.name, f);
    for (const prefix of Object.keys(f.actions ?? {})) {
      if (rules.actions.has(prefix)) throw new Error(`action prefix ${prefix} is claimed twice`);
      rules.actions.set(prefix, f);
    }
  }

  const sink: AfterCommitSink = deps.sink ?? {
    deliver: (m) => deps.delivery?.enqueue(m) ?? Promise.resolve(),
    wake: async () => {},
    enqueue: async (jobs) => {
      if (jobs.length) throw new Error(`no job producer for ${jobs.map((j) => j.job.name).join(', ')}`);
    },
  };

  async function handle(raw: unknown): Promise<HandleResult> {
    const parsed = inboundEventSchema.safeParse(raw);
    if (!parsed.success) {
      deps.logger.warn({ ...refsOf(raw), issues: parsed.error.issues.map((i) => i.path.join('.')) }, 'inbound event rejected');
      return 'invalid';
    }
    const event = parsed.data;
    const ids: { identityId?: string; personId?: string } = {};
    const log = lazyChild(deps.logger, () => ({ channel: event.channel, messageRef: event.messageRef }));
    let unit: ReturnType<typeof openUnit> | undefined;
    let result: HandleResult;
    // The turn's own rows, written by its last statement, which commits with it.
    const saved: { later?: Promise<QueuedMessage[]> } = {};
    try {
      result = await deps.database.db.transaction(async (tx) => {
        unit = openUnit(tx);
        const out = await processEvent(tx, unit.uow, event, log, ids, saved);
        await unit.prepare();
        return out;
      });
      if (saved.later) unit!.uow.adopt(await saved.later);
    } catch (err) {
      // Seen before: rolled back (the pipelined openTurn touched the identity), nothing to answer.
      if (err === DUPLICATE) return 'duplicate';
      // Everything the step wrote is rolled back; the person still gets an answer, and the
      // message is recorded so a platform retry does not run the failing step again.
      log.error({ err, ...ids }, 'dialog step failed; answering with an apology');
      unit = undefined;
      result = await deps.database.db.transaction(async (tx) => {
        if (!(await recordInbound(tx, event))) return 'duplicate';
        const { identity, person } = await upsertIdentity(tx, event, deps.config.defaultLocale, new Date());
        await linkInbound(tx, event, identity.id);
        unit = openUnit(tx);
        await unit.uow.queue([
          {
            to: { identityId: identity.id, channel: identity.channel, chatRef: identity.chatRef },
            reply: { locale: person.locale, text: messages(person.locale).common.apology },
          },
        ]);
        return 'handled';
      });
    }
    if (unit) await flushUnit(unit.collected(), sink, lazyChild(log, () => ids));
    return result;
  }

  /**
   * Takes the per-chat lock and the duplicate guard in one statement (the lock first: the insert
   * reads from it); false when the message was seen before.
   */
  async function recordInbound(tx: Tx, event: InboundEvent): Promise<boolean> {
    // One chat's messages are handled one at a time, so steps never interleave.
    const inserted = await tx.execute(sql`
      with chat_lock as (select pg_advisory_xact_lock(hashtext(${`dialog:${event.channel}:${event.userRef}`})))
      insert into inbound_messages (channel, message_ref)
      select ${event.channel}, ${event.messageRef} from chat_lock
      on conflict do nothing
      returning message_ref`);
    return inserted.length > 0;
  }

  async function linkInbound(tx: Tx, event: InboundEvent, identityId: string) {
    await tx
      .update(inboundMessages)
      .set({ identityId })
      .where(and(eq(inboundMessages.channel, event.channel), eq(inboundMessages.messageRef, event.messageRef)));
  }

  /** A chat's first message: its identity (and person) are created. */
  async function firstTurn(tx: Tx, event: InboundEvent, now: Date) {
    const { identity, person } = await upsertIdentity(tx, event, deps.config.defaultLocale, now);
    await linkInbound(tx, event, identity.id);
    const [stateRow] = await tx.select().from(dialogStates).where(eq(dialogStates.identityId, identity.id));
    return { identity, person, stateRow };
  }

  /**
   * The chat's new state and its replies, in one statement when there are both. On a channel
   * whose delivery is the committed row (`sentOnCommit`, the web chat) the replies are written
   * sent in that statement (src/outbox/outbox.ts outboxInsertSent): no deliver job, no second
   * transaction; the chat's deliver lock is taken first, before the state row.
   */
  async function saveTurn(tx: Tx, uow: UnitOfWork, row: ReturnType<typeof toRow> | undefined, replies: OutboxItem[]): Promise<{ later?: Promise<QueuedMessage[]> }> {
    if (!row) {
      await uow.queue(replies);
      return {};
    }
    if (!replies.length) {
      await tx.insert(dialogStates).values(row).onConflictDoUpdate({ target: dialogStates.identityId, set: row });
      return {};
    }
    const state = (from: SQL) => sql`saved as (
          insert into dialog_states (identity_id, flow, step, data, choices, updated_at)
          select ${row.identityId}, ${row.flow}, ${row.step}, ${JSON.stringify(row.data)}::jsonb, ${JSON.stringify(row.choices)}::jsonb, now()
          ${from}
          on conflict (identity_id) do update
            set flow = excluded.flow, step = excluded.step, data = excluded.data, choices = excluded.choices, updated_at = excluded.updated_at
        )`;
    const sentOnCommit = deps.sentOnCommit?.has(replies[0]!.to.channel) && replies.every((r) => r.to.identityId === row.identityId && !r.priority && !r.notBefore);
    // Not waited for here: the turn's last statement travels with COMMIT (db/pipelined-tx.ts),
    // and its rows are adopted once that committed (`handle`).
    const later = tx
      .execute(
        sentOnCommit
          ? sql`with ${chatLockCte(row.identityId)}, ${state(sql`from chat_lock`)}, ${outboxInsertSent(row.identityId, replies)}`
          : sql`with ${state(sql``)} ${outboxInsert(replies)}`,
      )
      .then(queuedFrom);
    // Its failure fails the transaction (reported there); this copy of it is only read on success.
    later.catch(() => {});
    return { later };
  }

  async function processEvent(
    tx: Tx,
    uow: UnitOfWork,
    event: InboundEvent,
    log: Logger,
    ids: { identityId?: string; personId?: string },
    saved: { later?: Promise<QueuedMessage[]> },
  ): Promise<HandleResult> {
    const now = new Date();
    // The lock + duplicate guard and the turn's opening read, pipelined into one round trip. They
    // stay two statements, run in this order, so openTurn's snapshot is taken once the lock is held.
    const [fresh, opened] = await Promise.all([recordInbound(tx, event), openTurn(tx, event, now)]);
    if (!fresh) throw DUPLICATE;
    const { identity, person, stateRow } = opened ?? (await firstTurn(tx, event, now));
    ids.identityId = identity.id;
    ids.personId = person.id;
    const choicesShown = stateRow?.choices ?? [];

    const out: { say: Say; locale: Locale }[] = [];
    const ctx: FlowContext = {
      tx,
      uow,
      config: deps.config,
      logger: lazyChild(log, () => ({ identityId: identity.id, personId: person.id })),
      now,
      person,
      identity,
      get t(): Messages {
        return messages(person.locale);
      },
      messageKey: `${event.channel}:${event.messageRef}`,
      // Stamped now: a reply written before a language switch stays in the language it was written in.
      reply: (say) => void out.push({ say, locale: person.locale }),
      notify: (personId, build, opts) => uow.notify(personId, build, opts),
      afterCommit: (work) => uow.afterCommit(work),
      attempts: attemptsOf({ personId: person.id, clientKey: event.clientKey ?? `${event.channel}:${event.userRef}` }),
      audit: async (action, subjectType, subjectId, details = {}) => {
        await tx.insert(auditLog).values({ actorId: person.id, action, subjectType, subjectId, details });
      },
    };

    const input = interpret(event, choicesShown, deps.config.maxTextLength, deps.flows);
    const turn = await runTurn(rules, ctx, input, toState(stateRow), out);
    // The last reply that offered choices is what a bare number answers next time; a turn that
    // only explained something (help) leaves the choices on screen as they were.
    const offered = [...out].reverse().find((r) => r.say.choices?.length)?.say.choices;
    saved.later = (
      await saveTurn(
      tx,
      uow,
      turn && toRow(identity.id, turn.state, offered ?? (turn.keepChoices ? choicesShown : [])),
      out.map(({ say, locale }) => ({
        to: { identityId: identity.id, channel: identity.channel, chatRef: identity.chatRef },
        reply: { ...say, locale },
      })),
      )
    ).later;
    if (deps.logger.isLevelEnabled('debug')) ctx.logger.debug({ flow: turn?.state.flow, step: turn?.state.step, replies: out.length }, 'message handled');
    return 'handled';
  }

  /** Whether this chat's current step asks for a photo (channels refuse uploads elsewhere). */
  async function acceptsPhoto(channel: InboundEvent['channel'], userRef: string): Promise<boolean> {
    const [row] = await deps.database.db
      .select({ flow: dialogStates.flow, step: dialogStates.step })
      .from(dialogStates)
      .innerJoin(channelIdentities, eq(channelIdentities.id, dialogStates.identityId))
      .where(and(eq(channelIdentities.channel, channel), eq(channelIdentities.userRef, userRef)));
    return !!row && (rules.flows.get(row.flow)?.photoSteps ?? []).includes(row.step);
  }

  return { handle, acceptsPhoto };
}

/** The ids of an event that failed validation, for the log (never its text). */
function refsOf(raw: unknown): { channel?: unknown; messageRef?: unknown } {
  if (typeof raw !== 'object' || raw === null) return {};
  const r = raw as Record<string, unknown>;
  const short = (v: unknown) => (typeof v === 'string' ? v.slice(0, 200) : typeof v === 'number' ? v : undefined);
  return { channel: short(r.channel), messageRef: short(r.messageRef) };
}

export type Dialog = ReturnType<typeof createDialog>;
