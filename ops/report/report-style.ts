/**
 * The page's only stylesheet, inlined in a <style> element: the report must open from a mail
 * attachment or an air-gapped share, so nothing is loaded from anywhere (system fonts only).
 */
export const REPORT_CSS = `
:root { --ink: #1f2430; --muted: #5d6576; --line: #e3e6ec; --card: #f6f7fa; --accent: #3b6fd8; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--ink); background: #fff; }
main { max-width: 1040px; margin: 0 auto; padding: 24px 28px 40px; }
header { display: flex; align-items: baseline; gap: 14px; flex-wrap: wrap; border-bottom: 1px solid var(--line); padding-bottom: 12px; }
h1 { font-size: 22px; margin: 0; }
h1 code { font-size: 20px; }
h2 { font-size: 16px; margin: 28px 0 10px; }
h3 { font-size: 14px; margin: 18px 0 8px; }
.muted { color: var(--muted); font-weight: normal; }
.badge { border-radius: 10px; padding: 1px 10px; font-size: 12px; font-weight: 600; background: #e8eefc; color: #2a4f9e; }
.badge.done { background: #e3f4e8; color: #1d6b35; }
.badge.running { background: #fff3d6; color: #8a5a00; }
.badge.failed { background: #fbe4e2; color: #b3261e; }
.problem { color: #b3261e; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(110px, 1fr)); gap: 10px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; }
.card .value { font-size: 20px; font-weight: 600; }
.card .name { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.card.ok .value { color: #1d6b35; } .card.error .value { color: #b3261e; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 14px 0 0; }
dl.facts dt { color: var(--muted); } dl.facts dd { margin: 0; overflow-wrap: anywhere; }
svg.chart { max-width: 100%; height: auto; display: block; }
svg.chart text { font: 12px system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; fill: var(--ink); }
svg.chart text.tick, svg.chart text.axis, svg.chart text.value { fill: var(--muted); font-size: 11px; }
svg.chart line.grid { stroke: var(--line); }
svg.chart g.row:hover rect.bar, svg.chart rect.bar:hover { opacity: .8; }
table { border-collapse: collapse; width: 100%; margin-top: 10px; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
td.num, th.num { text-align: right; white-space: nowrap; }
td code { overflow-wrap: anywhere; font-size: 12px; }
td:first-child code { white-space: nowrap; }
.class-grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(320px, 1fr)); gap: 12px; }
.class-card { border: 1px solid var(--line); border-radius: 8px; padding: 10px; }
.class-card h3 { margin: 0 0 8px; overflow-wrap: anywhere; }
.thumbs { display: flex; flex-wrap: wrap; gap: 6px; }
figure { margin: 0; width: 96px; }
figure img { width: 96px; height: 96px; display: block; border-radius: 4px; background: var(--card); object-fit: cover; }
figcaption { font-size: 11px; color: var(--muted); text-align: center; }
.empty { color: var(--muted); font-style: italic; }
footer { margin-top: 32px; color: var(--muted); font-size: 12px; border-top: 1px solid var(--line); padding-top: 10px; }
@media print { main { max-width: none; } }
`;
