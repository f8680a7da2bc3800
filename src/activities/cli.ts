import { z } from 'zod';
import type { Database } from '../../db/client.js';
import type { Config } from '../config.js';
import { messages } from '../i18n/index.js';
import { checkScopes } from '../staff/scope.js';
import { formatLocal, parseLocal } from '../notices/rules.js';
import { markAttendance, repeatedNoShows, sessionReport } from './attendance.js';
import { cliWork, unitId } from './cli-work.js';
import { serviceCoverage } from './coverage.js';
import { activitySettings, createActivity, type ActivityInput } from './create.js';
import { ActivityError } from './errors.js';
import { childrenOf } from './minors.js';
import { ACTIVITY_KINDS, SERVICE_LINES } from './rules.js';
import { AUDIENCE_GROUPS } from '../audience/groups.js';
import { maskPhone } from '../residents/privacy.js';

export const ACTIVITY_USAGE = `  activity create --as PERSON --community CODE --kind K --title T --capacity N (--venue V | --link URL)
           (--at "YYYY-MM-DD HH:MM" | --weekday 0-6 --time HH:MM --from YYYY-MM-DD --until YYYY-MM-DD) [--minutes 90]
           [--topic X] [--speaker X] [--line L] [--to UNIT_CODE] [--group G[,G…]] [--offer-minutes 120] [--no-announce yes]
           [--signup-opens "YYYY-MM-DD HH:MM"] [--signup-closes "YYYY-MM-DD HH:MM"]   (default: now … the start)
                                            publish an activity or a weekly series (announced through notices;
                                            with --group only to those groups, like \`notice draft --group\`)
  activity report ACTIVITY_ID --as PERSON   seats, waiting, check-ins, ratings per session; repeated no-shows
  activity children ACTIVITY_ID --as PERSON 四点半课堂 children and guardians (organisers only, audited)
  activity attend SIGNUP_ID --as PERSON --present yes|no   record attendance by hand
  activity coverage --as PERSON --unit CODE  服务进社区 events this year per community and line (aim ≥ 2)
  K: ${ACTIVITY_KINDS.join(', ')}    L: ${SERVICE_LINES.join(', ')}    G: ${AUDIENCE_GROUPS.join(', ')}`;

/** The options `activity` takes (all strings on the command line). */
export const ACTIVITY_OPTIONS = ['as', 'community', 'kind', 'title', 'capacity', 'venue', 'link', 'at', 'weekday', 'time', 'from', 'until', 'minutes', 'topic', 'speaker', 'line', 'to', 'group', 'signup-opens', 'signup-closes', 'offer-minutes', 'no-announce', 'present', 'unit'] as const;

export type ActivityCliArgs = { sub: string; id?: string } & Partial<Record<string, string>>;

const person = z.uuid({ error: '--as takes the staff member’s person id' });
const int = (name: string) => z.coerce.number({ error: `--${name} takes a number` }).int();
/** `--group elderly,school_parents`: one option (this command's options are single strings), any of the groups. */
const groupList = z
  .string()
  .transform((s) => s.split(/[\s,，、]+/).filter(Boolean))
  .pipe(z.array(z.enum(AUDIENCE_GROUPS, { error: `--group takes ${AUDIENCE_GROUPS.join(', ')} (comma-separated)` })).min(1));

/** `npm run linli -- activity …`: the activity commands for an operator acting as a named staff member. */
export async function runActivityCli(a: ActivityCliArgs, config: Config, database: Database, out: (line: string) => void): Promise<void> {
  const t = messages(config.defaultLocale).activities;
  const tz = config.notices.timeZone;
  const as = person.parse(a.as);
  const explain = (err: unknown): never => {
    if (err instanceof ActivityError) throw new Error(t[`err_${err.reason}`]);
    throw err;
  };
  switch (a.sub) {
    case 'create': {
      const minutes = int('minutes').parse(a.minutes ?? '90');
      let schedule: ActivityInput['schedule'];
      if (a.at) {
        const startsAt = parseLocal(a.at, tz);
        if (!startsAt) throw new Error('--at takes "YYYY-MM-DD HH:MM" (local time)');
        schedule = { kind: 'once', startsAt, endsAt: new Date(startsAt.getTime() + minutes * 60_000) };
      } else {
        schedule = { kind: 'series', weekday: int('weekday').parse(a.weekday), time: a.time ?? '', from: a.from ?? '', until: a.until ?? '', durationMinutes: minutes };
      }
      const localTime = (value: string | undefined, option: string) => {
        if (value === undefined) return undefined;
        const at = parseLocal(value, tz);
        if (!at) throw new Error(`--${option} takes "YYYY-MM-DD HH:MM" (local time)`);
        return at;
      };
      const input: ActivityInput = {
        kind: z.enum(ACTIVITY_KINDS).parse(a.kind),
        serviceLine: a.line ? z.enum(SERVICE_LINES).parse(a.line) : undefined,
        title: a.title ?? '',
        topic: a.topic,
        speaker: a.speaker,
        venue: a.venue,
        link: a.link,
        communityId: await unitId(database, a.community, '--community'),
        scopeUnitIds: a.to ? [await unitId(database, a.to, '--to')] : undefined,
        groups: a.group === undefined ? [] : groupList.parse(a.group),
        capacity: int('capacity').parse(a.capacity),
        offerMinutes: a.offerMinutes ? int('offer-minutes').parse(a.offerMinutes) : undefined,
        schedule,
        signupOpensAt: localTime(a.signupOpens, 'signup-opens'),
        signupClosesAt: localTime(a.signupCloses, 'signup-closes'),
        announce: a.noAnnounce !== 'yes',
      };
      const made = await cliWork(config, database, (uow) => createActivity(uow, as, input, new Date(), activitySettings(config))).catch(explain);
      out(`${made.activityId}  ${made.sessions.length} session(s)${made.noticeId ? `, announced (notice ${made.noticeId})` : ''}`);
      out(`  sign-up ${formatLocal(made.signup.opensAt, tz)} – ${formatLocal(made.signup.closesAt, tz)}${input.groups?.length ? `, for ${input.groups.join(', ')}` : ''}`);
      for (const s of made.sessions) out(`  ${formatLocal(s.startsAt, tz)}  check-in code ${s.checkinCode}  session ${s.id}`);
      return;
    }
    case 'report': {
      const id = z.uuid().parse(a.id);
      const rows = await sessionReport(database.db, as, id).catch(explain);
      for (const r of rows) out(`  #${r.position} ${formatLocal(r.startsAt, tz)}  ${r.confirmed}/${r.capacity} confirmed, ${r.offered} offered, ${r.waiting} waiting, ${r.came} came, rating ${r.rating ?? '-'}  code ${r.checkinCode}`);
      const noShows = await repeatedNoShows(database.db, as, id, new Date());
      out(noShows.length ? `repeated no-shows: ${noShows.map((n) => `${n.participantId} ×${n.noShows}`).join(', ')}` : 'no repeated no-shows');
      return;
    }
    case 'children': {
      const id = z.uuid().parse(a.id);
      const rows = await database.db.transaction((tx) => childrenOf(tx, as, id)).catch(explain);
      for (const r of rows) out(`  #${r.session} ${r.childName} ${r.childGrade ?? ''}  guardian ${r.guardianName} ${r.guardianPhone ? maskPhone(r.guardianPhone) : ''}  [${r.status}]`);
      if (rows.length === 0) out('no children recorded (or deleted at the end of term)');
      return;
    }
    case 'attend': {
      const id = z.uuid().parse(a.id);
      const present = z.enum(['yes', 'no']).parse(a.present) === 'yes';
      await cliWork(config, database, (uow) => markAttendance(uow, as, id, present, new Date())).catch(explain);
      out(present ? 'marked present' : 'marked absent');
      return;
    }
    case 'coverage': {
      const unit = await unitId(database, a.unit, '--unit');
      const reach = await checkScopes(database.db, as, [unit]);
      if (!reach.ok) explain(new ActivityError(reach.reason));
      const cells = await serviceCoverage(database.db, unit, new Date(), tz);
      for (const c of cells) out(`  ${c.community}\t${c.line}\t${c.held}/${c.aim}${c.met ? '' : '  ← below aim'}`);
      return;
    }
    default:
      throw new Error(`unknown activity command ${a.sub}\n${ACTIVITY_USAGE}`);
  }
}
