/**
 * docs/benchmarks.svg: one horizontal bar chart of every workload's figures
 * as speed relative to the best peer of the same run. Bars diverge from the
 * 1× line on a log scale, so "2× faster" and "2× slower" look equally long
 * and every row reads the same way whatever its unit: right of 1× is faster.
 * Hand-written SVG: no dependency, diffable, crisp in a README.
 */
import { formatValue, formatRatio, statusText } from './format.mjs';

const LAYOUT = {
  width: 920,
  labelRight: 206, // names end here (right-aligned)
  plotLeft: 218,
  plotRight: 650,
  valueLeft: 664,
  top: 124,
  groupHeader: 30,
  row: 21,
  bar: 13,
  groupGap: 10,
  bottom: 46,
};

const COLORS = {
  ours: '#e8590c',
  peer: '#9aa5b1',
  python: '#5b8fc9',
  text: '#212529',
  muted: '#6c757d',
  grid: '#e9ecef',
  unity: '#495057',
  band: '#f8f9fa',
  failed: '#c92a2a',
};

const FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif";

/** @param {string} text */
const xml = (text) => String(text).replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');

/** 'W6-copied' → 'W6': the mode is already in the title. @param {string} id */
export const displayId = (id) => id.replace(/-.*/, '');

/** @param {string} text @param {number} max */
const truncate = (text, max) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

/**
 * The log2 domain: whole powers of two that cover every ratio, at least 1/4…4,
 * at most 1/64…64 (bars beyond are clipped and marked).
 * @param {number[]} ratios
 */
function domain(ratios) {
  const low = Math.min(0.25, ...ratios.map((r) => r / 1.15));
  const high = Math.max(4, ...ratios.map((r) => r * 1.15));
  return {
    minExp: Math.max(-6, Math.floor(Math.log2(low))),
    maxExp: Math.min(6, Math.ceil(Math.log2(high))),
  };
}

/** @param {number} exp */
function tickLabel(exp) {
  if (exp >= 0) return `${2 ** exp}×`;
  return `1/${2 ** -exp}×`;
}

/** "5–7 runs", "1 run" @param {any[]} workloads */
function runCounts(workloads) {
  const counts = [...new Set(workloads.map((w) => w.runs))].sort((a, b) => a - b);
  const last = counts[counts.length - 1];
  return `${counts.length > 1 ? `${counts[0]}–${last}` : last} run${last === 1 ? '' : 's'}`;
}

/** @param {{ role: string, runtime: string }} row */
function barColor(row) {
  if (row.role === 'ours') return COLORS.ours;
  return row.runtime === 'python' ? COLORS.python : COLORS.peer;
}

/**
 * @param {{ environment: any, workloads: any[] }} results
 * @returns {string} the SVG document
 */
export function renderChart({ environment, workloads }) {
  const L = LAYOUT;
  const ratios = workloads.flatMap((w) => w.rows.filter((r) => r.ratio !== undefined).map((r) => r.ratio));
  const { minExp, maxExp } = domain(ratios);
  const x = (/** @type {number} */ ratio) => {
    const exp = Math.min(maxExp, Math.max(minExp, Math.log2(ratio)));
    return L.plotLeft + ((exp - minExp) / (maxExp - minExp)) * (L.plotRight - L.plotLeft);
  };
  const unityX = x(1);

  const bands = [];
  const body = [];
  let y = L.top;
  for (const [index, workload] of workloads.entries()) {
    const groupHeight = L.groupHeader + workload.rows.length * L.row;
    const background = index % 2 === 0 ? COLORS.band : '#ffffff';
    if (index % 2 === 0) bands.push(`<rect x="8" y="${y - 4}" width="${L.width - 16}" height="${groupHeight + 6}" rx="6" fill="${COLORS.band}"/>`);
    body.push(
      // The halo (a stroke under the fill) keeps the heading legible across the grid lines.
      `<text x="16" y="${y + 17}" font-size="14" font-weight="700" fill="${COLORS.text}" stroke="${background}" stroke-width="5" stroke-linejoin="round" paint-order="stroke">${xml(displayId(workload.id))} · ${xml(workload.title)}`
      + `<tspan dx="10" font-weight="400" fill="${COLORS.muted}" font-size="12">${xml(workload.unit)}, ${workload.better} is better${workload.bestPeer ? ` · 1× = ${xml(workload.bestPeer)}` : ''}</tspan></text>`,
    );
    y += L.groupHeader;
    for (const row of workload.rows) {
      const mid = y + L.row / 2;
      const ours = row.role === 'ours';
      const weight = ours ? ' font-weight="700"' : '';
      body.push(`<text x="${L.labelRight}" y="${mid + 4}" font-size="12.5" text-anchor="end" fill="${ours ? COLORS.ours : COLORS.text}"${weight}>${xml(truncate(row.label, 30))}</text>`);
      if (row.ratio !== undefined) {
        const end = x(row.ratio);
        const [left, right] = end >= unityX ? [unityX, end] : [end, unityX];
        const width = Math.max(2, right - left);
        body.push(`<rect x="${(end >= unityX ? left : right - width).toFixed(1)}" y="${(mid - L.bar / 2).toFixed(1)}" width="${width.toFixed(1)}" height="${L.bar}" rx="2" fill="${barColor(row)}"/>`);
        const clipped = Math.log2(row.ratio) > maxExp || Math.log2(row.ratio) < minExp;
        if (clipped) body.push(`<text x="${end >= unityX ? end - 4 : end + 4}" y="${mid + 4}" font-size="12" text-anchor="${end >= unityX ? 'end' : 'start'}" fill="#fff">${end >= unityX ? '»' : '«'}</text>`);
        body.push(
          `<text x="${L.valueLeft}" y="${mid + 4}" font-size="12.5" fill="${ours ? COLORS.ours : COLORS.text}"${weight}>${formatRatio(row.ratio)}`
          + `<tspan dx="8" fill="${COLORS.muted}" font-weight="400">${xml(formatValue(row.median, workload.unit))}</tspan></text>`,
        );
      } else {
        const failed = row.status === 'failed';
        body.push(`<text x="${unityX + 8}" y="${mid + 4}" font-size="12" font-style="italic" fill="${failed ? COLORS.failed : COLORS.muted}">${xml(truncate(statusText(row), 70))}</text>`);
      }
      y += L.row;
    }
    y += L.groupGap;
  }
  const plotBottom = y - L.groupGap + 4;
  const height = plotBottom + L.bottom;

  const grid = [];
  for (let exp = minExp; exp <= maxExp; exp++) {
    const gx = x(2 ** exp).toFixed(1);
    const unity = exp === 0;
    grid.push(`<line x1="${gx}" y1="${L.top - 12}" x2="${gx}" y2="${plotBottom}" stroke="${unity ? COLORS.unity : COLORS.grid}" stroke-width="${unity ? 1.5 : 1}"${unity ? '' : ' stroke-dasharray="3 3"'}/>`);
    // On a wide domain, label every other power of two so the labels do not collide.
    const labelled = maxExp - minExp <= 8 || exp % 2 === 0;
    for (const ty of labelled ? [L.top - 18, plotBottom + 16] : []) {
      grid.push(`<text x="${gx}" y="${ty}" font-size="11" text-anchor="middle" fill="${unity ? COLORS.text : COLORS.muted}"${unity ? ' font-weight="700"' : ''}>${tickLabel(exp)}</text>`);
    }
  }

  const env = environment;
  const subtitle = 'Log scale. 1× is the fastest comparison row of the same run; a bar right of the line is faster than it, left is slower.';
  const machine = `${env.date.slice(0, 10)} · Node ${env.node} · Python ${env.python} · ${env.machine.cpus} CPUs (${env.machine.cpuModel})`
    + ` · median of ${runCounts(workloads)} in fresh processes`;
  const legend = [
    ['multiprocessing', COLORS.ours],
    ['Node.js pools and hand-written worker_threads code', COLORS.peer],
    ['Python multiprocessing', COLORS.python],
  ];
  let legendX = 16;
  const legendItems = legend.map(([label, color]) => {
    const item = `<rect x="${legendX}" y="80" width="12" height="12" rx="2" fill="${color}"/><text x="${legendX + 17}" y="90" font-size="12" fill="${COLORS.text}">${xml(label)}</text>`;
    legendX += 30 + label.length * 6.6;
    return item;
  });

  return `<svg xmlns="http://www.w3.org/2000/svg" width="${L.width}" height="${height}" viewBox="0 0 ${L.width} ${height}" font-family="${xml(FONT)}" role="img" aria-labelledby="title desc">
<title id="title">multiprocessing benchmarks: speed relative to the best peer</title>
<desc id="desc">${xml(subtitle)} ${xml(machine)}</desc>
<rect width="100%" height="100%" fill="#ffffff"/>
<text x="16" y="28" font-size="19" font-weight="700" fill="${COLORS.text}">multiprocessing vs. Node.js pools and Python: speed relative to the best peer</text>
<text x="16" y="48" font-size="12" fill="${COLORS.muted}">${xml(subtitle)}</text>
<text x="16" y="65" font-size="12" fill="${COLORS.muted}">${xml(truncate(machine, 140))}</text>
${legendItems.join('\n')}
${bands.join('\n')}
${grid.join('\n')}
${body.join('\n')}
<text x="${L.plotLeft}" y="${height - 10}" font-size="11" fill="${COLORS.muted}">Generated by npm run bench · tables, method and ranges in docs/benchmarks.md</text>
</svg>
`;
}
