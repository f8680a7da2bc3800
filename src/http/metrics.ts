import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

/** Prometheus metrics of one app instance (own registry, so tests can run several apps). */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'linli_' });
  return {
    registry,
    inbound: new Counter({
      name: 'linli_inbound_events_total',
      help: 'Inbound chat events by channel and result (handled, duplicate, invalid)',
      labelNames: ['channel', 'result'] as const,
      registers: [registry],
    }),
    delivered: new Counter({
      name: 'linli_outbox_results_total',
      help: 'Outbox delivery results by channel (sent, blocked, failed, retry_after)',
      labelNames: ['channel', 'result'] as const,
      registers: [registry],
    }),
    pendingOutbox: new Gauge({
      name: 'linli_outbox_pending',
      help: 'Outbox rows waiting to be delivered',
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
