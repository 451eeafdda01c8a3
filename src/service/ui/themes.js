// Themes over time: the theme tree (broad → fine) as the rows of a heatmap of each theme's share
// per year or bucket of years. Rows expand into their sub-themes; hovering a cell shows the
// label, keywords and counts; choosing a theme lists its paragraphs nearest the centre, year by
// year. The chart is one <svg> drawn with presentation attributes, so it exports as it looks.

import { $, button, call, count, docName, documentNames, el, guarded, percent, requestSearch, svg, words } from './core.js';
import { exportBar } from './exporter.js';

const view = { resp: null, nodes: new Map(), roots: [], expanded: new Set(), selected: null, buckets: [], undated: false, request: null };

/** Light yellow → green → dark blue, low to high (the CLI heatmap's scale). */
const RAMP = [[255, 255, 217], [199, 233, 180], [65, 182, 196], [34, 94, 168], [8, 29, 88]];
const GAP = '#e4e6ea';
const ROW = 22;
const LABEL_W = 300;
const SIZE_W = 90;
const TOP = 46;

function ramp(x) {
  const t = Math.min(Math.max(x, 0), 1) * (RAMP.length - 1);
  const i = Math.min(Math.floor(t), RAMP.length - 2);
  const f = t - i;
  const c = RAMP[i].map((a, j) => Math.round(a + (RAMP[i + 1][j] - a) * f));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

/** proto3 JSON leaves zero values out: a node with every field present. */
function normalise(n) {
  return {
    id: n.id || 0,
    parent: n.parent ?? null,
    level: n.level || 0,
    children: n.children || [],
    label: n.label || '',
    keywords: n.keywords || [],
    size: n.size || 0,
    share: n.share || 0,
    cohesion: n.cohesion || 0,
    years: (n.years || []).map((y) => ({ year: y.year ?? null, count: y.count || 0, share: y.share || 0 })),
    representatives: n.representatives || [],
    yearExamples: n.yearExamples || [],
  };
}

/** Clustered paragraphs per year, recovered from any node's count / share. */
function yearTotals(nodes) {
  const totals = new Map();
  for (const n of nodes) {
    for (const y of n.years) if (y.share > 0 && !totals.has(y.year)) totals.set(y.year, Math.round(y.count / y.share));
  }
  return totals;
}

/** Columns: buckets of `size` years aligned on multiples of it, plus "undated" when any. */
function buckets(totals, size) {
  const years = [...totals.keys()].filter((y) => y !== null).sort((a, b) => a - b);
  const out = [];
  if (years.length) {
    const first = Math.floor(years[0] / size) * size;
    for (let start = first; start <= years[years.length - 1]; start += size) {
      const end = start + size - 1;
      const total = years.filter((y) => y >= start && y <= end).reduce((s, y) => s + totals.get(y), 0);
      out.push({ start, end, label: size === 1 ? String(start) : `${start}–${end}`, total });
    }
  }
  if (totals.has(null)) out.push({ start: null, end: null, label: 'undated', total: totals.get(null) });
  return out;
}

function autoBucket(totals) {
  const years = [...totals.keys()].filter((y) => y !== null);
  const span = years.length ? Math.max(...years) - Math.min(...years) + 1 : 1;
  return span <= 45 ? 1 : span <= 120 ? 5 : 10;
}

/** A node's count and share in each column. */
function cells(node) {
  return view.buckets.map((b) => {
    const count = node.years
      .filter((y) => (b.start === null ? y.year === null : y.year !== null && y.year >= b.start && y.year <= b.end))
      .reduce((s, y) => s + y.count, 0);
    return { count, share: b.total ? count / b.total : 0, bucket: b };
  });
}

/** Rows on screen: the tree in depth-first order, children of expanded nodes only. */
function visibleRows() {
  const rows = [];
  const walk = (id) => {
    const n = view.nodes.get(id);
    rows.push(n);
    if (view.expanded.has(id)) for (const c of n.children) walk(c);
  };
  for (const r of view.roots) walk(r);
  return rows;
}

/** `s` cut to about `room` pixels (CJK characters count double). */
function fit(s, room) {
  let width = 0;
  let out = '';
  for (const ch of s) {
    width += /[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]/.test(ch) ? 13 : 7;
    if (width > room) return `${out}…`;
    out += ch;
  }
  return out;
}

function showTip(ev, node, cell) {
  const tip = $('tip');
  const lines = [el('strong', null, node.label), el('div', 'muted', `keywords: ${words(node.keywords)}`)];
  if (cell) {
    lines.push(el('div', null, `${cell.bucket.label}: ${cell.count} of ${cell.bucket.total} paragraphs (${percent(cell.share)})`));
  }
  lines.push(el('div', 'muted', `${node.size} paragraphs in all, level ${node.level}${node.children.length ? `, ${node.children.length} sub-themes` : ''}`));
  tip.replaceChildren(...lines);
  tip.hidden = false;
  const x = Math.min(ev.clientX + 14, window.innerWidth - tip.offsetWidth - 8);
  const y = ev.clientY + 16 + tip.offsetHeight > window.innerHeight ? ev.clientY - tip.offsetHeight - 10 : ev.clientY + 16;
  tip.style.left = `${Math.max(4, x)}px`;
  tip.style.top = `${Math.max(4, y)}px`;
}

const hideTip = () => {
  $('tip').hidden = true;
};

function toggle(id, open) {
  const n = view.nodes.get(id);
  if (!n.children.length) return;
  const want = open ?? !view.expanded.has(id);
  if (want) view.expanded.add(id);
  else view.expanded.delete(id);
  draw(id);
}

function focusRow(id) {
  const label = document.querySelector(`#themechart [data-id="${id}"] .rowlabel`);
  if (label) label.focus();
}

function onKey(ev, node, rows) {
  const at = rows.indexOf(node);
  const keys = {
    Enter: () => select(node.id),
    ' ': () => select(node.id),
    ArrowRight: () => (view.expanded.has(node.id) || !node.children.length ? null : toggle(node.id, true)),
    ArrowLeft: () => (view.expanded.has(node.id) ? toggle(node.id, false) : node.parent !== null && focusRow(node.parent)),
    ArrowDown: () => at + 1 < rows.length && focusRow(rows[at + 1].id),
    ArrowUp: () => at > 0 && focusRow(rows[at - 1].id),
  };
  if (keys[ev.key]) {
    ev.preventDefault();
    keys[ev.key]();
  }
}

/** Draws the chart; keeps keyboard focus on row `focus` when given. */
function draw(focus) {
  const box = $('themechart');
  const rows = visibleRows();
  const room = Math.max(box.clientWidth || 900, 480) - LABEL_W - SIZE_W;
  const cw = Math.max(6, Math.min(44, Math.floor(room / Math.max(view.buckets.length, 1))));
  const width = LABEL_W + cw * view.buckets.length + SIZE_W;
  const height = TOP + rows.length * ROW + 8;
  const perRow = $('scale').value === 'row';
  const all = rows.map((n) => cells(n));
  const shared = Math.max(0.01, ...all.flat().map((c) => c.share));
  const maxSize = Math.max(1, ...rows.map((n) => n.size));
  const chart = svg('svg', { width, height, viewBox: `0 0 ${width} ${height}`, role: 'group', 'aria-label': 'Share of each theme per year', 'font-family': 'system-ui, "Noto Sans CJK SC", sans-serif', 'font-size': 12 });
  chart.append(svg('rect', { x: 0, y: 0, width, height, fill: '#ffffff' }));
  chart.append(svg('text', { x: 4, y: 16, fill: '#5b6673' }, perRow ? 'colour: share of the year, scaled per theme (darkest = its peak)' : `colour: share of the year (darkest = ${percent(shared)})`));
  const step = Math.max(1, Math.ceil(44 / cw));
  view.buckets.forEach((b, i) => {
    if (i % step === 0 || b.start === null) {
      chart.append(svg('text', { x: LABEL_W + i * cw, y: TOP - 8, fill: '#5b6673', 'font-size': 11 }, b.start === null ? 'undated' : String(b.start)));
    }
  });
  chart.append(svg('text', { x: LABEL_W + cw * view.buckets.length + 8, y: TOP - 8, fill: '#5b6673', 'font-size': 11 }, 'paragraphs'));
  rows.forEach((n, r) => {
    const y = TOP + r * ROW;
    const g = svg('g', { 'data-id': n.id, class: 'row' });
    if (n.id === view.selected) g.append(svg('rect', { x: 0, y, width, height: ROW, fill: '#eef4fb' }));
    const indent = 6 + n.level * 14;
    if (n.children.length) {
      const t = svg('text', { x: indent, y: y + 15, fill: '#1f5fa8', class: 'toggle' }, view.expanded.has(n.id) ? '▾' : '▸');
      t.addEventListener('click', () => toggle(n.id));
      g.append(t);
    }
    const label = svg('text', { x: indent + 14, y: y + 15, fill: '#1d232b', class: 'rowlabel', tabindex: 0, role: 'button', 'font-weight': n.level === 0 ? 600 : 400 }, fit(n.label, LABEL_W - indent - 22));
    label.setAttribute('aria-label', `${n.label}, ${n.size} paragraphs${n.children.length ? (view.expanded.has(n.id) ? ', expanded' : ', collapsed') : ''}`);
    label.addEventListener('click', () => select(n.id));
    label.addEventListener('keydown', (ev) => onKey(ev, n, rows));
    label.addEventListener('mousemove', (ev) => showTip(ev, n, null));
    label.addEventListener('mouseleave', hideTip);
    g.append(label);
    const top = perRow ? Math.max(...all[r].map((c) => c.share), 0.0001) : shared;
    all[r].forEach((c, i) => {
      const fill = !c.bucket.total ? GAP : c.count ? ramp(0.1 + 0.9 * (c.share / top)) : '#f7f7f7';
      const cell = svg('rect', { x: LABEL_W + i * cw, y: y + 2, width: cw - 1, height: ROW - 4, fill, class: 'cell' });
      cell.addEventListener('mousemove', (ev) => showTip(ev, n, c));
      cell.addEventListener('mouseleave', hideTip);
      cell.addEventListener('click', () => select(n.id, c.bucket));
      g.append(cell);
    });
    const sx = LABEL_W + cw * view.buckets.length + 8;
    g.append(svg('rect', { x: sx, y: y + 6, width: Math.max(1, ((SIZE_W - 44) * n.size) / maxSize), height: ROW - 12, fill: '#9fb7d6' }));
    g.append(svg('text', { x: sx + SIZE_W - 40, y: y + 15, fill: '#5b6673', 'font-size': 11 }, String(n.size)));
    chart.append(g);
  });
  box.replaceChildren(chart);
  if (focus !== undefined) focusRow(focus);
}

function quoted(p) {
  const meta = el('div', 'meta', el('span', 'doc', docName(p.documentId)), el('span', null, `similarity ${(p.similarity || 0).toFixed(3)}`));
  meta.append(button('more like this', 'link', () => requestSearch({ paragraphId: p.paragraphId, mode: 'SEARCH_MODE_DENSE' }, 'paragraphs like a theme member')));
  return el('li', 'hit', meta, el('p', 'text', p.text || ''));
}

/** Lists theme `id`'s paragraphs nearest its centre, per year; scrolls to `bucket` when given. */
async function select(id, bucket) {
  view.selected = id;
  draw(id);
  const panel = $('themepanel');
  await guarded(async () => {
    const [resp] = await Promise.all([call('ThemeTree', { ...view.request, subtree: id, yearExamples: 2 }), documentNames()]);
    const node = normalise(resp.nodes[0]);
    const counts = new Map(node.years.map((y) => [y.year, y]));
    const groups = new Map();
    for (const p of node.yearExamples) {
      const year = p.year ?? null;
      if (!groups.has(year)) groups.set(year, []);
      groups.get(year).push(p);
    }
    const sections = [...groups].map(([year, ps]) => {
      const y = counts.get(year) || { count: 0, share: 0 };
      const head = el('h4', null, `${year ?? 'undated'} `, el('span', 'muted', `${count(y.count, 'paragraph')}, ${percent(y.share)} of the year`));
      const s = el('section', 'year', head, el('ol', 'quotes', ...ps.map(quoted)));
      s.dataset.year = year ?? 'undated';
      return s;
    });
    panel.replaceChildren(
      el('h3', null, node.label),
      el('p', 'muted', `${node.size} paragraphs (${percent(node.share)} of those clustered), level ${node.level}, cohesion ${node.cohesion.toFixed(2)}`),
      el('p', null, el('strong', null, 'Keywords: '), words(node.keywords, 15)),
      ...sections,
    );
    panel.hidden = false;
    const inBucket = (s) => bucket && bucket.start !== null && s.dataset.year !== 'undated' && Number(s.dataset.year) >= bucket.start && Number(s.dataset.year) <= bucket.end;
    const target = sections.find(inBucket);
    (target || panel).scrollIntoView({ block: 'nearest' });
  });
}

/** Loads the tree for the chosen number of levels and draws it. */
export async function loadThemes() {
  const levels = Number($('levels').value);
  const minSplit = parseInt($('minsplit').value, 10);
  view.request = { levels, ...(minSplit > 0 ? { minSplit } : {}) };
  const started = performance.now();
  $('themeinfo').textContent = 'clustering…';
  await guarded(async () => {
    const resp = await call('ThemeTree', view.request);
    view.resp = resp;
    const nodes = (resp.nodes || []).map(normalise);
    view.nodes = new Map(nodes.map((n) => [n.id, n]));
    view.roots = nodes.filter((n) => n.parent === null).map((n) => n.id);
    view.expanded = new Set();
    view.selected = null;
    $('themepanel').hidden = true;
    rebucket();
    const outliers = (resp.outlierIds || []).length;
    const boilerplate = (resp.boilerplateIds || []).length;
    const took = resp.cached ? 'from the cache' : `computed in ${((resp.elapsedMs || 0) / 1000).toFixed(1)} s`;
    $('themeinfo').textContent = `${view.roots.length} broad themes, ${nodes.length} in ${resp.depth || 0} levels, over ${resp.paragraphs || 0} paragraphs (${outliers} in no theme, ${boilerplate} boilerplate); ${took}, on screen in ${(performance.now() - started).toFixed(0)} ms`;
  });
  if (!view.resp) $('themeinfo').textContent = '';
}

function rebucket() {
  const nodes = [...view.nodes.values()];
  const totals = yearTotals(nodes);
  const size = $('bucket').value === 'auto' ? autoBucket(totals) : Number($('bucket').value);
  view.buckets = buckets(totals, size);
  draw();
}

function exported() {
  if (!view.resp) return null;
  const rows = visibleRows().map((n) => {
    const row = { id: n.id, parent: n.parent ?? '', level: n.level, label: n.label, size: n.size, share: Number(n.share.toFixed(6)), keywords: words(n.keywords, 10) };
    for (const c of cells(n)) row[`share ${c.bucket.label}`] = Number(c.share.toFixed(6));
    return row;
  });
  return { name: 'simtheme-themes', rows, json: { request: view.request, columns: view.buckets, rows } };
}

export function startThemes(showError) {
  $('themeform').addEventListener('submit', (ev) => {
    ev.preventDefault();
    loadThemes();
  });
  $('bucket').addEventListener('change', () => view.resp && rebucket());
  $('scale').addEventListener('change', () => view.resp && draw());
  $('expandall').addEventListener('click', () => {
    for (const n of view.nodes.values()) if (n.children.length) view.expanded.add(n.id);
    draw();
  });
  $('collapseall').addEventListener('click', () => {
    view.expanded.clear();
    draw();
  });
  window.addEventListener('resize', () => view.resp && !$('view-themes').hidden && draw());
  $('themeexport').append(exportBar(exported, () => $('themechart').querySelector('svg'), showError));
}

/** True once a tree is loaded. */
export const themesLoaded = () => view.resp !== null;
