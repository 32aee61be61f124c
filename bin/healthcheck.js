#!/usr/bin/env node
// The container's HEALTHCHECK: asks this process's own /healthz (PORT, or a worker's METRICS_PORT)
// and exits 0 when it answers 200 within a few seconds, 1 otherwise. A ROLE=worker process without
// METRICS_PORT serves no HTTP: there is nothing to ask, and it counts as healthy while it runs.
const role = process.env.ROLE ?? 'all';
const port = role === 'worker' ? process.env.METRICS_PORT : (process.env.PORT ?? '3000');
if (!port) process.exit(0);
try {
  const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(3_000) });
  process.exit(res.ok ? 0 : 1);
} catch {
  process.exit(1);
}
