import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { eq } from 'drizzle-orm';
import { z } from 'zod';
import { orgUnits, people } from '../../db/schema/index.js';
import type { Database } from '../../db/client.js';
import { runCliWork } from '../cli/work.js';
import type { Tx } from '../../db/client.js';
import { followUpIn } from './follow.js';
import { recordAudit } from '../audit/audit.js';
import { previewAudience } from '../audience/audience.js';
import { addMembership, AUDIENCE_GROUPS, removeMembership } from '../audience/groups.js';
import type { Config } from '../config.js';
import { messages } from '../i18n/index.js';
import { findUnitByCode, getUnit } from '../org/tree.js';
import { checkScopes } from '../staff/scope.js';
import { audienceOf, confirmNotice, correctNotice, createNotice, getNotice, NoticeError, scopesOf, withdrawNotice, type NoticeFollowUp } from './commands.js';
import { refusalText } from './explain.js';
import { noticeCounts, unreadHouseholds } from './queries.js';
import { formatLocal, NOTICE_CATEGORIES, parseLocal } from './rules.js';
import { openPhotoStore } from '../photos/open.js';
import { PhotoRejected } from '../photos/process.js';
import { storePhoto } from '../photos/store.js';

/**
 * `npm run linli -- notice …`: the same notice commands as the chat flow, for an operator acting
 * as a named staff member (`--as PERSON_ID`), who must reach the areas like in chat. Every change
 * is audited under that person.
 */
export const NOTICE_USAGE = `  notice draft --as PERSON --to UNIT_CODE [--to …] --category C --title T --text X [--group G] [--photo FILE] [--at "YYYY-MM-DD HH:MM"]
                                            write a draft and print who it would reach; --photo: a JPEG, PNG or
                                            WebP sent with it (re-encoded without its metadata, like a chat photo)
  notice send NOTICE_ID --as PERSON [--yes] preview, and with --yes send (or schedule) it
  notice stats|unread NOTICE_ID --as PERSON delivered / read / failed; households nobody confirmed in
  notice correct NOTICE_ID --as PERSON --text X    |    notice withdraw NOTICE_ID --as PERSON --reason X
  notice group add|remove GROUP --as PERSON (--person ID | --household UNIT_CODE)
                                            group membership kept by staff
  C: ${NOTICE_CATEGORIES.join(', ')}    G: ${AUDIENCE_GROUPS.join(', ')}`;

const options = {
  as: { type: 'string' },
  to: { type: 'string', multiple: true },
  category: { type: 'string' },
  title: { type: 'string' },
  text: { type: 'string' },
  group: { type: 'string', multiple: true },
  at: { type: 'string' },
  photo: { type: 'string' },
  yes: { type: 'boolean' },
  reason: { type: 'string' },
  person: { type: 'string' },
  household: { type: 'string' },
} as const;

const actor = z.uuid({ error: '--as takes the staff member’s person id' });

export async function runNoticeCli(argv: string[], config: Config, database: Database, out: (line: string) => void): Promise<void> {
  const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true });
  const [sub, arg, arg2] = positionals;
  const as = actor.parse(values.as);
  const tz = config.notices.timeZone;
  const quiet = { hours: config.notices.quietHours, timeZone: tz };
  const t = messages(config.defaultLocale).notices;
  const db = database.db;
  const explain = async (err: unknown): Promise<never> => {
    if (!(err instanceof NoticeError)) throw err;
    throw new Error(await refusalText(t, err, async () => (err.detail.unitId ? ((await getUnit(db, err.detail.unitId))?.name ?? '') : '')));
  };
  /** A notice command and what it asks for (a fan-out job, a release timer) in one unit of work. */
  const command = (run: (tx: Tx) => Promise<NoticeFollowUp>): Promise<NoticeFollowUp> =>
    runCliWork(config, database, async (uow) => {
      const follow = await run(uow.tx);
      await followUpIn(uow, follow);
      return follow;
    });
  const printPreview = async (noticeId: string) => {
    const n = (await getNotice(db, noticeId))!;
    const p = await previewAudience(db, audienceOf(n, await scopesOf(db, noticeId)));
    out(`${n.id}  [${n.status}] ${n.category} "${n.title}"${n.sendAt ? ` at ${formatLocal(n.sendAt, tz)}` : ''}${n.photoKey ? ' with a photo' : ''}`);
    out(`  people ${p.people}, reachable ${p.reachable} (telegram ${p.byChannel.telegram}, wechat ${p.byChannel.wechat}, web ${p.byChannel.web})`);
    out(`  unreachable: no chat ${p.unreachable.noChannel}, blocked ${p.unreachable.blocked}, consent withdrawn ${p.unreachable.consentWithdrawn}; muted ${p.muted}`);
  };

  switch (sub) {
    case 'draft': {
      const unitIds: number[] = [];
      for (const code of values.to ?? []) {
        const unit = await findUnitByCode(db, code);
        if (!unit) throw new Error(`no unit ${code} (see \`units\`)`);
        unitIds.push(unit.id);
      }
      const sendAt = values.at === undefined ? undefined : parseLocal(values.at, tz);
      if (values.at !== undefined && !sendAt) throw new Error('--at takes "YYYY-MM-DD HH:MM" (local time)');
      // The photo is checked and stored before the notice is written: a file we will not keep
      // refuses the whole draft, so nothing is created without the photo the operator meant.
      const photoKey = values.photo === undefined ? undefined : await notePhoto(config, values.photo);
      const input = { title: values.title ?? '', body: values.text ?? '', photoKey, category: values.category as never, scopeUnitIds: unitIds, groups: (values.group ?? []) as never[], sendAt };
      const notice = await db.transaction((tx) => createNotice(tx, as, input, new Date())).catch(explain);
      await printPreview(notice.id);
      out(`  send it with: notice send ${notice.id} --as ${as} --yes`);
      return;
    }
    case 'send': {
      const id = z.uuid().parse(arg);
      await printPreview(id);
      if (!values.yes) {
        out('  not sent: add --yes to confirm');
        return;
      }
      const follow = await command((tx) => confirmNotice(tx, as, id, new Date(), quiet)).catch(explain);
      out(follow.kind === 'release_at' ? `scheduled for ${formatLocal(follow.at, tz)}` : 'sending');
      return;
    }
    case 'stats':
    case 'unread': {
      const id = z.uuid().parse(arg);
      const decision = await checkScopes(db, as, await scopesOf(db, id));
      if (!decision.ok) await explain(new NoticeError(decision.reason === 'no_such_unit' ? 'not_found' : decision.reason, { unitId: decision.unitId }));
      await db.transaction((tx) => recordAudit(tx, { actorId: as, action: `notice.view_${sub}`, subjectType: 'notice', subjectId: id }));
      if (sub === 'stats') {
        const c = await noticeCounts(db, id);
        out(`recipients ${c.recipients}, delivered ${c.delivered}, pending ${c.pending}, failed ${c.failed}, read ${c.read}`);
      } else {
        const u = await unreadHouseholds(db, id, 500);
        out(`${u.total} households where nobody confirmed it`);
        for (const h of u.households) out(`  ${h.code}\t${h.label}`);
      }
      return;
    }
    case 'correct':
    case 'withdraw': {
      const id = z.uuid().parse(arg);
      const now = new Date();
      const follow = await command((tx) => (sub === 'correct' ? correctNotice(tx, as, id, values.text ?? '', now) : withdrawNotice(tx, as, id, values.reason ?? '', now))).catch(explain);
      out(sub === 'correct' ? 'correction sending' : 'withdrawn');
      return;
    }
    case 'group': {
      if (arg !== 'add' && arg !== 'remove') throw new Error('notice group add|remove GROUP …');
      const group = z.enum(AUDIENCE_GROUPS, { error: `GROUP is one of ${AUDIENCE_GROUPS.join(', ')}` }).parse(arg2);
      const household = values.household ? await findUnitByCode(db, values.household) : undefined;
      if (values.household && household?.kind !== 'household') throw new Error(`${values.household} is not a household`);
      const personId = values.person ? z.uuid().parse(values.person) : undefined;
      const [person] = personId ? await db.select({ householdId: people.householdId }).from(people).where(eq(people.id, personId)) : [];
      if (personId && !person?.householdId) throw new Error('that person is not bound to a household');
      const homeId = household?.id ?? person?.householdId;
      if (!homeId) throw new Error('give --person ID or --household UNIT_CODE');
      // Staff keep groups for the households they reach.
      const [home] = await db.select({ id: orgUnits.id }).from(orgUnits).where(eq(orgUnits.id, homeId));
      const decision = await checkScopes(db, as, [home!.id]);
      if (!decision.ok) await explain(new NoticeError(decision.reason === 'no_such_unit' ? 'not_found' : decision.reason, { unitId: decision.unitId }));
      const subject = personId ? { personId } : { householdId: homeId };
      const changed = await db.transaction(async (tx) => {
        const done = arg === 'add' ? await addMembership(tx, group, subject, { personId: as, source: 'staff' }) : await removeMembership(tx, group, subject, { source: 'staff' });
        await recordAudit(tx, { actorId: as, action: `audience.${arg === 'add' ? 'add' : 'remove'}`, subjectType: personId ? 'person' : 'household', subjectId: String(personId ?? homeId), details: { group } });
        return done;
      });
      out(changed ? `${arg === 'add' ? 'added to' : 'removed from'} ${group}` : 'nothing changed');
      return;
    }
    default:
      throw new Error(`unknown notice command ${sub ?? ''}\n${NOTICE_USAGE}`);
  }
}

/** A notice photo from a file: through the same pipeline as a photo sent in chat (src/photos/process.ts). */
async function notePhoto(config: Config, file: string): Promise<string> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    throw new Error(`--photo ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  try {
    return (await storePhoto(await openPhotoStore(config), bytes)).key;
  } catch (err) {
    if (err instanceof PhotoRejected) throw new Error(`--photo ${file}: ${PHOTO_REFUSALS[err.reason]}; nothing was created`);
    throw err;
  }
}

const PHOTO_REFUSALS: Record<PhotoRejected['reason'], string> = {
  too_large: 'the file is too large',
  not_an_image: 'not a JPEG, PNG or WebP image',
  too_many_pixels: 'the image has too many pixels',
  broken: 'the image is damaged or not what its header says',
};
