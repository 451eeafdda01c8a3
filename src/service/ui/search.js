// Search view: query, mode, must-contain terms, years, documents and tags; hits with the terms
// highlighted and the best chunk marked; more like this; paging.

import { $, button, call, el, guarded } from './core.js';
import { exportBar } from './exporter.js';

const view = { k: 10, query: null, label: '', resp: null };

/** The code points of `text` split at the span boundaries, each piece marked with the spans covering it. */
function pieces(text, best, highlights) {
  const chars = Array.from(text);
  const cuts = new Set([0, chars.length]);
  const spans = [...highlights.map((h) => ({ ...h, kind: 'mark' }))];
  if (best && best.end > (best.start || 0)) spans.push({ ...best, kind: 'best' });
  for (const s of spans) {
    cuts.add(Math.min(s.start || 0, chars.length));
    cuts.add(Math.min(s.end || 0, chars.length));
  }
  const points = [...cuts].sort((a, b) => a - b);
  const out = [];
  for (let i = 0; i + 1 < points.length; i++) {
    const [a, b] = [points[i], points[i + 1]];
    const inside = (kind) => spans.some((s) => s.kind === kind && (s.start || 0) <= a && b <= s.end);
    out.push({ text: chars.slice(a, b).join(''), mark: inside('mark'), best: inside('best') });
  }
  return out;
}

/** A paragraph's text with highlighted terms (<mark>) and the best chunk (span.best). */
export function paragraphText(text, best, highlights) {
  const p = el('p', 'text');
  for (const piece of pieces(text || '', best, highlights || [])) {
    let node = document.createTextNode(piece.text);
    if (piece.mark) node = el('mark', null, node);
    if (piece.best) {
      const s = el('span', 'best', node);
      s.title = 'best-matching chunk';
      node = s;
    }
    p.append(node);
  }
  return p;
}

function renderHits(resp, elapsed) {
  const painted = performance.now();
  const list = $('hits');
  const hits = resp.hits || [];
  list.replaceChildren(
    ...hits.map((h) => {
      const p = h.paragraph || {};
      const meta = el('div', 'meta', el('span', null, `#${h.rank}`), el('span', 'doc', p.documentTitle || p.documentId || ''), el('span', null, p.date || 'undated'));
      if (p.heading) meta.append(el('span', null, p.heading));
      meta.append(el('span', null, `score ${(h.score || 0).toFixed(3)}`));
      // by meaning: a paragraph has no terms to match exactly
      meta.append(button('more like this', 'link', () => search({ paragraphId: p.id, mode: 'SEARCH_MODE_DENSE' }, `paragraphs like #${h.rank}`)));
      return el('li', 'hit', meta, paragraphText(p.text, h.match, h.highlights));
    }),
  );
  const bridges = resp.bridges || [];
  $('bridges').textContent = bridges.length
    ? `Glossary: ${bridges.map((b) => `"${b.matched}" also searched as ${(b.added || []).join(' / ')}`).join('; ')}`
    : '';
  $('bridges').hidden = !bridges.length;
  const server = `embedding ${(resp.embedMs || 0).toFixed(1)} ms, search ${(resp.searchMs || 0).toFixed(1)} ms`;
  $('more').hidden = hits.length < view.k || view.k >= 100;
  // time from the parsed answer to the hits on screen (after the next frame)
  requestAnimationFrame(() => {
    const render = performance.now() - painted;
    list.dataset.renderMs = render.toFixed(1);
    $('searchinfo').textContent = `${hits.length} hits for ${view.label} in ${elapsed.toFixed(0)} ms (${server}; on screen ${render.toFixed(0)} ms after the answer)`;
  });
}

function splitList(value) {
  return value.split(/[,，]/).map((t) => t.trim()).filter(Boolean);
}

function searchRequest(query) {
  const req = { k: view.k, mode: $('mode').value, ...query };
  const must = splitList($('must').value);
  if (must.length) req.mustContain = must;
  const from = parseInt($('from').value, 10);
  const to = parseInt($('to').value, 10);
  const filter = {};
  if (from || to) filter.years = { ...(from ? { from } : {}), ...(to ? { to } : {}) };
  const docs = splitList($('docfilter').value);
  if (docs.length) filter.documentIds = docs;
  const tags = splitList($('tagfilter').value);
  if (tags.length) filter.tags = tags;
  if (Object.keys(filter).length) req.filter = filter;
  if (!$('glossary').checked) req.noGlossary = true;
  if ($('bridgemust').checked && must.length) req.bridge = true;
  return req;
}

/** Runs `query` ({text} or {paragraphId, mode}) labelled `label`; null re-runs the last one (paging). */
export async function search(query, label) {
  if (query) {
    view.query = query;
    view.label = label;
    view.k = 10;
  }
  const started = performance.now();
  await guarded(async () => {
    const resp = await call('NearestParagraphs', searchRequest(view.query));
    view.resp = resp;
    renderHits(resp, performance.now() - started);
  });
}

function exported() {
  if (!view.resp) return null;
  const rows = (view.resp.hits || []).map((h) => {
    const p = h.paragraph || {};
    return {
      rank: h.rank || 0,
      score: h.score || 0,
      paragraph_id: p.id,
      document_id: p.documentId || '',
      document_title: p.documentTitle || '',
      date: p.date || '',
      heading: p.heading || '',
      text: p.text || '',
    };
  });
  return { name: 'simtheme-search', rows, json: { query: view.label, request: searchRequest(view.query), response: view.resp } };
}

export function startSearch(showError) {
  $('searchform').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const text = $('q').value.trim();
    if (text) search({ text }, `"${text}"`);
  });
  $('more').addEventListener('click', () => {
    view.k = Math.min(view.k + 10, 100);
    search(null);
  });
  $('searchexport').append(exportBar(exported, null, showError));
}
