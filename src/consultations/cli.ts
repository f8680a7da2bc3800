import { parseArgs } from 'node:util';
import { z } from 'zod';
import type { Database } from '../../db/client.js';
import { recordAudit } from '../audit/audit.js';
import { runCliWork } from '../cli/work.js';
import type { Config } from '../config.js';
import { messages } from '../i18n/index.js';
import { formatLocal, parseLocal } from '../notices/rules.js';
import { findUnitByCode } from '../org/tree.js';
import { codeKey } from '../secrets.js';
import { verifyChain } from './verify.js';
import { ConsultationError, createConsultation, enterBallot, getConsultation, mustReach, scopesOf } from './commands.js';
import { choiceLabels, explainResult, refusalText } from './explain.js';
import { closeConsultation, currentResult, lifecycleDeps, openConsultation, publishConsultation, scheduleOpening } from './lifecycle.js';
import { publishedBallots } from './queries.js';
import { answerTopic, rankedTopics } from './topics.js';
import { BASES, decide, formatArea, RULES, type Decision, type Tally } from './rules.js';
import { eligibleFor, tallyOf, turnoutByBuilding, turnoutTotals } from './tally.js';

/**
 * `npm run linli -- consultation …`: the consultation commands for an operator acting as a named
 * staff member (`--as PERSON_ID`), who must reach the areas like in chat; paper and proxy
 * ballots are audited under that person.
 */
export const CONSULTATION_USAGE = `  consultation create --as PERSON --to UNIT_CODE [--to …] --title T --text X --option A --option B [--option …]
        --basis ${BASES.join('|')} --closes TIME [--opens TIME] [--rule ${RULES.join('|')}] [--quorum PCT] [--majority PCT]
        [--multiple MAX] [--weighty] [--open-ballot] [--show-names] [--final] [--early-close]
        (TIME: local "YYYY-MM-DD HH:MM" or ISO 8601 with offset; --opens: it opens by itself then, else by \`open\`)
  consultation open ID --as PERSON [--opens TIME]  announce to the voters now (or at TIME)
  consultation publish ID --as PERSON              publish the frozen result
  consultation close ID --as PERSON [--reason R]   early only where the vote allows it
  consultation paper ID --as PERSON --household UNIT_CODE --choice N [--choice …]
  consultation proxy ID --as PERSON --household UNIT_CODE --choice N --grantor G --proxy P --document D
  consultation turnout|result ID --as PERSON       live turnout by building / the result once closed
  consultation ballots ID                          the published ballot list (receipts, choices)
  consultation topics COMMUNITY_CODE --as PERSON   议题征集: topics by support
  consultation answer TOPIC_ID --as PERSON --text X [--decline]   answer (or decline) a topic; its proposer is told
  (turn a topic into a vote: create … --topic TOPIC_ID; the proposer is told when it opens)
  verify-ballots ID                                recompute the ballot chain and the tally`;

const options = {
  as: { type: 'string' },
  to: { type: 'string', multiple: true },
  title: { type: 'string' },
  text: { type: 'string' },
  option: { type: 'string', multiple: true },
  basis: { type: 'string' },
  rule: { type: 'string' },
  quorum: { type: 'string' },
  majority: { type: 'string' },
  multiple: { type: 'string' },
  weighty: { type: 'boolean' },
  'open-ballot': { type: 'boolean' },
  'show-names': { type: 'boolean' },
  final: { type: 'boolean' },
  'early-close': { type: 'boolean' },
  closes: { type: 'string' },
  opens: { type: 'string' },
  reason: { type: 'string' },
  household: { type: 'string' },
  choice: { type: 'string', multiple: true },
  grantor: { type: 'string' },
  proxy: { type: 'string' },
  document: { type: 'string' },
  topic: { type: 'string' },
  decline: { type: 'boolean' },
} as const;

const actor = z.uuid({ error: '--as takes the staff member’s person id' });
const isoTime = z.iso.datetime({ offset: true });

/** A time as an operator gives it: local "YYYY-MM-DD HH:MM" (like chat), or ISO 8601 with its offset. */
function parseTime(text: string | undefined, timeZone: string): Date | undefined {
  if (text === undefined) return undefined;
  return parseLocal(text, timeZone) ?? (isoTime.safeParse(text.trim()).success ? new Date(text.trim()) : undefined);
}
const timeHelp = (flag: string) => `${flag} takes "YYYY-MM-DD HH:MM" (local time) or an ISO 8601 time with its offset`;
const choiceList = z.array(z.coerce.number().int().min(1)).min(1, 'give --choice N (1 = the first option)');

export async function runConsultationCli(argv: string[], config: Config, database: Database, out: (line: string) => void): Promise<void> {
  const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true });
  const [sub, arg] = positionals;
  const db = database.db;
  const m = messages(config.defaultLocale);
  const tz = config.notices.timeZone;
  const deps = lifecycleDeps(config);
  const key = codeKey(config);
  const now = new Date();
  const explain = (err: unknown): never => {
    if (err instanceof ConsultationError) throw new Error(refusalText(m, err));
    throw err;
  };
  const load = async () => {
    const c = await getConsultation(db, z.uuid({ error: 'give the consultation id' }).parse(arg));
    if (!c) throw new Error(m.consultations.notFound);
    return c;
  };
  const household = async () => {
    const unit = values.household ? await findUnitByCode(db, values.household) : undefined;
    if (unit?.kind !== 'household') throw new Error('--household takes a household code (see `units`)');
    return unit;
  };

  switch (sub) {
    case 'create': {
      const as = actor.parse(values.as);
      const scopeUnitIds: number[] = [];
      for (const code of values.to ?? []) {
        const unit = await findUnitByCode(db, code);
        if (!unit) throw new Error(`no unit ${code} (see \`units\`)`);
        scopeUnitIds.push(unit.id);
      }
      const closesAt = parseTime(values.closes, tz);
      if (!closesAt) throw new Error(timeHelp('--closes'));
      const opensAt = parseTime(values.opens, tz);
      if (values.opens !== undefined && !opensAt) throw new Error(timeHelp('--opens'));
      const max = values.multiple === undefined ? undefined : z.coerce.number().int().min(1).parse(values.multiple);
      // The draft and its opening time in one unit of work: a refused time leaves no draft behind.
      const c = await runCliWork(config, database, async (uow) => {
        const draft = await createConsultation(
          uow.tx,
          as,
          {
            title: values.title ?? '',
            background: values.text ?? '',
            options: values.option ?? [],
            multiple: max !== undefined,
            maxChoices: max ?? 1,
            scopeUnitIds,
            basis: values.basis as never,
            rule: (values.rule ?? 'simple_majority') as never,
            quorumPct: values.quorum === undefined ? undefined : Number(values.quorum),
            majorityPct: values.majority === undefined ? undefined : Number(values.majority),
            weighty: values.weighty ?? false,
            secret: !values['open-ballot'],
            showNames: values['show-names'] ?? false,
            changeable: !values.final,
            earlyClose: values['early-close'] ?? false,
            closesAt,
            topicId: values.topic === undefined ? undefined : z.coerce.number().int().positive().parse(values.topic),
          },
          now,
        );
        return opensAt ? scheduleOpening(uow, as, draft.id, opensAt, now) : draft;
      }).catch(explain);
      out(`${c.id}  [draft] "${c.title}"${c.opensAt ? ` opens ${formatLocal(c.opensAt, tz)}` : ''} closes ${formatLocal(c.closesAt, tz)}`);
      out(c.opensAt ? `  it opens by itself then; to open it now: consultation open ${c.id} --as ${as}` : `  open it with: consultation open ${c.id} --as ${as}`);
      return;
    }
    case 'open': {
      const c = await load();
      const as = actor.parse(values.as);
      if (values.opens !== undefined) {
        const opensAt = parseTime(values.opens, tz);
        if (!opensAt) throw new Error(timeHelp('--opens'));
        const scheduled = await runCliWork(config, database, (uow) => scheduleOpening(uow, as, c.id, opensAt, now)).catch(explain);
        out(`scheduled: opens ${formatLocal(scheduled.opensAt!, tz)}, closes ${formatLocal(scheduled.closesAt, tz)}; announced then`);
        return;
      }
      const opened = await runCliWork(config, database, (uow) => openConsultation(uow, as, c.id, now, deps)).catch(explain);
      const e = opened.eligible!;
      out(`open: ${e.people} residents, ${e.households} households, ${e.owners} owners (${formatArea(e.area)} m²); announced`);
      return;
    }
    case 'close': {
      const c = await load();
      const r = await runCliWork(config, database, (uow) => closeConsultation(uow, c.id, now, { actorId: actor.parse(values.as), reason: values.reason })).catch(explain);
      if (r.closed) out(`closed: ${explainResult(m, c, r.result)}`);
      return;
    }
    case 'publish': {
      const c = await load();
      const r = await runCliWork(config, database, (uow) => publishConsultation(uow, actor.parse(values.as), c.id, now, deps)).catch(explain);
      out(`published: ${explainResult(m, c, r)}`);
      return;
    }
    case 'paper':
    case 'proxy': {
      const c = await load();
      const home = await household();
      const as = actor.parse(values.as);
      const choices = choiceList.parse(values.choice ?? []).map((n) => n - 1);
      const proxy = sub === 'proxy' ? { grantor: values.grantor ?? '', proxy: values.proxy ?? '', documentRef: values.document ?? '' } : undefined;
      const r = await db.transaction((tx) => enterBallot(tx, key, as, c.id, home.id, choices, now, proxy)).catch(explain);
      out(`${sub} ballot for ${home.code}: ${r.stored ? (r.changed ? 'changed' : 'stored') : 'already so'}; receipt ${r.receipt}`);
      return;
    }
    case 'turnout':
    case 'result': {
      const c = await load();
      const as = actor.parse(values.as);
      await mustReach(db, as, await scopesOf(db, c.id)).catch(explain);
      await db.transaction((tx) => recordAudit(tx, { actorId: as, action: `consultation.view_${sub}`, subjectType: 'consultation', subjectId: c.id }));
      if (sub === 'result') {
        // While the vote runs, nobody sees how it stands: only turnout.
        if (c.status === 'open' || c.status === 'draft') throw new Error(m.consultations.wrongStatus);
        const r = await currentResult(db, c);
        c.options.forEach((o, i) => out(`  ${i + 1}. ${o}\t${r.tally.options[i]!.count}${c.basis === 'owners' ? `\t${formatArea(r.tally.options[i]!.area)} m²` : ''}`));
        out(explainResult(m, c, r));
        return;
      }
      const rows = await turnoutByBuilding(db, c.id, c.basis);
      const e = eligibleFor(c.basis, c.eligible ?? { people: 0, households: 0, owners: 0, area: 0 });
      const { voters, households: homes, area } = turnoutTotals(rows);
      out(`[${c.status}] ${voters} voters, ${homes}/${c.eligible?.households ?? 0} households, ${formatArea(area)}/${formatArea(e.area)} m²${c.rule === 'quorum_majority' ? `; quorum ${c.quorumPct}% of ${e.voters}` : c.rule === 'civil_code_278' ? '; needs 2/3 of owners and of area' : ''}`);
      for (const r of rows) out(`  ${r.building || '-'}\t${r.households}/${r.eligibleHouseholds} households\t${formatArea(r.area)}/${formatArea(r.eligibleArea)} m²`);
      return;
    }
    case 'ballots': {
      const c = await load();
      if (c.status !== 'published') throw new Error(m.consultations.wrongStatus);
      let after = 0;
      for (;;) {
        const page = await publishedBallots(db, c, { afterId: after, limit: 1000 });
        for (const b of page) out(`${b.receipt}\t${choiceLabels(c, b.choices)}${b.counted ? '' : '\t(replaced)'}${b.name ? `\t${b.name}` : ''}`);
        if (page.length < 1000) break;
        after = Number(page.at(-1)!.id);
      }
      return;
    }
    case 'topics': {
      const as = actor.parse(values.as);
      const community = arg ? await findUnitByCode(db, arg) : undefined;
      if (community?.kind !== 'community') throw new Error('give a community code (see `units`)');
      await mustReach(db, as, [community.id]).catch(explain);
      for (const p of await rankedTopics(db, community.id, 50)) out(`${p.id}\t${p.supports} support\t[${p.status}]\t${p.title}`);
      return;
    }
    case 'answer': {
      const topicId = z.coerce.number().int().positive({ error: 'give the topic id' }).parse(arg);
      await runCliWork(config, database, (uow) => answerTopic(uow, actor.parse(values.as), topicId, values.text ?? '', values.decline ? 'declined' : 'answered', now)).catch(explain);
      out(values.decline ? 'declined; the proposer was told' : 'answered; the proposer was told');
      return;
    }
    default:
      throw new Error(`unknown consultation command ${sub ?? ''}\n${CONSULTATION_USAGE}`);
  }
}

/**
 * `verify-ballots ID`: the chain recomputed row by row (naming the first row that does not
 * match), then the tally recomputed from the log and compared with the frozen result.
 */
export async function verifyBallots(db: Database['db'], id: string, locale: Config['defaultLocale'], out: (line: string) => void): Promise<boolean> {
  const c = await getConsultation(db, id);
  if (!c) throw new Error(messages(locale).consultations.notFound);
  const chain = await verifyChain(db, id);
  if (!chain.ok) {
    const f = chain.first!;
    out(`chain BROKEN at ballot ${f.seq === null ? `id ${f.id} (not linked)` : `#${f.seq}`} (${f.problem}); ${chain.rows} rows`);
    return false;
  }
  out(`chain ok: ${chain.rows} ballots${chain.unlinked ? ` (${chain.unlinked} not linked yet)` : ''}`);
  const tally = await tallyOf(db, id, c.options.length);
  const frozen = (c.result as { tally?: Tally } | null)?.tally;
  const same = (a: Tally, b: Tally) => a.ballots === b.ballots && a.area === b.area && a.options.length === b.options.length && a.options.every((o, i) => o.count === b.options[i]!.count && o.area === b.options[i]!.area);
  if (frozen && !same(frozen, tally)) {
    out(`tally MISMATCH: recomputed ${JSON.stringify(tally)} vs published ${JSON.stringify(frozen)}`);
    return false;
  }
  const decision = decide(c, eligibleFor(c.basis, c.eligible ?? { people: 0, households: 0, owners: 0, area: 0 }), tally);
  // The published decision is recomputed too: its rule applied to the recomputed tally must give
  // what residents were told (valid, winners, passed, tie), not only the counts.
  const told = (c.result as { decision?: Decision } | null)?.decision;
  const key = (d: Decision) => JSON.stringify([d.rule, d.valid, [...d.invalid].sort(), d.winners, d.passed, d.tie]);
  if (told && key(told) !== key(decision)) {
    out(`decision MISMATCH: recomputed ${JSON.stringify(decision)} vs published ${JSON.stringify(told)}`);
    return false;
  }
  out(`tally ok: ${tally.ballots} counted; ${c.options.map((o, i) => `${o} ${tally.options[i]!.count}`).join(', ')}; ${decision.passed ? 'passed' : 'not passed'}`);
  return true;
}
