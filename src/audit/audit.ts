import { auditLog } from '../../db/schema/index.js';
import type { Tx } from '../../db/client.js';

/** 操作留痕: one audit row. Ids only — never names, phones or message text. */
export async function recordAudit(
  tx: Tx,
  entry: { actorId: string | null; action: string; subjectType: string; subjectId: string; details?: Record<string, unknown> },
): Promise<void> {
  await tx.insert(auditLog).values({ ...entry, details: entry.details ?? {} });
}
