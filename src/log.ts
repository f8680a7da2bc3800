import pino from 'pino';

/**
 * Structured logs. Bindings carry ids (personId, caseId, jobId, updateId), never names, phone
 * numbers or message text; `redact` is a second line of defence for fields that slip through.
 */
export function createLogger(level: string = 'info') {
  return pino({
    level,
    base: { app: 'linli' },
    redact: { paths: ['phone', '*.phone', 'text', '*.text', 'displayName', '*.displayName', 'token', '*.token'], censor: '[redacted]' },
  });
}

export type Logger = ReturnType<typeof createLogger>;
