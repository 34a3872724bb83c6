// infra/grafana: every panel's query is valid PromQL (Prometheus' own parser, lezer-promql) and
// names only metrics that a real worker process serves on /metrics, scraped live here; the panels
// use the provisioned data source. The compose healthcheck's probe (infra/http-probe.js) is run
// against the same worker.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parser } from '@prometheus-io/lezer-promql';
import { parse } from 'yaml';
import { freePort } from '../../shared/free-port.ts';
import { type ServerProcess, startServerProcess } from '../harness/child-process.ts';
import { useRedis } from '../harness/redis-server.ts';
import { teardown } from '../harness/set-up-scope.ts';
import { uniqueName } from '../harness/unique-name.ts';
import { repoFile } from './infra-files.ts';

interface Panel {
  title: string;
  datasource?: { uid?: string };
  targets?: { expr: string; datasource?: { uid?: string } }[];
}

const dashboard = JSON.parse(repoFile('infra/grafana/dashboards/resnet-batch.json')) as {
  uid: string;
  panels: Panel[];
};
const datasources = parse(repoFile('infra/grafana/provisioning/datasources/prometheus.yml')) as {
  datasources: { uid: string; type: string }[];
};

/** Grafana replaces its own variables before Prometheus sees the query; do the same. */
const GRAFANA_VARIABLES: Record<string, string> = { $__rate_interval: '1m', $__interval: '15s', $__range: '1h' };

/** The metric names a PromQL query selects; throws on a query Prometheus would reject. */
function metricNames(expr: string): string[] {
  const query = expr.replace(/\$__\w+/g, (name) => GRAFANA_VARIABLES[name] ?? name);
  const names: string[] = [];
  parser.parse(query).iterate({
    enter: (node) => {
      if (node.type.isError) throw new Error(`not valid PromQL at ${node.from}: ${query}`);
      if (node.name === 'VectorSelector') {
        const identifier = node.node.getChild('Identifier');
        if (identifier) names.push(query.slice(identifier.from, identifier.to));
      }
    },
  });
  return names;
}

/** Series names a scrape can hold for each `# TYPE` line: histograms and summaries add suffixes. */
function exportedNames(metricsText: string): Set<string> {
  const names = new Set<string>();
  for (const [, name, type] of metricsText.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    if (!name) continue;
    names.add(name);
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(name + suffix);
    if (type === 'summary') for (const suffix of ['_sum', '_count']) names.add(name + suffix);
  }
  return names;
}

const panels = dashboard.panels.filter((panel) => panel.targets?.length);

describe('the Grafana dashboard against a live worker', () => {
  const redis = useRedis();
  let worker: ServerProcess;
  let port: number;
  let exported: Set<string>;
  before(async () => {
    port = await freePort();
    ({ server: worker } = await startServerProcess(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(new URL('../harness/null-worker.ts', import.meta.url))],
      {
        env: { ...process.env, REDIS_URL: redis.url, QUEUE_PREFIX: uniqueName('grafana'), METRICS_PORT: String(port) },
        ready: /"msg":"worker ready"/,
        timeoutMs: 60_000,
      },
    ));
    exported = exportedNames(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
  });
  teardown(async () => {
    await worker?.stop('SIGKILL');
  });

  test('the scrape holds the resnet_batch_ metrics worker-metrics.ts documents', () => {
    for (const name of ['resnet_batch_images_total', 'resnet_batch_queue_jobs', 'resnet_batch_batch_duration_seconds'])
      assert.ok(exported.has(name), name);
  });

  test('every panel query is valid PromQL naming only metrics the worker exports', () => {
    assert.ok(panels.length >= 7);
    for (const panel of panels) {
      for (const target of panel.targets ?? []) {
        const names = metricNames(target.expr);
        assert.ok(names.length > 0, `${panel.title}: ${target.expr} selects no metric`);
        for (const name of names) assert.ok(exported.has(name), `${panel.title}: ${name} is not on /metrics`);
      }
    }
  });

  test('the panels cover throughput, status, error codes, latency, stages, queue depth and workers up', () => {
    const queries = panels.flatMap((panel) => (panel.targets ?? []).map((target) => target.expr)).join('\n');
    for (const needed of [
      /sum\(rate\(resnet_batch_images_total/,
      /sum by \(status\) \(rate\(resnet_batch_images_total/,
      /sum by \(code\) \(rate\(resnet_batch_image_errors_total/,
      /histogram_quantile\(0\.9, sum by \(le\) \(rate\(resnet_batch_batch_duration_seconds_bucket/,
      /sum by \(stage\) \(rate\(resnet_batch_stage_seconds_total/,
      /max by \(state\) \(resnet_batch_queue_jobs\)/,
      /resnet_batch_engine_info/,
    ])
      assert.match(queries, needed);
  });

  test('every panel and query uses the provisioned Prometheus data source', () => {
    const [source] = datasources.datasources;
    assert.equal(source?.type, 'prometheus');
    for (const panel of panels) {
      assert.equal(panel.datasource?.uid, source?.uid, panel.title);
      for (const target of panel.targets ?? []) assert.equal(target.datasource?.uid, source?.uid, panel.title);
    }
  });

  test("the compose healthcheck's probe exits 0 on the worker's /readyz and 1 where nothing listens", async () => {
    const probe = (metricsPort: number) =>
      spawnSync(process.execPath, [fileURLToPath(new URL('../../infra/http-probe.js', import.meta.url)), '/readyz'], {
        env: { ...process.env, METRICS_PORT: String(metricsPort) },
      }).status;
    assert.equal(probe(port), 0);
    assert.equal(probe(await freePort()), 1);
  });
});
