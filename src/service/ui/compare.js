// Compare: the themes of two years or periods side by side (emerging, faded, grown, shrunk,
// stable) with a representative paragraph of each side; text reuse between two periods or two
// documents, edits shown as a diff.

import { $, call, docName, documentLabel, documentNames, el, guarded, percent, words } from './core.js';
import { exportBar } from './exporter.js';

const view = { compare: null, reuse: null, documents: [], request: null, prepared: false };

const TREND = {
  TREND_EMERGING: 'emerging',
  TREND_FADED: 'faded',
  TREND_GROWN: 'grown',
  TREND_SHRUNK: 'shrunk',
  TREND_STABLE: 'stable',
};
const KIND = {
  REUSE_KIND_VERBATIM: 'verbatim',
  REUSE_KIND_EDITED: 'edited',
  REUSE_KIND_REWRITTEN: 'rewritten',
  REUSE_KIND_DROPPED: 'dropped',
  REUSE_KIND_NEW: 'new',
};

function period(prefix) {
  const from = parseInt($(`${prefix}from`).value, 10);
  const to = parseInt($(`${prefix}to`).value, 10) || from;
  if (!from) throw new Error(`give the first year of period ${prefix.toUpperCase()}`);
  return { from, to };
}

const label = (p) => (p.from === p.to ? String(p.from) : `${p.from}–${p.to}`);


function side(p, title, score = 'similarity') {
  if (!p) return el('div', 'side empty', el('div', 'muted', `${title}: no member`));
  const text = el('p', 'text clamp', p.text || '');
  text.title = 'click to show all of it';
  text.addEventListener('click', () => text.classList.toggle('clamp'));
  return el('div', 'side', el('div', 'muted', `${title} · ${p.documentTitle || docName(p.documentId)} · ${score} ${(p.similarity || 0).toFixed(3)}`), text);
}

function themeCard(t, a, b) {
  const trend = TREND[t.trend] || 'stable';
  const change = (t.change || 0) >= 0 ? `+${percent(t.change)}` : `−${percent(-t.change)}`;
  const head = el(
    'div',
    'meta',
    el('span', `badge ${trend}`, trend),
    el('span', 'doc', t.label || ''),
    el('span', null, `${a}: ${percent(t.shareA)} (${t.countA || 0})`),
    el('span', null, `${b}: ${percent(t.shareB)} (${t.countB || 0})`),
    el('span', null, `change ${change} points`),
  );
  const kw = el('div', 'kw', el('div', 'muted', `${a}: ${words(t.keywordsA, 6)}`), el('div', 'muted', `${b}: ${words(t.keywordsB, 6)}`));
  const li = el('li', 'hit', head, kw, el('div', 'pair', side(t.representativeA, a), side(t.representativeB, b)));
  li.dataset.trend = trend;
  return li;
}

function renderCompare() {
  const r = view.compare;
  const a = label(r.periodA || {});
  const b = label(r.periodB || {});
  const only = $('trendfilter').value;
  const themes = (r.themes || []).filter((t) => only === 'all' || (TREND[t.trend] || 'stable') === only);
  $('compareinfo').textContent = `${a}: ${r.paragraphsA || 0} paragraphs, ${b}: ${r.paragraphsB || 0}; ${(r.themes || []).length} themes present in either, ${themes.length} shown, largest change first`;
  $('comparelist').replaceChildren(...themes.map((t) => themeCard(t, a, b)));
}

async function compare() {
  await guarded(async () => {
    const req = { periodA: period('a'), periodB: period('b') };
    view.request = req;
    view.compare = await call('CompareYears', req);
    renderCompare();
  });
}

function reuseSide(which) {
  const v = $(`reuse${which}`).value;
  if (v === 'a' || v === 'b') return { years: period(v) };
  return { documentId: v };
}

function diff(segments) {
  const p = el('p', 'text diff');
  for (const s of segments || []) {
    const tag = s.op === 'OP_DELETE' ? 'del' : s.op === 'OP_INSERT' ? 'ins' : 'span';
    p.append(el(tag, null, s.text || ''));
  }
  return p;
}

function entry(e) {
  const kind = KIND[e.kind] || 'new';
  const from = e.from || null;
  const to = e.to || null;
  const where = (p) => (p ? `${p.documentTitle || docName(p.documentId)} ${p.year ?? ''} ¶${(p.position || 0) + 1}` : '');
  const head = el('div', 'meta', el('span', `badge ${kind}`, kind), el('span', null, from ? `from ${where(from)}` : ''), el('span', null, to ? `to ${where(to)}` : ''));
  if (from && to) head.append(el('span', null, `text similarity ${(e.similarity || 0).toFixed(2)}`));
  let body;
  if (kind === 'edited') body = diff(e.diff);
  else if (kind === 'rewritten') body = el('div', 'pair', side({ ...from, similarity: e.cosine }, 'older', 'cosine'), side({ ...to, similarity: e.cosine }, 'newer', 'cosine'));
  else body = el('p', 'text', (to || from || {}).text || '');
  const li = el('li', 'hit', head, body);
  li.dataset.kind = kind;
  return li;
}

async function reuse() {
  await guarded(async () => {
    const req = { from: reuseSide('from'), to: reuseSide('to'), limit: 300 };
    const kind = $('reusekind').value;
    if (kind !== 'all') req.kinds = [kind];
    const r = await call('TextReuse', req);
    view.reuse = r;
    const counts = ['verbatim', 'edited', 'rewritten', 'dropped', 'new'].map((k) => `${r[k] || 0} ${k}`).join(', ');
    $('reuseinfo').textContent = `${r.fromLabel} (${r.fromParagraphs || 0} paragraphs) → ${r.toLabel} (${r.toParagraphs || 0}): ${counts}; ${percent(r.reusedShare)} of the newer text carried over`;
    $('reuselist').replaceChildren(...(r.entries || []).map(entry));
  });
}

/** Fills the period fields with the first and last year of the corpus, and the document lists. */
export async function prepareCompare() {
  if (view.prepared) return;
  view.prepared = true;
  const done = await guarded(async () => {
    const stats = await call('Stats', {});
    const years = (stats.years || []).map((y) => y.year).filter((y) => y !== undefined && y !== null);
    if (years.length && !$('afrom').value) {
      $('afrom').value = years[0];
      $('bfrom').value = years[years.length - 1];
    }
    const docs = await call('ListDocuments', { pageSize: 500 });
    view.documents = docs.documents || [];
    await documentNames();
    for (const which of ['from', 'to']) {
      const select = $(`reuse${which}`);
      for (const d of view.documents) {
        const o = el('option', null, `${documentLabel(d)} (${d.date || 'undated'})`);
        o.value = d.id;
        select.append(o);
      }
    }
    return true;
  });
  if (!done) view.prepared = false;
}

function exportedCompare() {
  if (!view.compare) return null;
  const rows = (view.compare.themes || []).map((t) => ({
    theme_id: t.themeId || 0,
    label: t.label || '',
    trend: TREND[t.trend] || 'stable',
    share_a: t.shareA || 0,
    share_b: t.shareB || 0,
    change: t.change || 0,
    count_a: t.countA || 0,
    count_b: t.countB || 0,
    keywords_a: words(t.keywordsA, 10),
    keywords_b: words(t.keywordsB, 10),
    representative_a: (t.representativeA || {}).text || '',
    representative_b: (t.representativeB || {}).text || '',
  }));
  return { name: 'simtheme-compare', rows, json: { request: view.request, response: view.compare } };
}

function exportedReuse() {
  if (!view.reuse) return null;
  const rows = (view.reuse.entries || []).map((e) => ({
    kind: KIND[e.kind] || '',
    from_paragraph: (e.from || {}).paragraphId || '',
    to_paragraph: (e.to || {}).paragraphId || '',
    similarity: e.similarity || 0,
    from_text: (e.from || {}).text || '',
    to_text: (e.to || {}).text || '',
  }));
  return { name: 'simtheme-reuse', rows, json: view.reuse };
}

export function startCompare(showError) {
  $('compareform').addEventListener('submit', (ev) => {
    ev.preventDefault();
    compare();
  });
  $('trendfilter').addEventListener('change', () => view.compare && renderCompare());
  $('reuseform').addEventListener('submit', (ev) => {
    ev.preventDefault();
    reuse();
  });
  $('compareexport').append(exportBar(exportedCompare, null, showError));
  $('reuseexport').append(exportBar(exportedReuse, null, showError));
}
