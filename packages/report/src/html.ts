import {
  formatDuration,
  formatMemoryPretty,
  type CategoryStats,
  type StatsElement,
} from '@toil/stats';
import type { JobGraph, ReportData, RunAttempt, Timeline, TimelineAttempt } from './model.js';

/** Escapes text for HTML element content and quoted attribute values. */
function esc(value: unknown): string {
  return String(value)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

function isoTime(epochSeconds: number | null): string {
  if (epochSeconds === null) return '—';
  return new Date(epochSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function duration(seconds: number | null): string {
  return seconds === null ? '—' : formatDuration(seconds);
}

const num = (n: number, digits = 2): string => {
  if (Number.isInteger(n)) return String(n);
  const text = n.toFixed(digits);
  // -0.0001 would print as -0.00: a wait that rounds to nothing has no sign.
  return Number(text) === 0 ? (0).toFixed(digits) : text;
};

const CATEGORIES = ['time', 'clock', 'wait', 'memory'] as const;
const FIELDS = ['min', 'med', 'ave', 'max', 'total'] as const;

function statCells(stats: CategoryStats, memory: boolean): string {
  return FIELDS.map(
    (f) => `<td data-v="${stats[f]}">${memory ? formatMemoryPretty(stats[f]) : num(stats[f])}</td>`,
  ).join('');
}

function statsRow(element: StatsElement, label: string): string {
  return (
    `<tr><th scope="row">${esc(label)}</th><td data-v="${element.count}">${element.count}</td>` +
    `<td data-v="${element.failedAttempts}"${element.failedAttempts > 0 ? ' class="bad"' : ''}>${element.failedAttempts}</td>` +
    CATEGORIES.map((c) => statCells(element[c], c === 'memory')).join('') +
    '</tr>'
  );
}

/** A sortable table: every column of its last header row has a sort button. */
function statsTable(id: string, caption: string, rows: string): string {
  const group = CATEGORIES.map(
    (c) =>
      `<th colspan="5" scope="colgroup">${c === 'time' ? 'Time (s)' : c === 'clock' ? 'Clock (s)' : c === 'wait' ? 'Wait (s)' : 'Memory'}</th>`,
  ).join('');
  const sub = CATEGORIES.map(() => FIELDS.map((f) => sortHead(f)).join('')).join('');
  return (
    `<div class="wide"><table class="sortable" id="${id}"><caption>${esc(caption)}</caption><thead>` +
    `<tr><th colspan="3"></th>${group}</tr>` +
    `<tr>${sortHead('name')}${sortHead('count')}${sortHead('failed')}${sub}</tr>` +
    `</thead><tbody>${rows}</tbody></table></div>`
  );
}

function sortHead(label: string): string {
  return `<th scope="col"><button type="button">${esc(label)}</button></th>`;
}

const RESULT_TEXT: Record<RunAttempt['result'], string> = {
  succeeded: 'succeeded',
  failed: 'failed',
  killed: 'killed',
  running: 'running',
  incomplete: 'ended incomplete, restarted',
  unknown: 'unknown',
};

function summarySection(data: ReportData): string {
  const s = data.summary;
  const items: Array<[string, string]> = [
    [
      'Status',
      `<span class="state state-${esc(s.state)}">${esc(s.state)}</span> ${esc(s.message)}`,
    ],
    ['Started', esc(isoTime(s.start))],
    ['Ended', esc(s.state === 'running' ? 'still running' : isoTime(s.end))],
    ['Took', esc(duration(s.wallSeconds))],
    ['Batch system', esc(s.batchSystem)],
    ['Runs', `${s.runs.length} (${s.restarts} restart${s.restarts === 1 ? '' : 's'})`],
    [
      'Jobs',
      `${s.jobs} ran in ${s.jobAttempts} attempts; <span${s.failedAttempts > 0 ? ' class="bad"' : ''}>${s.failedAttempts} failed attempts</span>; ${s.retriedJobs} retried`,
    ],
    [
      'Failed for good',
      `<span${s.failedJobs > 0 ? ' class="bad"' : ''}>${s.failedJobs}</span> (${s.unfinishedJobs} unfinished in the store)`,
    ],
    [
      'Workers',
      `${s.workers} on ${s.hosts.length} host${s.hosts.length === 1 ? '' : 's'}${s.hosts.length > 0 ? ': ' + esc(s.hosts.join(', ')) : ''}`,
    ],
  ];
  const runs = s.runs.map((r: RunAttempt) =>
    [
      `<tr><td data-v="${r.attempt}">${r.attempt === 0 ? 'first run' : `restart ${r.attempt}`}</td>`,
      `<td data-v="${r.start ?? 0}">${esc(isoTime(r.start))}</td>`,
      `<td data-v="${r.runtime ?? -1}">${esc(duration(r.runtime))}</td>`,
      `<td data-v="${r.clock ?? -1}">${esc(duration(r.clock))}</td>`,
      `<td data-v="${r.jobAttempts}">${r.jobAttempts}</td>`,
      `<td data-v="${r.failedAttempts}"${r.failedAttempts > 0 ? ' class="bad"' : ''}>${r.failedAttempts}</td>`,
      `<td class="result-${esc(r.result)}">${esc(RESULT_TEXT[r.result])}</td></tr>`,
    ].join(''),
  );
  return (
    '<section id="summary"><h2>Run</h2><dl class="summary">' +
    items.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join('') +
    '</dl><table class="sortable" id="runs"><caption>Runs</caption><thead><tr>' +
    ['run', 'started', 'leader wall', 'leader CPU', 'job attempts', 'failed', 'result']
      .map(sortHead)
      .join('') +
    `</tr></thead><tbody>${runs.join('')}</tbody></table></section>`
  );
}

function tablesSection(data: ReportData): string {
  const st = data.stats;
  const header =
    `<p>Default cores ${num(st.defaultCores)}, default memory ${formatMemoryPretty(st.defaultMemory)}, ` +
    `max cores ${st.maxCores === null ? 'unlimited' : num(st.maxCores)}. Total clock ${num(st.totalClock)} s, ` +
    `total runtime ${num(st.totalRuntime)} s. Jobs per worker: min ${num(st.jobs.perWorker.min)}, med ${num(st.jobs.perWorker.med)}, ave ${num(st.jobs.perWorker.ave)}, max ${num(st.jobs.perWorker.max)}.</p>`;
  return (
    '<section id="tables"><h2>Resources</h2>' +
    header +
    statsTable(
      'totals',
      'Workers and all jobs',
      statsRow(st.worker, 'Worker') + statsRow(st.jobs, 'Job'),
    ) +
    statsTable('job-types', 'By job name', st.jobTypes.map((e) => statsRow(e, e.name)).join('')) +
    '</section>'
  );
}

const SVG_WIDTH = 1000;
const LABEL_WIDTH = 170;

function niceStep(span: number): number {
  const raw = span / 8;
  const power = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * power >= raw) return m * power;
  return 10 * power;
}

function attemptTitle(a: TimelineAttempt, t: Timeline): string {
  const lane = t.lanes[a.lane];
  const parts = [
    `${a.name} (${a.jobId})`,
    `${a.succeeded ? 'succeeded' : 'FAILED'}${a.retry > 0 ? `, try ${a.retry + 1}` : ''}${a.workflowAttempt !== null && a.workflowAttempt > 0 ? `, restart ${a.workflowAttempt}` : ''}`,
    `on ${lane?.host ?? '?'} pid ${a.pid}`,
    `start +${formatDuration(a.start)}, took ${formatDuration(a.duration)}`,
  ];
  return parts.join('\n');
}

function timelineSection(t: Timeline): string {
  if (t.lanes.length === 0)
    return '<section id="timeline"><h2>Timeline</h2><p>No job attempts were recorded.</p></section>';
  const laneH = t.lanes.length > 60 ? 8 : 16;
  const top = 34;
  const height = top + t.lanes.length * laneH + 6;
  const span = Math.max(t.end - t.start, 1e-3);
  const plotW = SVG_WIDTH - LABEL_WIDTH - 10;
  const x = (s: number): number => LABEL_WIDTH + (Math.min(Math.max(s, 0), span) / span) * plotW;
  const f = (v: number): string => v.toFixed(1);
  const out: string[] = [];
  t.runs.forEach((r, i) => {
    const x0 = x(r.start);
    const x1 = Math.max(x(r.end), x0 + 1);
    out.push(
      `<rect class="run run${i % 2}" x="${f(x0)}" y="14" width="${f(x1 - x0)}" height="${height - 14}"><title>${r.attempt === 0 ? 'first run' : `restart ${r.attempt}`}</title></rect>`,
      `<text class="runlabel" x="${f(x0 + 2)}" y="24">${r.attempt === 0 ? 'run 0' : `restart ${r.attempt}`}</text>`,
    );
    if (r.attempt > 0)
      out.push(`<line class="restart" x1="${f(x0)}" x2="${f(x0)}" y1="14" y2="${height}"/>`);
  });
  const step = niceStep(span);
  for (let s = 0; s <= span + 1e-9; s += step) {
    out.push(
      `<line class="tick" x1="${f(x(s))}" x2="${f(x(s))}" y1="${top - 4}" y2="${height}"/>`,
      `<text class="ticklabel" x="${f(x(s))}" y="10">+${esc(formatDuration(s))}</text>`,
    );
  }
  t.lanes.forEach((lane, i) => {
    const y = top + i * laneH;
    if (i === 0 || t.lanes[i - 1]!.host !== lane.host || laneH >= 16)
      out.push(
        `<text class="lane" x="4" y="${y + laneH - 4}">${esc(lane.host.slice(0, 18))} #${lane.slot + 1}</text>`,
      );
  });
  if (t.mode === 'aggregated' && t.bins) {
    const binW = t.bins.width;
    t.bins.busy.forEach((bins, lane) => {
      const base = top + (lane + 1) * laneH - 1;
      const h = laneH - 3;
      let d = `M${f(x(0))},${base}`;
      bins.forEach((busy, b) => {
        d += `V${f(base - busy * h)}H${f(x((b + 1) * binW))}`;
      });
      out.push(
        `<path class="busy" d="${d}V${base}Z"><title>${esc(t.lanes[lane]!.host)} #${t.lanes[lane]!.slot + 1}: ${t.lanes[lane]!.attempts} attempts</title></path>`,
      );
    });
  }
  for (const a of t.attempts) {
    const y = top + a.lane * laneH + 1;
    const x0 = x(a.start);
    const w = Math.max(x(a.start + a.duration) - x0, 1.5);
    const cls = a.succeeded ? (a.retry > 0 ? 'attempt retry' : 'attempt ok') : 'attempt failed';
    out.push(
      `<rect class="${cls}" x="${f(x0)}" y="${y}" width="${f(w)}" height="${laneH - 2}"><title>${esc(attemptTitle(a, t))}</title></rect>`,
    );
  }
  const legend =
    '<p class="legend"><span class="key ok"></span> attempt <span class="key retry"></span> succeeded after a failed try <span class="key failed"></span> failed attempt' +
    (t.mode === 'aggregated' ? ' <span class="key busy"></span> share of the lane busy' : '') +
    ' <span class="key run1"></span> a restart (<code>--restart</code>)</p>';
  return (
    `<section id="timeline"><h2>Timeline</h2>${legend}` +
    `<svg role="img" aria-label="Timeline of job attempts" viewBox="0 0 ${SVG_WIDTH} ${height}" width="100%">${out.join('')}</svg></section>`
  );
}

const GRAPH_LIMIT = 150;

function graphSection(g: JobGraph): string {
  if (g.groups.length === 0)
    return '<section id="graph"><h2>Job graph</h2><p>No job attempts were recorded.</p></section>';
  const shown = g.groups.slice(0, GRAPH_LIMIT);
  const boxW = 190;
  const boxH = 46;
  const colW = 250;
  const rowH = 60;
  const place = new Map<string, { x: number; y: number }>();
  const rows = new Map<number, number>();
  for (const group of shown) {
    const row = rows.get(group.depth) ?? 0;
    rows.set(group.depth, row + 1);
    place.set(group.name, { x: 10 + group.depth * colW, y: 10 + row * rowH });
  }
  const width = Math.max(...[...place.values()].map((p) => p.x)) + boxW + 20;
  const height = Math.max(...[...place.values()].map((p) => p.y)) + boxH + 20;
  const parts: string[] = [];
  for (const edge of g.edges) {
    const a = place.get(edge.from);
    const b = place.get(edge.to);
    if (!a || !b) continue;
    const x1 = a.x + boxW;
    const y1 = a.y + boxH / 2;
    const x2 = b.x;
    const y2 = b.y + boxH / 2;
    const mid = (x1 + x2) / 2;
    parts.push(
      `<path class="edge" marker-end="url(#arrow)" d="M${x1},${y1}C${mid},${y1} ${mid},${y2} ${x2},${y2}"><title>${esc(edge.from)} → ${esc(edge.to)}: ${edge.count}</title></path>`,
    );
    if (edge.count > 1)
      parts.push(
        `<text class="edgelabel" x="${mid}" y="${(y1 + y2) / 2 - 3}">${edge.count}</text>`,
      );
  }
  for (const group of shown) {
    const p = place.get(group.name)!;
    const cls =
      group.failedJobs > 0 ? 'node failed' : group.failedAttempts > 0 ? 'node flaky' : 'node';
    const label = group.name.length > 26 ? `${group.name.slice(0, 25)}…` : group.name;
    parts.push(
      `<g class="${cls}" data-name="${esc(group.name)}"><title>${esc(group.name)}: ${group.jobs} jobs, ${group.attempts} attempts, ${group.failedAttempts} failed attempts, ${group.failedJobs} failed for good</title>` +
        `<rect x="${p.x}" y="${p.y}" width="${boxW}" height="${boxH}" rx="6"/>` +
        `<text class="name" x="${p.x + 8}" y="${p.y + 18}">${esc(label)}</text>` +
        `<text class="count" x="${p.x + 8}" y="${p.y + 36}">${group.jobs} job${group.jobs === 1 ? '' : 's'}` +
        (group.failedJobs > 0 ? ` · ${group.failedJobs} failed` : '') +
        (group.failedAttempts > 0 && group.failedJobs === 0
          ? ` · ${group.failedAttempts} failed tries`
          : '') +
        '</text></g>',
    );
  }
  const table =
    '<table class="sortable" id="groups"><caption>Jobs by name</caption><thead><tr>' +
    [
      'name',
      'jobs',
      'attempts',
      'failed attempts',
      'failed for good',
      'retried',
      'time (s)',
      'depth',
    ]
      .map(sortHead)
      .join('') +
    '</tr></thead><tbody>' +
    g.groups
      .map(
        (group) =>
          `<tr${group.failedJobs > 0 ? ' class="bad"' : ''}><th scope="row">${esc(group.name)}</th>` +
          [
            group.jobs,
            group.attempts,
            group.failedAttempts,
            group.failedJobs,
            group.retriedJobs,
            group.time,
            group.depth,
          ]
            .map((v) => `<td data-v="${v}">${num(v)}</td>`)
            .join('') +
          '</tr>',
      )
      .join('') +
    '</tbody></table>';
  const note = [
    g.groups.length > GRAPH_LIMIT
      ? `<p>${g.groups.length - GRAPH_LIMIT} more names are listed in the table only.</p>`
      : '',
    g.edgesKnown
      ? ''
      : '<p>The stats records do not say which job ran after which, so no edges are drawn.</p>',
  ].join('');
  return (
    `<section id="graph"><h2>Job graph</h2><p>One box per job name; an arrow from A to B when jobs named B ran after jobs named A (with how many such pairs).</p>${note}` +
    `<div class="scroll"><svg role="img" aria-label="Job graph by job name" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}">` +
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0L10,5L0,10z" fill="#9aa5b8"/></marker></defs>' +
    `${parts.join('')}</svg></div>${table}</section>`
  );
}

function failuresSection(data: ReportData): string {
  if (data.failures.length === 0)
    return `<section id="failures"><h2>Failed jobs</h2><p>${data.summary.failedJobs === 0 ? 'No job failed for good.' : ''}</p></section>`;
  const items = data.failures.map(
    (f, i) =>
      `<details class="failure"${i < 5 ? ' open' : ''}><summary><strong>${esc(f.name)}</strong> <code>${esc(f.jobId)}</code>${f.reason ? ` — ${esc(f.reason)}` : ''}</summary>` +
      (f.logLines === 0
        ? '<p>No log was stored for this job.</p>'
        : `<p>The last ${f.logTail.length} of ${f.logLines} log lines:</p><pre>${esc(f.logTail.join('\n'))}</pre>`) +
      '</details>',
  );
  return `<section id="failures"><h2>Failed jobs</h2>${items.join('')}</section>`;
}

const STYLE = `
:root{--fg:#1d2330;--muted:#5b6577;--bg:#fff;--line:#d8dde6;--ok:#3f7fd0;--retry:#2a9d8f;--bad:#d1362f;--warn:#e29a1c}
*{box-sizing:border-box}body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--fg);background:var(--bg);margin:0 auto;max-width:1200px;padding:16px 24px}
h1{font-size:20px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}
.meta{color:var(--muted);margin:0}code{font-size:12px}
dl.summary{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px;margin:0 0 12px}dt{color:var(--muted)}dd{margin:0}
.state{display:inline-block;padding:0 8px;border-radius:10px;color:#fff;background:var(--muted);font-weight:600}
.state-completed{background:#2e8540}.state-failed,.state-leader-died{background:var(--bad)}.state-running,.state-running-elsewhere{background:var(--ok)}.state-killed{background:var(--warn)}
.bad{color:var(--bad);font-weight:600}.result-failed,.result-killed{color:var(--bad)}.result-succeeded{color:#2e8540}
table{border-collapse:collapse;margin:8px 0 16px;font-variant-numeric:tabular-nums}caption{text-align:left;font-weight:600;padding:4px 0}
th,td{border:1px solid var(--line);padding:2px 6px;text-align:right;white-space:nowrap}th[scope=row]{text-align:left;font-weight:500}
thead th{background:#f2f4f8}thead th[scope=colgroup]{text-align:center}th button{all:unset;cursor:pointer;font-weight:600}th button:focus-visible{outline:2px solid var(--ok)}
th[aria-sort=ascending] button::after{content:" ▲"}th[aria-sort=descending] button::after{content:" ▼"}
.scroll{overflow:auto;max-height:640px;border:1px solid var(--line)}.wide{overflow-x:auto}
svg text{font-size:11px;fill:var(--fg)}.ticklabel{text-anchor:middle;fill:var(--muted)}.tick{stroke:#eef0f4}.lane{fill:var(--muted)}
.run0{fill:#fafbfd}.run1{fill:#fff7e6}.restart{stroke:var(--warn);stroke-width:2;stroke-dasharray:4 3}.runlabel{fill:var(--warn);font-weight:600}
.attempt.ok{fill:var(--ok)}.attempt.retry{fill:var(--retry)}.attempt.failed{fill:var(--bad)}.busy{fill:var(--ok);opacity:.75}
.legend .key{display:inline-block;width:12px;height:10px;margin-left:10px;vertical-align:middle}.key.ok,.key.busy{background:var(--ok)}.key.retry{background:var(--retry)}.key.failed{background:var(--bad)}.key.run1{background:#fff7e6;border:2px dashed var(--warn)}
.node rect{fill:#eef4fc;stroke:var(--ok)}.node.flaky rect{fill:#fff7e6;stroke:var(--warn)}.node.failed rect{fill:#fdecea;stroke:var(--bad);stroke-width:2}.node .name{font-weight:600}.node.failed .count{fill:var(--bad);font-weight:600}
.edge{fill:none;stroke:#9aa5b8;stroke-width:1.2}.edgelabel{fill:var(--muted);text-anchor:middle}
details.failure{border:1px solid var(--line);border-left:4px solid var(--bad);padding:4px 10px;margin:8px 0}pre{background:#f6f7f9;padding:8px;overflow:auto;max-height:420px;font-size:12px}
.notes{color:var(--muted)}`;

/** Sorts a `table.sortable` by the column whose header button was clicked (numbers by `data-v`). */
const SCRIPT = `
document.querySelectorAll('table.sortable').forEach(function (table) {
  var row = table.tHead.rows[table.tHead.rows.length - 1];
  Array.prototype.forEach.call(row.cells, function (th, col) {
    var button = th.querySelector('button');
    if (!button) return;
    button.addEventListener('click', function () {
      var ascending = th.getAttribute('aria-sort') !== 'ascending';
      Array.prototype.forEach.call(row.cells, function (h) { h.removeAttribute('aria-sort'); });
      th.setAttribute('aria-sort', ascending ? 'ascending' : 'descending');
      var body = table.tBodies[0];
      var key = function (r) {
        var cell = r.cells[col];
        var v = cell.getAttribute('data-v');
        return v === null ? cell.textContent : Number(v);
      };
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = key(a), y = key(b);
        var order = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
        return ascending ? order : -order;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
});`;

/**
 * Renders the report as one self-contained HTML file: inline CSS, inline SVG drawings and a
 * few lines of inline script (table sorting); no network access (its Content-Security-Policy
 * forbids any), so it opens from `file://` offline. Its size is bounded by the aggregation of
 * {@link buildReport}: a 100,000-job store stays well under a megabyte.
 */
export function renderReportHtml(data: ReportData): string {
  const title = `toil report: ${data.workflowId}`;
  return [
    '<!doctype html><html lang="en"><head><meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${esc(title)}</title><style>${STYLE}</style></head>`,
    `<body data-schema="${data.schema}" data-version="${data.version}">`,
    `<header><h1>${esc(title)}</h1><p class="meta">Job store <code>${esc(data.jobStore)}</code>, report made ${esc(isoTime(data.generatedAt))}</p></header>`,
    summarySection(data),
    timelineSection(data.timeline),
    graphSection(data.graph),
    failuresSection(data),
    tablesSection(data),
    data.notes.length > 0
      ? `<section id="notes"><h2>Notes</h2><ul class="notes">${data.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul></section>`
      : '',
    `<script>${SCRIPT}</script></body></html>`,
    '',
  ].join('\n');
}
