import { z } from 'zod';
import type { Database } from '../../db/client.js';
import { cliWork, unitId } from '../activities/cli-work.js';
import type { Config } from '../config.js';
import { messages } from '../i18n/index.js';
import { formatLocal, parseLocal } from '../notices/rules.js';
import { VolunteerError } from './errors.js';
import { confirmHours, ledger, monthlySummary } from './hours.js';
import { reportAsPartyMember, reportedPartyMembers, saveProfile } from './profile.js';
import { parseSkills } from './rules.js';
import { createTask } from './tasks.js';
import { createRoster, missedVisits } from './visits.js';

export const VOLUNTEER_USAGE = `  volunteer profile --person P --community CODE [--skills "理发,陪伴"] [--team T] [--availability A]
  volunteer party-report --person P --community CODE --work-unit W     在职党员到社区报到
  volunteer reported --as STAFF --community CODE                       who has reported there
  volunteer task --as STAFF --community CODE --title T --place X --at "YYYY-MM-DD HH:MM" --minutes M --slots N [--skills S] [--kind visit]
  volunteer hours TASK_ID --as STAFF --came "PERSON=2,PERSON=1.5"      confirm who came and their hours
  volunteer ledger --person P                                          a volunteer's hours
  volunteer summary --as STAFF --unit CODE --month YYYY-MM             hours per community and team
  volunteer roster --as STAFF --community CODE --person P --visitee "7号楼1单元101" --every DAYS
  volunteer missed --as STAFF --community CODE                         missed 巡访 flagged`;

export const VOLUNTEER_OPTIONS = ['as', 'person', 'community', 'skills', 'team', 'availability', 'work-unit', 'title', 'place', 'at', 'minutes', 'slots', 'kind', 'came', 'unit', 'month', 'visitee', 'every'] as const;

export type VolunteerCliArgs = { sub: string; id?: string } & Partial<Record<string, string>>;

const uuid = (what: string) => z.uuid({ error: `${what} takes a person id` });
const int = (name: string) => z.coerce.number({ error: `--${name} takes a number` }).int();

/** `npm run linli -- volunteer …`. */
export async function runVolunteerCli(a: VolunteerCliArgs, config: Config, database: Database, out: (line: string) => void): Promise<void> {
  const t = messages(config.defaultLocale).volunteers;
  const tz = config.notices.timeZone;
  const explain = (err: unknown): never => {
    if (err instanceof VolunteerError) throw new Error(t[`err_${err.reason}`]);
    throw err;
  };
  const db = database.db;
  switch (a.sub) {
    case 'profile': {
      const p = await db
        .transaction(async (tx) => saveProfile(tx, uuid('--person').parse(a.person), { communityId: await unitId(database, a.community, '--community'), skills: parseSkills(a.skills ?? ''), team: a.team, availability: a.availability }))
        .catch(explain);
      out(`volunteer ${p.personId}: skills ${p.skills.join(', ') || '-'}; team ${p.team ?? '-'}`);
      return;
    }
    case 'party-report': {
      const communityId = await unitId(database, a.community, '--community');
      await db.transaction((tx) => reportAsPartyMember(tx, uuid('--person').parse(a.person), { homeCommunityId: communityId, workUnit: a.workUnit ?? '' }, new Date())).catch(explain);
      out('reported to the community');
      return;
    }
    case 'reported': {
      const rows = await reportedPartyMembers(db, uuid('--as').parse(a.as), await unitId(database, a.community, '--community')).catch(explain);
      for (const r of rows) out(`  ${formatLocal(r.reportedAt!, tz)}  ${r.personId}  ${r.name ?? ''}  ${r.workUnit ?? ''}  ${r.team ?? ''}`);
      out(`${rows.length} reported`);
      return;
    }
    case 'task': {
      const startsAt = a.at ? parseLocal(a.at, tz) : undefined;
      if (!startsAt) throw new Error('--at takes "YYYY-MM-DD HH:MM" (local time)');
      const endsAt = new Date(startsAt.getTime() + int('minutes').parse(a.minutes ?? '60') * 60_000);
      const communityId = await unitId(database, a.community, '--community');
      const task = await db
        .transaction((tx) =>
          createTask(tx, uuid('--as').parse(a.as), { communityId, kind: a.kind === 'visit' ? 'visit' : 'task', title: a.title ?? '', place: a.place ?? '', startsAt, endsAt, slots: int('slots').parse(a.slots), skills: parseSkills(a.skills ?? '') }),
        )
        .catch(explain);
      out(`task ${task.id}  ${formatLocal(task.startsAt, tz)}  ${task.slots} slot(s)`);
      return;
    }
    case 'hours': {
      const came = (a.came ?? '')
        .split(',')
        .filter(Boolean)
        .map((pair) => {
          const [personId, hours] = pair.split('=');
          return { personId: uuid('--came').parse(personId?.trim()), hours: Number(hours) };
        });
      const n = await cliWork(config, database, (uow) => confirmHours(uow, uuid('--as').parse(a.as), z.uuid().parse(a.id), came, new Date())).catch(explain);
      out(`hours confirmed for ${n} volunteer(s)`);
      return;
    }
    case 'ledger': {
      const l = await ledger(db, uuid('--person').parse(a.person));
      out(`total ${l.total} h`);
      for (const r of l.rows) out(`  ${formatLocal(r.servedAt, tz)}  ${r.title ?? ''}  ${r.hours} h`);
      return;
    }
    case 'summary': {
      const rows = await monthlySummary(db, uuid('--as').parse(a.as), await unitId(database, a.unit, '--unit'), a.month ?? '', tz).catch(explain);
      for (const r of rows) out(`  ${r.community}\t${r.team ?? '-'}\t${r.hours} h\t${r.volunteers} volunteer(s)\t${r.services} service(s)`);
      if (rows.length === 0) out('no hours that month');
      return;
    }
    case 'roster': {
      const communityId = await unitId(database, a.community, '--community');
      const id = await cliWork(config, database, (uow) =>
        createRoster(uow, uuid('--as').parse(a.as), { communityId, volunteerId: uuid('--person').parse(a.person), visitee: a.visitee ?? '', everyDays: int('every').parse(a.every) }, new Date()),
      ).catch(explain);
      out(`roster ${id}`);
      return;
    }
    case 'missed': {
      const rows = await missedVisits(db, uuid('--as').parse(a.as), await unitId(database, a.community, '--community')).catch(explain);
      for (const r of rows) out(`  ${formatLocal(r.dueAt, tz)}  ${r.visitee}  volunteer ${r.volunteerId}`);
      out(`${rows.length} missed visit(s)`);
      return;
    }
    default:
      throw new Error(`unknown volunteer command ${a.sub}\n${VOLUNTEER_USAGE}`);
  }
}
