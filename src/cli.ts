import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { and, asc, eq, like } from 'drizzle-orm';
import { z } from 'zod';
import { connect, migrateDatabase, startEmbeddedPostgres, type Database } from '../db/client.js';
import { householdClaims, orgUnits, staffRole, subCommittee } from '../db/schema/index.js';
import { seedDemoIfEmpty } from '../db/seed/index.js';
import { recordAudit } from './audit/audit.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { createLogger } from './log.js';
import { childUnits, findUnitByCode } from './org/tree.js';
import { placeLabel } from './residents/household.js';
import { issueHouseholdInvite } from './residents/invites.js';
import { issueStaffCode } from './staff/codes.js';

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
  if (command === 'units' || command === 'claims' || command === 'invite') shape.unit = rest.shift();
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
