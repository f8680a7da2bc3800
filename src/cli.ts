import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ZodError } from 'zod';
import { connect, migrateDatabase, startEmbeddedPostgres, type Database, embeddedUrl } from '../db/client.js';
import { CatalogueError } from './cases/catalogue-admin.js';
import { COMMANDS, UsageError, usage, type CliCommand, type CommandSpec } from './cli/commands.js';
import { text } from './cli/text.js';
import { ConfigError, loadConfig, type Config } from './config.js';

/**
 * `npm run linli -- <command>`: the operator's tool for what the chat can't do by itself —
 * issuing codes, looking up the tree, editing the catalogue. A thin shell: it parses the command
 * line against the entry in src/cli/commands.ts, opens the database `npm start` uses
 * (DATABASE_URL, or the embedded PostgreSQL under DATA_DIR), runs the entry and maps refusals
 * to a message and an exit status.
 */

export { UsageError, usage, type CliCommand } from './cli/commands.js';

const camelCase = (name: string) => name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** argv (after the script name) → a checked command, or a UsageError saying what is wrong. */
export function parseCliArgs(argv: string[]): CliCommand {
  const [name = 'help', ...rest] = argv;
  const spec = (COMMANDS as Record<string, CommandSpec>)[name];
  if (!spec || !Object.hasOwn(COMMANDS, name)) throw new UsageError(text.unknownCommand(name));
  if (spec.ownParser) return { command: name, argv: rest } as CliCommand;
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: rest,
      options: Object.fromEntries((spec.options ?? []).map((o) => [o, { type: 'string' as const }])),
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    throw new UsageError(text.badOption((err as Error).message));
  }
  const names = spec.positionals ?? [];
  if (parsed.positionals.length > names.length) throw new UsageError(text.unexpectedArgument(parsed.positionals.slice(names.length)));
  const shape: Record<string, unknown> = {};
  names.forEach((field, i) => (shape[field] = parsed.positionals[i]));
  for (const [option, value] of Object.entries(parsed.values)) shape[camelCase(option)] = value;
  const result = spec.schema.safeParse(shape);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new UsageError(text.invalid(String(issue.path[0] ?? name), issue.message));
  }
  return { command: name, ...result.data } as CliCommand;
}

/** The database `npm start` uses: DATABASE_URL, else the embedded server (running under `npm start`, or started here). */
async function openDatabase(config: Config): Promise<{ database: Database; stop(): Promise<void> }> {
  if (config.database.url) {
    const database = connect(config.database.url, { max: 2 });
    return { database, stop: () => database.close() };
  }
  const probe = connect(embeddedUrl(config.dataDir, config.database.embeddedPort), { max: 2 });
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

/** Runs one command, printing through `out`. Domain refusals become UsageErrors with the operator's text. */
export async function runCli(command: CliCommand, config: Config, out: (line: string) => void): Promise<void> {
  const spec = COMMANDS[command.command] as CommandSpec;
  if (spec.database === false) return spec.run(command, { database: undefined as never, config, out });
  const { database, stop } = await openDatabase(config);
  try {
    await migrateDatabase(database);
    await spec.run(command, { database, config, out });
  } catch (err) {
    if (err instanceof CatalogueError) throw new UsageError(text.catalogue[err.reason]('unit' in command ? String(command.unit) : '', err.code));
    // A module's own parser checks its options with zod: say what is wrong, not the issue list.
    if (err instanceof ZodError) throw new UsageError(err.issues.map((i) => i.message).join('; '));
    throw err;
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
      if (err instanceof UsageError) console.error(`\n${usage()}`);
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
