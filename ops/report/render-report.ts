import { escapeHtml } from '../escape-html.ts';
import type { ClassSamples, ReportData, ReportTotals } from './report-data.ts';
import { REPORT_CSS } from './report-style.ts';
import { horizontalBarChart, throughputChart } from './svg-charts.ts';

/**
 * The report page: one HTML document with its CSS, charts (inline SVG) and thumbnails (data:
 * URIs) inside, and no script. The Content-Security-Policy forbids every fetch except data:
 * images, so a page that somehow referenced something external would show it broken rather than
 * call out. Every string from the run is escaped (escape-html.ts).
 */
export function renderReport(data: ReportData): string {
  const title = `Run report: ${data.run}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${REPORT_CSS}</style>
</head>
<body>
<main>
<header><h1>Run report: <code>${escapeHtml(data.run)}</code></h1>${stateBadge(data)}<span class="muted">generated ${escapeHtml(data.generatedAt)}</span></header>
${totalsSection(data.totals)}
${failuresSection(data)}
${throughputSection(data)}
${labelsSection(data)}
${errorsSection(data)}
${samplesSection(data.samples)}
<footer>${data.rowsRead.toLocaleString('en-US')} metadata rows from ${data.partsRead} Parquet parts. ${data.thumbnailsOmitted > 0 ? `${data.thumbnailsOmitted} thumbnails left out (image unreadable or over the size budget).` : ''}</footer>
</main>
</body>
</html>
`;
}

function totalsSection(totals: ReportTotals): string {
  const seconds = durationSeconds(totals);
  const processed = totals.images.ok + totals.images.error;
  const cards: [string, string, string][] = [
    ['images', totals.images.total.toLocaleString('en-US'), ''],
    ['ok', totals.images.ok.toLocaleString('en-US'), 'ok'],
    ['errors', totals.images.error.toLocaleString('en-US'), 'error'],
    ['skipped', totals.images.skipped.toLocaleString('en-US'), ''],
    ['shards done', `${totals.shards.done} / ${totals.shards.total}`, ''],
    ['shards failed', String(totals.shards.failed), totals.shards.failed > 0 ? 'error' : ''],
    ['duration', seconds === null ? '-' : formatDuration(seconds), ''],
    ['img/s average', seconds ? (processed / seconds).toFixed(2) : '-', ''],
  ];
  const facts: [string, string][] = [
    ['input', totals.input],
    ['output', totals.output],
    ['model', totals.model],
    ['engines', totals.engines.join(', ') || '-'],
    ['started', totals.startedAt ?? '-'],
    ['finished', totals.finishedAt ?? '-'],
  ];
  return `<section id="totals"><h2>Totals <span class="muted">(from the ${totals.source})</span></h2>
<div class="cards">${cards.map(([name, value, kind]) => `<div class="card ${kind}"><div class="value">${escapeHtml(value)}</div><div class="name">${escapeHtml(name)}</div></div>`).join('')}</div>
<dl class="facts">${facts.map(([name, value]) => `<dt>${escapeHtml(name)}</dt><dd>${escapeHtml(value)}</dd>`).join('')}</dl>
</section>`;
}

function throughputSection(data: ReportData): string {
  const body =
    data.throughput.buckets.length === 0
      ? '<p class="empty">No shard has finished yet.</p>'
      : throughputChart(data.throughput, { id: 'throughput-chart', color: '#3b6fd8' });
  return `<section id="throughput"><h2>Throughput over time <span class="muted">(images per second, by the time their shard was written)</span></h2>\n${body}\n</section>`;
}

function labelsSection(data: ReportData): string {
  const body =
    data.labels.length === 0
      ? '<p class="empty">No image was classified.</p>'
      : horizontalBarChart(
          data.labels.map((entry) => ({
            label: entry.label,
            value: entry.count,
            title: `${entry.label}: ${entry.count} images`,
          })),
          { id: 'labels-chart', color: '#2f9e6e' },
        );
  return `<section id="labels"><h2>Label distribution <span class="muted">(top ${data.labels.length} classes by top-1 count)</span></h2>\n${body}\n</section>`;
}

/**
 * Red when anything needs a person (a shard or the finaliser failed for good), whatever the run's
 * state: a run whose only shard failed is 'done' and must not look like a success.
 */
function stateBadge(data: ReportData): string {
  const problems = [
    ...(data.totals.shards.failed > 0 ? [`${data.totals.shards.failed} shard(s) failed`] : []),
    ...(data.finalizeError !== null ? ['finalising failed'] : []),
  ];
  const kind = problems.length > 0 ? 'failed' : data.totals.state;
  return `<span class="badge ${kind}">${escapeHtml([data.totals.state, ...problems].join(', '))}</span>`;
}

/** Failed shards with their reasons, a failed finaliser, and the first failed files. */
function failuresSection(data: ReportData): string {
  if (data.failedShards.length === 0 && data.finalizeError === null && data.failedFiles.total === 0) return '';
  const blocks: string[] = [];
  if (data.finalizeError !== null) {
    blocks.push(
      `<p class="problem">Finalising failed for good, so <code>_manifest.json</code> is not written: <code>${escapeHtml(data.finalizeError)}</code>. Fix the cause, then <code>resnet-batch retry ${escapeHtml(data.run)}</code>.</p>`,
    );
  }
  if (data.failedShards.length > 0) {
    const rows = data.failedShards.map(
      (failed) =>
        `<tr><td class="num">${failed.shard}</td><td class="num">${failed.uris.length}</td><td><code>${escapeHtml(failed.reason ?? 'unknown (the job is gone)')}</code></td></tr>`,
    );
    blocks.push(`<h3>${data.failedShards.length} failed shard(s) <span class="muted">(their images have no row; <code>resnet-batch retry ${escapeHtml(data.run)}</code> enqueues them again)</span></h3>
<table id="failed-shards"><thead><tr><th class="num">shard</th><th class="num">images</th><th>reason of the last attempt</th></tr></thead><tbody>${rows.join('')}</tbody></table>`);
  }
  if (data.failedFiles.total > 0) {
    const { shown, total } = data.failedFiles;
    const rows = shown.map(
      (file) =>
        `<tr><td><code>${escapeHtml(file.uri)}</code></td><td><code>${escapeHtml(file.reason)}</code></td><td>${file.part === null ? '<span class="muted">no row</span>' : `<code>${escapeHtml(file.part)}</code>`}</td></tr>`,
    );
    const which = shown.length < total ? `the first ${shown.length} of ${total}` : `all ${total}`;
    blocks.push(`<h3>Failed files <span class="muted">(${which}; every error row is in <code>${escapeHtml(data.errorsFolder)}</code>part-*.parquet)</span></h3>
<table id="failed-files"><thead><tr><th>file</th><th>reason</th><th>errors part</th></tr></thead><tbody>${rows.join('')}</tbody></table>`);
  }
  return `<section id="failures"><h2>What failed</h2>
${blocks.join('\n')}
</section>`;
}

function errorsSection(data: ReportData): string {
  const errors = data.errors;
  if (errors.length === 0) {
    const note =
      data.failedShards.length > 0
        ? 'No image row has an error; the images of the failed shards above have no row at all.'
        : 'No image failed.';
    return `<section id="errors"><h2>Error reasons</h2><p class="empty">${note}</p></section>`;
  }
  const chart = horizontalBarChart(
    errors.map((entry) => ({ label: entry.code, value: entry.count })),
    { id: 'errors-chart', color: '#d0574b' },
  );
  const rows = errors.map(
    (entry) =>
      `<tr><td><code>${escapeHtml(entry.code)}</code></td><td class="num">${entry.count}</td><td><code>${escapeHtml(entry.example)}</code></td></tr>`,
  );
  return `<section id="errors"><h2>Error reasons <span class="muted">(images by error code)</span></h2>
${chart}
<table><thead><tr><th>code</th><th class="num">images</th><th>example</th></tr></thead><tbody>${rows.join('')}</tbody></table>
</section>`;
}

function samplesSection(samples: ClassSamples[]): string {
  if (samples.length === 0)
    return '<section id="samples"><h2>Samples</h2><p class="empty">No thumbnails.</p></section>';
  const rows = samples.map((group) => {
    const figures = group.thumbnails.map(
      (thumb) =>
        `<figure title="${escapeHtml(thumb.uri)}"><img src="${escapeHtml(thumb.dataUri)}" alt="${escapeHtml(fileName(thumb.uri))}" width="96" height="96"><figcaption>${(thumb.score * 100).toFixed(1)}%</figcaption></figure>`,
    );
    const thumbs = figures.length > 0 ? figures.join('') : '<span class="empty">no readable image</span>';
    return `<div class="class-card"><h3>${escapeHtml(group.label)} <span class="muted">(${group.count})</span></h3><div class="thumbs">${thumbs}</div></div>`;
  });
  return `<section id="samples"><h2>Samples of the top classes <span class="muted">(most confident first)</span></h2>\n<div class="class-grid">${rows.join('\n')}</div>\n</section>`;
}

function durationSeconds(totals: ReportTotals): number | null {
  if (!totals.startedAt || !totals.finishedAt) return null;
  return Math.max(0, (Date.parse(totals.finishedAt) - Date.parse(totals.startedAt)) / 1000);
}

function formatDuration(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = Math.round(seconds % 60);
  return h > 0 ? `${h} h ${m} min` : `${m} min ${s} s`;
}

/** Last path segment of a URI, decoded for display (`a%20b.jpg` -> `a b.jpg`). */
function fileName(uri: string): string {
  const last = uri.split('/').pop() ?? uri;
  try {
    return decodeURIComponent(last);
  } catch {
    return last;
  }
}
