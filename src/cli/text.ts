import type { CatalogueProblem } from '../cases/catalogue-admin.js';

/**
 * What the operator's CLI prints, in one place (operators read English; resident-facing text
 * stays in src/i18n). Functions take what they show.
 */
export const text = {
  usageTitle: 'linli — operator commands (npm run linli -- <command>)',
  unknownCommand: (name: string) => `unknown command: ${name}`,
  unexpectedArgument: (args: string[]) => `unexpected argument: ${args.join(' ')}`,
  badOption: (detail: string) => `bad option: ${detail}`,
  invalid: (field: string, message: string) => `${field}: ${message}`,
  noUnit: (code: string) => `no unit with code ${code} (list them with \`units\`)`,
  notCommunity: (code: string, kind: string) => `${code} is a ${kind}; give a community code`,
  notHousehold: (code: string, kind: string) => `${code} is a ${kind}; invites are for households`,
  needsSubCommittee: 'subcommittee_member needs --sub-committee NAME',
  none: '(none)',
  migrated: 'migrations applied',
  inviteIssued: (p: { code: string; place: string; uses: number; until?: Date }) =>
    `${p.code}\t${p.place}\tup to ${p.uses} people${p.until ? `, until ${day(p.until)}` : ''}`,
  staffCodeIssued: (p: { code: string; role: string; subCommittee?: string; unit: string; until: Date }) =>
    `${p.code}\t${p.role}${p.subCommittee ? `/${p.subCommittee}` : ''} · ${p.unit}\tone use, until ${day(p.until)}`,
  staffCodeHowTo: 'Send it to the person privately; they bind by sending "/staff CODE" to the bot.',
  categoryAdded: (p: { code: string; name: string; community: string }) =>
    `added ${p.code} (${p.name}) to ${p.community}; owner grid_worker — change it with \`duty\``,
  categoryRetired: (p: { code: string; community: string }) => `${p.code} is no longer offered in ${p.community}`,
  dutySet: (p: { community: string; code: string; owner: string }) => `${p.community} · ${p.code} → ${p.owner}`,
  deadlinesSet: (p: { priority: string; category?: string; accept: number; resolve: number; escalate: number }) =>
    `${p.priority}${p.category ? ` · ${p.category}` : ''}: accept ${p.accept} min, resolve ${p.resolve} min, each level above ${p.escalate} min`,
  noClaims: 'no pending claims',
  claim: (p: { id: number; place: string; since: Date }) => `#${p.id}\t${p.place}\tsince ${p.since.toISOString()}`,
  /** Refusals of the catalogue commands (src/cases/catalogue-admin.ts), with the community's code. */
  catalogue: {
    category_exists: (unit: string, code: string) => `${unit} already has a category ${code}`,
    no_category: (_unit: string, code: string) => `no category ${code} (list them with \`categories\`)`,
    county_wide: (_unit: string, code: string) => `${code} is county-wide; ask the county admin to retire it, or set its owner with \`duty\``,
    no_county_category: (_unit: string, code: string) => `no county-wide category ${code}`,
  } satisfies Record<CatalogueProblem, (unit: string, code: string) => string>,
};

function day(d: Date): string {
  return d.toISOString().slice(0, 10);
}
