import { and, asc, eq, like } from 'drizzle-orm';
import { z } from 'zod';
import type { Database } from '../../db/client.js';
import { householdClaims, orgUnits, staffRole, subCommittee } from '../../db/schema/index.js';
import { seedDemoIfEmpty } from '../../db/seed/index.js';
import { recordAudit } from '../audit/audit.js';
import { addCategory, categoriesWithOwners, retireCategory, setDeadlinePolicy, setDuty, type Actor, type DutyOwner } from '../cases/catalogue-admin.js';
import type { Config } from '../config.js';
import { createLogger } from '../log.js';
import { coverageReport } from '../cases/coverage.js';
import { childUnits, findUnitByCode } from '../org/tree.js';
import { floorAreaM2 } from '../org/household-record.js';
import { runHouseholdCommand } from '../org/household-cli.js';
import { placeLabel } from '../residents/household.js';
import { issueHouseholdInvite } from '../residents/invites.js';
import { issueStaffCode, type SubCommittee } from '../staff/codes.js';
import { NOTICE_USAGE, runNoticeCli } from '../notices/cli.js';
import { ACTIVITY_OPTIONS, ACTIVITY_USAGE, runActivityCli } from '../activities/cli.js';
import { runVolunteerCli, VOLUNTEER_OPTIONS, VOLUNTEER_USAGE } from '../volunteers/cli.js';
import { CONSULTATION_USAGE, runConsultationCli, verifyBallots } from '../consultations/cli.js';
import { codeKey } from '../secrets.js';
import { text } from './text.js';

/**
 * The operator's commands, one entry each: its usage line, its positional arguments and options
 * (parsed by node:util parseArgs in src/cli.ts), the zod schema of both, and what it does.
 * Adding a command is adding an entry to COMMANDS. Domain writes live in their modules and take
 * a transaction; an entry only finds the units it names and prints the result.
 */

/** A mistake on the command line or in what it names: printed with the usage, exit status 2. */
export class UsageError extends Error {}

/** A check that found a problem (verify-ballots): exit status 1, its findings already printed. */
export class VerifyFailed extends Error {
  constructor() {
    super('verification failed');
  }
}

export interface CliContext {
  database: Database;
  config: Config;
  out(line: string): void;
}

export interface CommandSpec<S extends z.ZodObject = z.ZodObject> {
  /** e.g. `invite HOUSEHOLD_CODE [--uses N] [--days D]`. */
  usage: string;
  about: string;
  /** Schema keys filled from the positional arguments, in order. */
  positionals?: readonly string[];
  /** Options (`--name value` or `--name=value`); `--sub-committee` fills `subCommittee`. */
  options?: readonly string[];
  schema: S;
  /**
   * True for a module that parses its own sub-commands (src/notices/cli.ts, src/consultations/cli.ts):
   * the words after the command name reach it as `argv`, unparsed.
   */
  ownParser?: true;
  /** False for commands that need no database (help). */
  database?: false;
  run(args: z.infer<S>, ctx: CliContext): Promise<void>;
}

const command = <S extends z.ZodObject>(spec: CommandSpec<S>) => spec;

/** Changes made from the CLI are audited as made by nobody in particular, via the CLI. */
const OPERATOR: Actor = { actorId: null, via: 'cli' };

const unitCode = z.string().min(1, 'a unit code (see `units`)');
const uses = z.coerce.number({ error: '--uses takes a whole number' }).int().min(1).max(50);
const days = z.coerce.number({ error: '--days takes a whole number' }).int().min(1).max(365);
const minutes = (max: number) => z.coerce.number().int().min(1).max(max);

/** A command with sub-commands: SUB, an optional id, and the string options its module parses (parseArgs keeps to `options`). */
const subCommandSchema = z.object({ sub: z.string({ error: 'a sub-command' }), id: z.string().optional() }).catchall(z.string().optional());
type SubCommandArgs = z.infer<typeof subCommandSchema>;

function subCommand(usage: string, about: string, options: readonly string[], run: (args: SubCommandArgs, config: Config, database: Database, out: (line: string) => void) => Promise<void>) {
  return command({ usage, about, positionals: ['sub', 'id'], options, schema: subCommandSchema, run: (args, { database, config, out }) => run(args, config, database, out) });
}

/** A module with its own parser (node:util parseArgs in the module): the rest of the line as it came. */
const ownParserSchema = z.object({ argv: z.array(z.string()) });
function ownParser(usage: string, about: string, run: (argv: string[], config: Config, database: Database, out: (line: string) => void) => Promise<void>) {
  return command({ usage, about, ownParser: true, schema: ownParserSchema, run: (args, { database, config, out }) => run(args.argv, config, database, out) });
}

const dutyOwner = z.union(
  [
    z.literal('grid_worker').transform((): DutyOwner => ({ owner: 'grid_worker' })),
    z
      .string()
      .regex(new RegExp(`^sub_committee:(${subCommittee.enumValues.join('|')})$`))
      .transform((v): DutyOwner => ({ owner: 'sub_committee', subCommittee: v.split(':')[1] as SubCommittee })),
    z
      .string()
      .regex(/^department:(street|county):.{1,60}$/)
      .transform((v): DutyOwner => {
        const [, level, ...name] = v.split(':');
        return { owner: 'department', level: level as 'street' | 'county', department: name.join(':') };
      }),
  ],
  { error: `OWNER is grid_worker, sub_committee:<${subCommittee.enumValues.join('|')}> or department:<street|county>:<name>` },
);

async function unitOrFail(database: Database, code: string) {
  const unit = await findUnitByCode(database.db, code);
  if (!unit) throw new UsageError(text.noUnit(code));
  return unit;
}

async function communityOrFail(database: Database, code: string) {
  const unit = await unitOrFail(database, code);
  if (unit.kind !== 'community') throw new UsageError(text.notCommunity(code, unit.kind));
  return unit;
}

function ownerLabel(owner: DutyOwner): string {
  return owner.owner === 'sub_committee' ? `sub_committee:${owner.subCommittee}` : owner.owner === 'department' ? `department:${owner.level}:${owner.department}` : 'grid_worker';
}

export const COMMANDS = {
  migrate: command({
    usage: 'migrate',
    about: 'apply database migrations',
    schema: z.object({}),
    async run(_, { out }) {
      out(text.migrated); // the shell migrates before every command
    },
  }),
  seed: command({
    usage: 'seed',
    about: 'load the 蛟河市 demo county if the database is empty',
    schema: z.object({}),
    async run(_, { database, config, out }) {
      out((await seedDemoIfEmpty(database, config, createLogger('silent'))).summary);
    },
  }),
  units: command({
    usage: 'units [UNIT_CODE]',
    about: 'list the units under UNIT_CODE (or the top level)',
    positionals: ['unit'],
    schema: z.object({ unit: unitCode.optional() }),
    async run({ unit }, { database, out }) {
      const parent = unit ? await unitOrFail(database, unit) : undefined;
      const units = await childUnits(database.db, parent?.id ?? null);
      if (!units.length) out(text.none);
      for (const u of units) out(`${u.code}\t${u.kind}\t${u.name}${u.floorAreaM2 ? `\t${u.floorAreaM2} m²` : ''}`);
    },
  }),
  invite: command({
    usage: 'invite HOUSEHOLD_CODE [--uses N] [--days D]',
    about: 'issue a household invite code (入户邀请码)',
    positionals: ['unit'],
    options: ['uses', 'days'],
    schema: z.object({ unit: unitCode, uses: uses.default(6), days: days.optional() }),
    async run(args, { database, config, out }) {
      const unit = await unitOrFail(database, args.unit);
      if (unit.kind !== 'household') throw new UsageError(text.notHousehold(args.unit, unit.kind));
      const until = args.days ? new Date(Date.now() + args.days * 86_400_000) : undefined;
      const { code } = await database.db.transaction(async (tx) => {
        const issued = await issueHouseholdInvite(tx, { householdId: unit.id, maxUses: args.uses, expiresAt: until, key: codeKey(config) });
        await recordAudit(tx, { actorId: null, action: 'cli.invite_issued', subjectType: 'org_unit', subjectId: String(unit.id), details: { uses: args.uses } });
        return issued;
      });
      out(text.inviteIssued({ code, place: await placeLabel(database.db, unit.id), uses: args.uses, until }));
    },
  }),
  /** 房屋登记 (src/org/household-record.ts): floor area and owner flag, kept by staff who reach the home. */
  household: command({
    usage: 'household show|set HOUSEHOLD_CODE --as PERSON [--area M2] [--owner yes|no]',
    about: "a home's floor area (m², for art. 278 votes) and owner flag (业主), as that staff member",
    positionals: ['sub', 'unit'],
    options: ['as', 'area', 'owner'],
    schema: z
      .object({
        sub: z.enum(['show', 'set'], { error: 'household show|set HOUSEHOLD_CODE …' }),
        unit: unitCode,
        as: z.uuid({ error: '--as takes the staff member’s person id' }),
        area: floorAreaM2.optional(),
        owner: z.enum(['yes', 'no'], { error: '--owner is yes or no' }).transform((v) => v === 'yes').optional(),
      })
      .refine((a) => (a.sub === 'set') === (a.area !== undefined || a.owner !== undefined), {
        path: ['area'],
        error: 'set takes --area M2 and/or --owner yes|no; show takes neither',
      }),
    async run(args, { database, config, out }) {
      const unit = await unitOrFail(database, args.unit);
      await runHouseholdCommand({ sub: args.sub, as: args.as, floorAreaM2: args.area, owner: args.owner }, unit, config, database, out);
    },
  }),
  'staff-code': command({
    usage: 'staff-code ROLE UNIT_CODE [--sub-committee NAME] [--days D]',
    about: 'issue a one-time staff binding code',
    positionals: ['role', 'unit'],
    options: ['sub-committee', 'days'],
    schema: z.object({
      role: z.enum(staffRole.enumValues, { error: `ROLE is one of ${staffRole.enumValues.join(', ')}` }),
      unit: unitCode,
      subCommittee: z.enum(subCommittee.enumValues, { error: `--sub-committee is one of ${subCommittee.enumValues.join(', ')}` }).optional(),
      days: days.optional(),
    }),
    async run(args, { database, config, out }) {
      const unit = await unitOrFail(database, args.unit);
      if (args.role === 'subcommittee_member' && !args.subCommittee) throw new UsageError(text.needsSubCommittee);
      const { code, expiresAt } = await database.db.transaction(async (tx) => {
        const issued = await issueStaffCode(tx, { role: args.role, orgUnitId: unit.id, subCommittee: args.subCommittee, ttlDays: args.days ?? config.staffCodeTtlDays, key: codeKey(config) });
        await recordAudit(tx, {
          actorId: null,
          action: 'cli.staff_code_issued',
          subjectType: 'org_unit',
          subjectId: String(unit.id),
          details: { role: args.role, subCommittee: args.subCommittee ?? null },
        });
        return issued;
      });
      out(text.staffCodeIssued({ code, role: args.role, subCommittee: args.subCommittee, unit: unit.name, until: expiresAt }));
      out(text.staffCodeHowTo);
    },
  }),
  claims: command({
    usage: 'claims [UNIT_CODE]',
    about: 'list household claims waiting for staff',
    positionals: ['unit'],
    schema: z.object({ unit: unitCode.optional() }),
    async run({ unit }, { database, out }) {
      const scope = unit ? await unitOrFail(database, unit) : undefined;
      const rows = await database.db
        .select({ id: householdClaims.id, householdId: householdClaims.householdId, createdAt: householdClaims.createdAt })
        .from(householdClaims)
        .innerJoin(orgUnits, eq(orgUnits.id, householdClaims.householdId))
        .where(and(eq(householdClaims.status, 'pending'), scope ? like(orgUnits.path, `${scope.path}%`) : undefined))
        .orderBy(asc(householdClaims.createdAt));
      if (!rows.length) out(text.noClaims);
      for (const r of rows) out(text.claim({ id: r.id, place: await placeLabel(database.db, r.householdId), since: r.createdAt }));
    },
  }),
  coverage: command({
    usage: 'coverage',
    about: 'grids and communities nobody is bound to (cases wait there)',
    schema: z.object({}),
    async run(_args, { database, out }) {
      for (const line of await coverageReport(database.db)) out(line);
    },
  }),
  categories: command({
    usage: 'categories COMMUNITY_CODE',
    about: "the community's case categories and who owns each (权责清单)",
    positionals: ['unit'],
    schema: z.object({ unit: unitCode }),
    async run({ unit }, { database, out }) {
      const community = await communityOrFail(database, unit);
      for (const c of await categoriesWithOwners(database.db, community.id)) {
        out(`${c.code}\t${c.names['zh-CN']}${c.emergency ? ' (紧急)' : ''}\t${c.owner ? ownerLabel(c.owner) : 'grid_worker (default)'}${c.own ? '\t(own)' : ''}`);
      }
    },
  }),
  'category-add': command({
    usage: 'category-add COMMUNITY_CODE CODE --zh 名称 [--ko 이름] [--en Name] [--emergency true]',
    about: "add a category of the community's own",
    positionals: ['unit', 'code'],
    options: ['zh', 'ko', 'en', 'emergency'],
    schema: z.object({
      unit: unitCode,
      code: z.string().regex(/^[a-z0-9_-]{2,40}$/, 'CODE: 2–40 of a-z 0-9 _ -'),
      zh: z.string().trim().min(1, '--zh 名称 is required').max(40),
      ko: z.string().trim().max(40).optional(),
      en: z.string().trim().max(40).optional(),
      emergency: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
    }),
    async run(args, { database, out }) {
      const community = await communityOrFail(database, args.unit);
      const names = { 'zh-CN': args.zh, ...(args.ko ? { ko: args.ko } : {}), ...(args.en ? { en: args.en } : {}) };
      await database.db.transaction((tx) => addCategory(tx, OPERATOR, { communityId: community.id, code: args.code, names, emergency: args.emergency }));
      out(text.categoryAdded({ code: args.code, name: args.zh, community: community.name }));
    },
  }),
  'category-off': command({
    usage: 'category-off COMMUNITY_CODE CODE',
    about: 'stop offering a category in that community',
    positionals: ['unit', 'code'],
    schema: z.object({ unit: unitCode, code: z.string().min(1) }),
    async run(args, { database, out }) {
      const community = await communityOrFail(database, args.unit);
      await database.db.transaction((tx) => retireCategory(tx, OPERATOR, { communityId: community.id, code: args.code }));
      out(text.categoryRetired({ code: args.code, community: community.name }));
    },
  }),
  duty: command({
    usage: 'duty COMMUNITY_CODE CATEGORY_CODE OWNER',
    about: 'set the owner: grid_worker | sub_committee:NAME | department:street|county:部门名称',
    positionals: ['unit', 'code', 'owner'],
    schema: z.object({ unit: unitCode, code: z.string().min(1), owner: dutyOwner }),
    async run(args, { database, out }) {
      const community = await communityOrFail(database, args.unit);
      await database.db.transaction((tx) => setDuty(tx, OPERATOR, { communityId: community.id, code: args.code, owner: args.owner }));
      out(text.dutySet({ community: community.name, code: args.code, owner: ownerLabel(args.owner) }));
    },
  }),
  sla: command({
    usage: 'sla PRIORITY ACCEPT_MIN RESOLVE_MIN ESCALATE_MIN [--category CODE]',
    about: 'deadlines (minutes) for a priority (urgent, normal, low)',
    positionals: ['priority', 'accept', 'resolve', 'escalate'],
    options: ['category'],
    schema: z.object({
      priority: z.enum(['urgent', 'normal', 'low'], { error: 'PRIORITY is urgent, normal or low' }),
      accept: minutes(100_000),
      resolve: minutes(1_000_000),
      escalate: minutes(100_000),
      category: z.string().optional(),
    }),
    async run(args, { database, out }) {
      await database.db.transaction((tx) =>
        setDeadlinePolicy(tx, OPERATOR, {
          priority: args.priority,
          categoryCode: args.category,
          acceptMinutes: args.accept,
          resolveMinutes: args.resolve,
          escalationMinutes: args.escalate,
        }),
      );
      out(text.deadlinesSet({ priority: args.priority, category: args.category, accept: args.accept, resolve: args.resolve, escalate: args.escalate }));
    },
  }),
  /** 通知公告 (src/notices/cli.ts): its sub-commands are listed in NOTICE_USAGE. */
  notice: ownParser('notice SUB …', 'notices: draft, send, stats, unread, correct, withdraw, group (below)', runNoticeCli),
  /** 社区协商 (src/consultations/cli.ts): its sub-commands are listed in CONSULTATION_USAGE. */
  consultation: ownParser('consultation SUB …', 'consultations: create, open, close, publish, paper, proxy, turnout, result, ballots, topics, answer (below)', runConsultationCli),
  /** 幸福学堂 (src/activities/cli.ts): its sub-commands are listed in ACTIVITY_USAGE. */
  activity: subCommand('activity SUB [ID] --as PERSON …', 'activities and series: create, report, children, attend, coverage (below)', ACTIVITY_OPTIONS, runActivityCli),
  /** 志愿服务 (src/volunteers/cli.ts): its sub-commands are listed in VOLUNTEER_USAGE. */
  volunteer: subCommand('volunteer SUB [ID] …', 'volunteers: profile, party-report, reported, task, hours, ledger, summary, roster, missed (below)', VOLUNTEER_OPTIONS, runVolunteerCli),
  'verify-ballots': command({
    usage: 'verify-ballots CONSULTATION_ID',
    about: 'recompute a consultation’s ballot chain and tally; names the first row that does not match',
    positionals: ['id'],
    schema: z.object({ id: z.uuid({ error: 'CONSULTATION_ID is the consultation’s id' }) }),
    async run(args, { database, config, out }) {
      if (!(await verifyBallots(database.db, args.id, config.defaultLocale, out))) throw new VerifyFailed();
    },
  }),
  help: command({
    usage: 'help',
    about: 'this list',
    schema: z.object({}),
    database: false,
    async run(_, { out }) {
      out(usage());
    },
  }),
} satisfies Record<string, CommandSpec<any>>;

export type CommandName = keyof typeof COMMANDS;
/** A parsed command line: the command's name and its checked arguments. */
export type CliCommand = { [K in CommandName]: { command: K } & z.infer<(typeof COMMANDS)[K]['schema']> }[CommandName];

/** The usage text, from the entries. */
export function usage(): string {
  const lines = Object.values(COMMANDS as Record<string, CommandSpec>).map((c) =>
    c.usage.length < 42 ? `  ${c.usage.padEnd(42)}${c.about}` : `  ${c.usage}\n  ${' '.repeat(42)}${c.about}`,
  );
  return [text.usageTitle, '', ...lines, NOTICE_USAGE, CONSULTATION_USAGE, ACTIVITY_USAGE, VOLUNTEER_USAGE, '', `  ROLE: ${staffRole.enumValues.join(', ')}`, `  NAME: ${subCommittee.enumValues.join(', ')}`].join('\n');
}
