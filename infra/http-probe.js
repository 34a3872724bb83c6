// Healthcheck command of the worker images, which carry no curl: exits 0 when
// GET http://127.0.0.1:$METRICS_PORT<path> answers 2xx within 4 s, 1 otherwise (worker/worker-health.ts).
//   node infra/http-probe.js /readyz      (docker-compose.yml healthchecks)
const path = process.argv[2] ?? '/healthz';
const port = process.env.METRICS_PORT || '9464';
try {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(4000) });
  process.exitCode = response.ok ? 0 : 1;
} catch {
  process.exitCode = 1;
}
