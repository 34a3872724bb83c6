import { escapeHtml } from '../escape-html.ts';
import type { ThroughputSeries } from './report-data.ts';

/**
 * The report's charts as inline SVG strings, drawn here rather than by a charting library: three
 * bar charts need a few dozen lines, the page needs no script at all (so it opens anywhere, under
 * a strict Content-Security-Policy, and prints), and there is no third-party code to inline and
 * keep up to date. Every bar is a `<rect class="bar">` with a `<title>` tooltip.
 */

export interface Bar {
  label: string;
  value: number;
  /** Tooltip; default `label: value`. */
  title?: string;
}

/** Characters of a bar label shown before it is cut with an ellipsis (the tooltip has it whole). */
const MAX_LABEL_CHARS = 30;

/** Horizontal bars, one row each, biggest value = full width. */
export function horizontalBarChart(
  bars: readonly Bar[],
  options: { id: string; color: string; width?: number; labelWidth?: number },
): string {
  const width = options.width ?? 980;
  const labelWidth = options.labelWidth ?? 210;
  const valueWidth = 56;
  const row = 22;
  const height = bars.length * row + 8;
  const max = Math.max(1, ...bars.map((bar) => bar.value));
  const barSpace = width - labelWidth - valueWidth;
  const rows = bars.map((bar, i) => {
    const y = 4 + i * row;
    const length = Math.max(2, (bar.value / max) * barSpace);
    const title = escapeHtml(bar.title ?? `${bar.label}: ${bar.value}`);
    return [
      `<g class="row"><title>${title}</title>`,
      `<text class="label" x="${labelWidth - 8}" y="${y + 15}" text-anchor="end">${escapeHtml(shorten(bar.label))}</text>`,
      `<rect class="bar" x="${labelWidth}" y="${y + 3}" width="${length.toFixed(1)}" height="${row - 6}" rx="3" fill="${options.color}"/>`,
      `<text class="value" x="${(labelWidth + length + 6).toFixed(1)}" y="${y + 15}">${bar.value.toLocaleString('en-US')}</text></g>`,
    ].join('');
  });
  return svg(options.id, width, height, `${options.id} chart`, rows.join('\n'));
}

/** Vertical bars of images per second in each bucket, with a y grid and UTC time ticks. */
export function throughputChart(
  series: ThroughputSeries,
  options: { id: string; color: string; width?: number; height?: number },
): string {
  const width = options.width ?? 980;
  const height = options.height ?? 230;
  const margin = { left: 52, right: 12, top: 12, bottom: 34 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const rates = series.buckets.map((bucket) => bucket.images / series.bucketSeconds);
  // Four grid steps of a round size, so the ticks read 1, 2, 3, 4 rather than 1.25, 2.5, 3.75.
  const top = 4 * niceCeiling(Math.max(0, ...rates) / 4);
  const slot = plotW / Math.max(1, series.buckets.length);
  const parts: string[] = [];
  for (let i = 0; i <= 4; i += 1) {
    const y = margin.top + plotH - (plotH * i) / 4;
    parts.push(`<line class="grid" x1="${margin.left}" x2="${width - margin.right}" y1="${y}" y2="${y}"/>`);
    parts.push(
      `<text class="tick" x="${margin.left - 6}" y="${y + 4}" text-anchor="end">${formatRate((top * i) / 4)}</text>`,
    );
  }
  series.buckets.forEach((bucket, i) => {
    const h = (rates[i]! / top) * plotH;
    const x = margin.left + i * slot + slot * 0.1;
    const title = `${formatTime(bucket.startMs, series)} UTC, ${series.bucketSeconds} s: ${bucket.images} images (${formatRate(rates[i]!)} img/s)`;
    parts.push(
      `<rect class="bar" x="${x.toFixed(1)}" y="${(margin.top + plotH - h).toFixed(1)}" width="${(slot * 0.8).toFixed(1)}" height="${h.toFixed(1)}" fill="${options.color}"><title>${escapeHtml(title)}</title></rect>`,
    );
  });
  const tickEvery = Math.max(1, Math.ceil(series.buckets.length / 6));
  series.buckets.forEach((bucket, i) => {
    if (i % tickEvery !== 0) return;
    const x = margin.left + i * slot + slot / 2;
    parts.push(
      `<text class="tick" x="${x.toFixed(1)}" y="${height - margin.bottom + 16}" text-anchor="middle">${formatTime(bucket.startMs, series)}</text>`,
    );
  });
  parts.push(
    `<text class="axis" x="${margin.left}" y="${height - 4}">time (UTC), ${series.bucketSeconds} s buckets</text>`,
  );
  parts.push(
    `<text class="axis" x="12" y="${margin.top + plotH / 2}" transform="rotate(-90 12 ${margin.top + plotH / 2})" text-anchor="middle">images / s</text>`,
  );
  return svg(options.id, width, height, 'throughput chart', parts.join('\n'));
}

function svg(id: string, width: number, height: number, label: string, body: string): string {
  return `<svg id="${escapeHtml(id)}" class="chart" role="img" aria-label="${escapeHtml(label)}" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" xmlns="http://www.w3.org/2000/svg">\n${body}\n</svg>`;
}

/** The smallest 1, 2, 2.5 or 5 x 10^k at or above `value` (an axis top that reads well). */
export function niceCeiling(value: number): number {
  if (value <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  const step = [1, 2, 2.5, 5, 10].find((factor) => factor * power >= value - 1e-9)!;
  return step * power;
}

function formatRate(rate: number): string {
  return String(Number(rate.toPrecision(3)));
}

/** HH:MM:SS, with the day in front when the run spans more than one. */
function formatTime(ms: number, series: ThroughputSeries): string {
  const iso = new Date(ms).toISOString();
  const spansDays = series.buckets.length * series.bucketSeconds > 86_400;
  return spansDays ? `${iso.slice(5, 10)} ${iso.slice(11, 16)}` : iso.slice(11, 19);
}

function shorten(label: string): string {
  return label.length > MAX_LABEL_CHARS ? `${label.slice(0, MAX_LABEL_CHARS - 1)}…` : label;
}
