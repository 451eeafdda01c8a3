// simtheme workbench: search and corpus views over the HTTP/JSON API (POST /v1/<Rpc>).
// User text is only ever put into the page with textContent / text nodes.

const $ = (id) => document.getElementById(id);
const KEY = 'simtheme-api-key';
const state = { key: sessionStorage.getItem(KEY) || '', access: null, k: 10, query: null, docsToken: '' };

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
  toString() {
    return this.status ? `${this.status} ${this.code}: ${this.message}` : this.message;
  }
}

function headers() {
  const h = { 'content-type': 'application/json' };
  if (state.key) h.authorization = `Bearer ${state.key}`;
  return h;
}

async function answer(resp) {
  const text = await resp.text();
  let body = {};
  try {
    body = text ? JSON.parse(text) : {};
  } catch {
    body = { message: text };
  }
  if (!resp.ok) throw new ApiError(resp.status, body.code || resp.statusText, body.message || resp.statusText);
  return body;
}

/** Calls an RPC of the HTTP/JSON API. */
async function call(rpc, body) {
  let resp;
  try {
    resp = await fetch(`/v1/${rpc}`, { method: 'POST', headers: headers(), body: JSON.stringify(body || {}) });
  } catch (e) {
    throw new ApiError(0, 'NETWORK', `the server cannot be reached (${e.message})`);
  }
  return answer(resp);
}

function showError(e) {
  const box = $('error');
  if (!e) {
    box.hidden = true;
    box.textContent = '';
    return;
  }
  box.textContent = e instanceof ApiError ? e.toString() : `Error: ${e.message || e}`;
  box.hidden = false;
  if (e.status === 401) askForKey();
}

function askForKey() {
  $('keybar').hidden = false;
  $('key').focus();
}

/** Asks the server what the current key may do; shows the key form when it needs one. */
async function checkAccess() {
  let resp;
  try {
    resp = await fetch('/ui/access', { headers: headers() });
  } catch (e) {
    showError(new ApiError(0, 'NETWORK', `the server cannot be reached (${e.message})`));
    return;
  }
  try {
    const a = await answer(resp);
    state.access = a.access;
    $('keybar').hidden = true;
    $('access').textContent = a.keys ? `key: ${a.access}` : 'no key needed';
    document.body.dataset.access = a.access;
    showError(null);
  } catch (e) {
    state.access = null;
    $('access').textContent = 'key needed';
    showError(e.status === 401 && !state.key ? null : e);
    askForKey();
  }
}

/** The code points of `text` split at the span boundaries, each piece marked with the spans covering it. */
function pieces(text, best, highlights) {
  const chars = Array.from(text);
  const cuts = new Set([0, chars.length]);
  const spans = [...highlights.map((h) => ({ ...h, kind: 'mark' }))];
  if (best && best.end > best.start) spans.push({ ...best, kind: 'best' });
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

function paragraphText(p, best, highlights) {
  const el = document.createElement('p');
  el.className = 'text';
  for (const piece of pieces(p.text || '', best, highlights || [])) {
    let node = document.createTextNode(piece.text);
    if (piece.mark) {
      const m = document.createElement('mark');
      m.appendChild(node);
      node = m;
    }
    if (piece.best) {
      const s = document.createElement('span');
      s.className = 'best';
      s.title = 'best-matching chunk';
      s.appendChild(node);
      node = s;
    }
    el.appendChild(node);
  }
  return el;
}

function span(text, cls) {
  const s = document.createElement('span');
  if (cls) s.className = cls;
  s.textContent = text;
  return s;
}

function renderHits(resp, elapsed) {
  const list = $('hits');
  list.replaceChildren();
  const hits = resp.hits || [];
  for (const h of hits) {
    const p = h.paragraph || {};
    const li = document.createElement('li');
    li.className = 'hit';
    const meta = document.createElement('div');
    meta.className = 'meta';
    meta.append(span(`#${h.rank}`), span(p.documentTitle || p.documentId || '', 'doc'), span(p.date || 'undated'));
    if (p.heading) meta.append(span(p.heading));
    meta.append(span(`score ${(h.score || 0).toFixed(3)}`));
    const like = document.createElement('button');
    like.type = 'button';
    like.className = 'link';
    like.textContent = 'more like this';
    // by meaning: a paragraph has no terms to match exactly
    like.addEventListener('click', () => search({ paragraphId: p.id, mode: 'SEARCH_MODE_DENSE' }, `paragraphs like #${h.rank}`));
    meta.append(like);
    li.append(meta, paragraphText(p, h.match, h.highlights));
    list.append(li);
  }
  const server = `embedding ${(resp.embedMs || 0).toFixed(1)} ms, search ${(resp.searchMs || 0).toFixed(1)} ms`;
  $('searchinfo').textContent = `${hits.length} hits for ${state.label} in ${elapsed.toFixed(0)} ms (${server})`;
  $('more').hidden = hits.length < state.k || state.k >= 100;
}

function searchRequest(query) {
  const req = { k: state.k, mode: $('mode').value, ...query };
  const must = $('must').value.split(/[,，]/).map((t) => t.trim()).filter(Boolean);
  if (must.length) req.mustContain = must;
  const from = parseInt($('from').value, 10);
  const to = parseInt($('to').value, 10);
  if (from || to) req.filter = { years: { ...(from ? { from } : {}), ...(to ? { to } : {}) } };
  return req;
}

async function search(query, label) {
  if (query) {
    state.query = query;
    state.label = label;
    state.k = 10;
  }
  const started = performance.now();
  try {
    const resp = await call('NearestParagraphs', searchRequest(state.query));
    showError(null);
    renderHits(resp, performance.now() - started);
  } catch (e) {
    showError(e);
  }
}

async function loadDocuments(more) {
  if (!more) {
    state.docsToken = '';
    $('docs').replaceChildren();
  }
  try {
    const resp = await call('ListDocuments', { pageSize: 50, pageToken: state.docsToken });
    showError(null);
    for (const d of resp.documents || []) $('docs').append(documentRow(d));
    state.docsToken = resp.nextPageToken || '';
    $('moredocs').hidden = !state.docsToken;
    $('corpusinfo').textContent = `${$('docs').children.length} documents shown`;
  } catch (e) {
    showError(e);
  }
}

function cell(text, cls) {
  const td = document.createElement('td');
  if (cls) td.className = cls;
  td.textContent = text;
  return td;
}

function documentRow(d) {
  const tr = document.createElement('tr');
  tr.append(cell(d.title || d.origin || d.id), cell(d.date || 'undated'), cell(String(d.paragraphs || 0), 'num'), cell(String(d.chunks || 0), 'num'));
  const actions = document.createElement('td');
  if (state.access === 'full' || state.access === 'open') {
    const del = document.createElement('button');
    del.type = 'button';
    del.className = 'danger';
    del.textContent = 'Delete';
    del.addEventListener('click', async () => {
      if (!window.confirm(`Delete "${d.title || d.origin || d.id}" and its ${d.paragraphs || 0} paragraphs?`)) return;
      try {
        await call('DeleteDocument', { documentId: d.id });
        tr.remove();
        $('corpusinfo').textContent = `deleted "${d.title || d.origin || d.id}"`;
      } catch (e) {
        showError(e);
      }
    });
    actions.append(del);
  }
  tr.append(actions);
  return tr;
}

function showTab(name) {
  for (const b of document.querySelectorAll('.tab')) b.setAttribute('aria-pressed', String(b.dataset.tab === name));
  $('view-search').hidden = name !== 'search';
  $('view-corpus').hidden = name !== 'corpus';
  if (name === 'corpus') loadDocuments(false);
}

function start() {
  $('keyform').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    state.key = $('key').value.trim();
    sessionStorage.setItem(KEY, state.key);
    $('key').value = '';
    await checkAccess();
  });
  $('searchform').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const text = $('q').value.trim();
    if (text) search({ text }, `"${text}"`);
  });
  $('more').addEventListener('click', () => {
    state.k = Math.min(state.k + 10, 100);
    search(null);
  });
  $('moredocs').addEventListener('click', () => loadDocuments(true));
  for (const b of document.querySelectorAll('.tab')) b.addEventListener('click', () => showTab(b.dataset.tab));
  checkAccess();
  $('q').focus();
}

start();
