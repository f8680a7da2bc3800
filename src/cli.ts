import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { and, asc, eq, isNull, like, or, sql } from 'drizzle-orm';
import { z } from 'zod';
import { connect, migrateDatabase, startEmbeddedPostgres, type Database } from '../db/client.js';
import { caseCategories, dutyList, householdClaims, orgUnits, slaPolicies, staffRole, subCommittee } from '../db/schema/index.js';
import { seedDemoIfEmpty } from '../db/seed/index.js';
import { recordAudit } from './audit/audit.js';
import { coverageReport } from './cases/coverage.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { createLogger } from './log.js';
import { childUnits, findUnitByCode } from './org/tree.js';
import { placeLabel } from './residents/household.js';
import { issueHouseholdInvite } from './residents/invites.js';
import { issueStaffCode, type SubCommittee } from './staff/codes.js';

/**
 * `npm run linli -- <command>`: the operator's tool for what the chat can't do by itself —
 * issuing codes, looking up the tree, listing pending claims. It uses the same configuration as
 * `npm start` (DATABASE_URL, or the embedded PostgreSQL under DATA_DIR). Operator text is English
 * and printed here; resident-facing text stays in the catalogues.
 */

export const USAGE = `linli — operator commands (npm run linli -- <command>)

  migrate                                   apply database migrations
  seed                                      load the 蛟河市 demo county if the database is empty
  units [UNIT_CODE]                         list the units under UNIT_CODE (or the top level)
  invite HOUSEHOLD_CODE [--uses N] [--days D]
                                            issue a household invite code (入户邀请码)
  staff-code ROLE UNIT_CODE [--sub-committee NAME] [--days D]
                                            issue a one-time staff binding code
  claims [UNIT_CODE]                        list household claims waiting for staff
  coverage                                  grids and communities nobody is bound to (cases wait there)
  categories COMMUNITY_CODE                 the community's case categories and who owns each (权责清单)
  category-add COMMUNITY_CODE CODE --zh 名称 [--ko 이름] [--en Name] [--emergency true]
                                            add a category of the community's own
  category-off COMMUNITY_CODE CODE          stop offering a category in that community
  duty COMMUNITY_CODE CATEGORY_CODE OWNER   set the owner: grid_worker | sub_committee:NAME |
                                            department:street|county:部门名称
  sla PRIORITY ACCEPT_MIN RESOLVE_MIN ESCALATE_MIN [--category CODE]
                                            deadlines (minutes) for a priority (urgent, normal, low)

  ROLE: ${staffRole.enumValues.join(', ')}
  NAME: ${subCommittee.enumValues.join(', ')}`;

const unitCode = z.string().min(1, 'a unit code (see `units`)');
const flags = {
  uses: z.coerce.number({ error: '--uses takes a whole number' }).int().min(1).max(50),
  days: z.coerce.number({ error: '--days takes a whole number' }).int().min(1).max(365),
};

export const cliCommandSchema = z.discriminatedUnion('command', [
  z.object({ command: z.literal('migrate') }),
  z.object({ command: z.literal('seed') }),
  z.object({ command: z.literal('units'), unit: unitCode.optional() }),
  z.object({ command: z.literal('invite'), unit: unitCode, uses: flags.uses.default(6), days: flags.days.optional() }),
  z.object({
    command: z.literal('staff-code'),
    role: z.enum(staffRole.enumValues, { error: `ROLE is one of ${staffRole.enumValues.join(', ')}` }),
    unit: unitCode,
    subCommittee: z.enum(subCommittee.enumValues, { error: `--sub-committee is one of ${subCommittee.enumValues.join(', ')}` }).optional(),
    days: flags.days.optional(),
  }),
  z.object({ command: z.literal('claims'), unit: unitCode.optional() }),
  z.object({ command: z.literal('categories'), unit: unitCode }),
  z.object({
    command: z.literal('category-add'),
    unit: unitCode,
    code: z.string().regex(/^[a-z0-9_-]{2,40}$/, 'CODE: 2–40 of a-z 0-9 _ -'),
    zh: z.string().trim().min(1, '--zh 名称 is required').max(40),
    ko: z.string().trim().max(40).optional(),
    en: z.string().trim().max(40).optional(),
    emergency: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
  }),
  z.object({ command: z.literal('category-off'), unit: unitCode, code: z.string().min(1) }),
  z.object({
    command: z.literal('duty'),
    unit: unitCode,
    code: z.string().min(1),
    owner: z.union(
      [
        z.literal('grid_worker').transform(() => ({ owner: 'grid_worker' as const })),
        z
          .string()
          .regex(new RegExp(`^sub_committee:(${subCommittee.enumValues.join('|')})$`))
          .transform((v) => ({ owner: 'sub_committee' as const, subCommittee: v.split(':')[1] as SubCommittee })),
        z
          .string()
          .regex(/^department:(street|county):.{1,60}$/)
          .transform((v) => {
            const [, level, ...name] = v.split(':');
            return { owner: 'department' as const, level: level as 'street' | 'county', department: name.join(':') };
          }),
      ],
      { error: `OWNER is grid_worker, sub_committee:<${subCommittee.enumValues.join('|')}> or department:<street|county>:<name>` },
    ),
  }),
  z.object({
    command: z.literal('sla'),
    priority: z.enum(['urgent', 'normal', 'low'], { error: 'PRIORITY is urgent, normal or low' }),
    accept: z.coerce.number().int().min(1).max(100_000),
    resolve: z.coerce.number().int().min(1).max(1_000_000),
    escalate: z.coerce.number().int().min(1).max(100_000),
    category: z.string().optional(),
  }),
  z.object({ command: z.literal('coverage') }),
  z.object({ command: z.literal('help') }),
]);
export type CliCommand = z.infer<typeof cliCommandSchema>;

export class UsageError extends Error {}

/** argv (after the script name) → a checked command, or a UsageError saying what is wrong. */
export function parseCliArgs(argv: string[]): CliCommand {
  const positional: string[] = [];
  const named: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg.startsWith('--')) {
      const [key, inline] = arg.slice(2).split('=', 2);
      const value = inline ?? argv[++i];
      if (!key || value === undefined) throw new UsageError(`${arg} needs a value`);
      named[key.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())] = value;
    } else positional.push(arg);
  }
  const [command = 'help', ...rest] = positional;
  const shape: Record<string, unknown> = { command, ...named };
  if (command === 'units' || command === 'claims' || command === 'invite' || command === 'categories') shape.unit = rest.shift();
  if (command === 'category-add' || command === 'category-off' || command === 'duty') {
    shape.unit = rest.shift();
    shape.code = rest.shift();
    if (command === 'duty') shape.owner = rest.shift();
  }
  if (command === 'sla') {
    shape.priority = rest.shift();
    shape.accept = rest.shift();
    shape.resolve = rest.shift();
    shape.escalate = rest.shift();
  }
  if (command === 'staff-code') {
    shape.role = rest.shift();
    shape.unit = rest.shift();
  }
  if (rest.length) throw new UsageError(`unexpected argument: ${rest.join(' ')}`);
  const parsed = cliCommandSchema.safeParse(shape);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    if (issue.path[0] === 'command') throw new UsageError(`unknown command: ${command}`);
    throw new UsageError(`${String(issue.path[0] ?? command)}: ${issue.message}`);
  }
  return parsed.data;
}

async function openDatabase(config: Config): Promise<{ database: Database; stop(): Promise<void> }> {
  if (config.database.url) {
    const database = connect(config.database.url, { max: 2 });
    return { database, stop: () => database.close() };
  }
  // The embedded server may already be running under `npm start`; use it, else start our own.
  const url = `postgres://linli:linli@127.0.0.1:${config.database.embeddedPort}/linli`;
  const probe = connect(url, { max: 1 });
  try {
    await probe.sql`select 1`;
    return { database: probe, stop: () => probe.close() };
  } catch {
    await probe.close().catch(() => {});
  }
  const embedded = await startEmbeddedPostgres(config.dataDir, config.database.embeddedPort);
  const database = connect(embedded.url, { max: 2 });
  return {
    database,
    stop: async () => {
      await database.close();
      await embedded.stop();
    },
  };
}

async function communityOrFail(database: Database, code: string) {
  const unit = await unitOrFail(database, code);
  if (unit.kind !== 'community') throw new UsageError(`${code} is a ${unit.kind}; give a community code`);
  return unit;
}

async function categoryOrFail(database: Database, communityId: number, code: string) {
  const [cat] = await database.db
    .select()
    .from(caseCategories)
    .where(and(eq(caseCategories.code, code), or(isNull(caseCategories.communityId), eq(caseCategories.communityId, communityId))))
    .orderBy(sql`${caseCategories.communityId} nulls last`);
  if (!cat) throw new UsageError(`no category ${code} (list them with \`categories\`)`);
  return cat;
}

async function unitOrFail(database: Database, code: string) {
  const unit = await findUnitByCode(database.db, code);
  if (!unit) throw new UsageError(`no unit with code ${code} (list them with \`units\`)`);
  return unit;
}

/** Runs one command; returns the lines to print. */
export async function runCli(command: CliCommand, config: Config, out: (line: string) => void): Promise<void> {
  if (command.command === 'help') {
    out(USAGE);
    return;
  }
  const { database, stop } = await openDatabase(config);
  try {
    await migrateDatabase(database);
    switch (command.command) {
      case 'migrate':
        out('migrations applied');
        return;
      case 'seed': {
        const result = await seedDemoIfEmpty(database, config, createLogger('silent'));
        out(result.summary);
        return;
      }
      case 'units': {
        const parent = command.unit ? await unitOrFail(database, command.unit) : undefined;
        const units = await childUnits(database.db, parent?.id ?? null);
        if (!units.length) out('(none)');
        for (const u of units) out(`${u.code}\t${u.kind}\t${u.name}${u.floorAreaM2 ? `\t${u.floorAreaM2} m²` : ''}`);
        return;
      }
      case 'invite': {
        const unit = await unitOrFail(database, command.unit);
        if (unit.kind !== 'household') throw new UsageError(`${command.unit} is a ${unit.kind}; invites are for households`);
        const expiresAt = command.days ? new Date(Date.now() + command.days * 86_400_000) : undefined;
        const { code } = await database.db.transaction(async (tx) => {
          const issued = await issueHouseholdInvite(tx, { householdId: unit.id, maxUses: command.uses, expiresAt });
          await recordAudit(tx, { actorId: null, action: 'cli.invite_issued', subjectType: 'org_unit', subjectId: String(unit.id), details: { uses: command.uses } });
          return issued;
        });
        out(`${code}\t${await placeLabel(database.db, unit.id)}\tup to ${command.uses} people${expiresAt ? `, until ${expiresAt.toISOString().slice(0, 10)}` : ''}`);
        return;
      }
      case 'staff-code': {
        const unit = await unitOrFail(database, command.unit);
        if (command.role === 'subcommittee_member' && !command.subCommittee) {
          throw new UsageError('subcommittee_member needs --sub-committee NAME');
        }
        const ttlDays = command.days ?? config.staffCodeTtlDays;
        const { code, expiresAt } = await database.db.transaction(async (tx) => {
          const issued = await issueStaffCode(tx, { role: command.role, orgUnitId: unit.id, subCommittee: command.subCommittee, ttlDays });
          await recordAudit(tx, {
            actorId: null,
            action: 'cli.staff_code_issued',
            subjectType: 'org_unit',
            subjectId: String(unit.id),
            details: { role: command.role, subCommittee: command.subCommittee ?? null },
          });
          return issued;
        });
        out(`${code}\t${command.role}${command.subCommittee ? `/${command.subCommittee}` : ''} · ${unit.name}\tone use, until ${expiresAt.toISOString().slice(0, 10)}`);
        out('Send it to the person privately; they bind by sending "/staff CODE" to the bot.');
        return;
      }
      case 'categories': {
        const community = await communityOrFail(database, command.unit);
        const rows = await database.db
          .select({ id: caseCategories.id, code: caseCategories.code, names: caseCategories.names, emergency: caseCategories.emergency, own: caseCategories.communityId })
          .from(caseCategories)
          .where(and(eq(caseCategories.active, true), or(isNull(caseCategories.communityId), eq(caseCategories.communityId, community.id))))
          .orderBy(asc(caseCategories.sortOrder), asc(caseCategories.id));
        const duties = await database.db.select().from(dutyList).where(eq(dutyList.communityId, community.id));
        for (const r of rows) {
          const d = duties.find((x) => x.categoryId === r.id);
          const owner = !d ? 'grid_worker (default)' : d.owner === 'sub_committee' ? `sub_committee:${d.subCommittee}` : d.owner === 'department' ? `department:${d.departmentLevel}:${d.department}` : 'grid_worker';
          out(`${r.code}\t${r.names['zh-CN']}${r.emergency ? ' (紧急)' : ''}\t${owner}${r.own ? '\t(own)' : ''}`);
        }
        return;
      }
      case 'category-add': {
        const community = await communityOrFail(database, command.unit);
        await database.db.transaction(async (tx) => {
          const [row] = await tx
            .insert(caseCategories)
            .values({ communityId: community.id, code: command.code, names: { 'zh-CN': command.zh, ...(command.ko ? { ko: command.ko } : {}), ...(command.en ? { en: command.en } : {}) }, emergency: command.emergency, sortOrder: 500 })
            .onConflictDoNothing()
            .returning({ id: caseCategories.id });
          if (!row) throw new UsageError(`${command.unit} already has a category ${command.code}`);
          await tx.insert(dutyList).values({ communityId: community.id, categoryId: row.id, owner: 'grid_worker' });
          await recordAudit(tx, { actorId: null, action: 'cli.category_added', subjectType: 'case_category', subjectId: String(row.id) });
        });
        out(`added ${command.code} (${command.zh}) to ${community.name}; owner grid_worker — change it with \`duty\``);
        return;
      }
      case 'category-off': {
        const community = await communityOrFail(database, command.unit);
        const cat = await categoryOrFail(database, community.id, command.code);
        if (cat.communityId === null) {
          // County-wide categories are shared by every community; one community can only re-route them.
          throw new UsageError(`${command.code} is county-wide; ask the county admin to retire it, or set its owner with \`duty\``);
        }
        await database.db.update(caseCategories).set({ active: false }).where(eq(caseCategories.id, cat.id));
        out(`${command.code} is no longer offered in ${community.name}`);
        return;
      }
      case 'duty': {
        const community = await communityOrFail(database, command.unit);
        const cat = await categoryOrFail(database, community.id, command.code);
        const o = command.owner;
        const row = {
          owner: o.owner,
          subCommittee: o.owner === 'sub_committee' ? o.subCommittee : null,
          department: o.owner === 'department' ? o.department : null,
          departmentLevel: o.owner === 'department' ? o.level : null,
        };
        await database.db.transaction(async (tx) => {
          await tx
            .insert(dutyList)
            .values({ communityId: community.id, categoryId: cat.id, ...row })
            .onConflictDoUpdate({ target: [dutyList.communityId, dutyList.categoryId], set: row });
          await recordAudit(tx, { actorId: null, action: 'cli.duty_set', subjectType: 'org_unit', subjectId: String(community.id), details: { category: cat.code, ...row } });
        });
        out(`${community.name} · ${cat.code} → ${o.owner}${row.subCommittee ? `:${row.subCommittee}` : ''}${row.department ? `:${row.departmentLevel}:${row.department}` : ''}`);
        return;
      }
      case 'sla': {
        let categoryId: number | null = null;
        if (command.category) {
          const [cat] = await database.db.select({ id: caseCategories.id }).from(caseCategories).where(and(eq(caseCategories.code, command.category), isNull(caseCategories.communityId)));
          if (!cat) throw new UsageError(`no county-wide category ${command.category}`);
          categoryId = cat.id;
        }
        const values = { acceptMinutes: command.accept, resolveMinutes: command.resolve, escalationMinutes: command.escalate };
        const [existing] = await database.db
          .select({ id: slaPolicies.id })
          .from(slaPolicies)
          .where(and(eq(slaPolicies.priority, command.priority), categoryId === null ? isNull(slaPolicies.categoryId) : eq(slaPolicies.categoryId, categoryId)));
        if (existing) await database.db.update(slaPolicies).set(values).where(eq(slaPolicies.id, existing.id));
        else await database.db.insert(slaPolicies).values({ categoryId, priority: command.priority, ...values });
        out(`${command.priority}${command.category ? ` · ${command.category}` : ''}: accept ${command.accept} min, resolve ${command.resolve} min, each level above ${command.escalate} min`);
        return;
      }
      case 'coverage':
        for (const line of await coverageReport(database.db)) out(line);
        return;
      case 'claims': {
        const scope = command.unit ? await unitOrFail(database, command.unit) : undefined;
        const rows = await database.db
          .select({ id: householdClaims.id, householdId: householdClaims.householdId, createdAt: householdClaims.createdAt })
          .from(householdClaims)
          .innerJoin(orgUnits, eq(orgUnits.id, householdClaims.householdId))
          .where(and(eq(householdClaims.status, 'pending'), scope ? like(orgUnits.path, `${scope.path}%`) : undefined))
          .orderBy(asc(householdClaims.createdAt));
        if (!rows.length) out('no pending claims');
        for (const r of rows) out(`#${r.id}\t${await placeLabel(database.db, r.householdId)}\tsince ${r.createdAt.toISOString()}`);
        return;
      }
    }
  } finally {
    await stop();
  }
}

async function main() {
  let config: Config;
  let command: CliCommand;
  try {
    config = loadConfig(process.env);
    command = parseCliArgs(process.argv.slice(2));
  } catch (err) {
    if (err instanceof ConfigError || err instanceof UsageError) {
      console.error(err.message);
      if (err instanceof UsageError) console.error(`\n${USAGE}`);
      process.exit(2);
    }
    throw err;
  }
  try {
    await runCli(command, config, (line) => console.log(line));
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    process.exit(err instanceof UsageError ? 2 : 1);
  }
}

// Runs when executed (`tsx src/cli.ts`), not when imported by tests.
if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) void main();
