// Corpus: documents with their dates and counts, a document's paragraphs in order, upload of
// files with dates and delete with a confirmation (both only for keys that may write).

import { $, button, call, canWrite, documentLabel, el, forgetDocumentNames, guarded } from './core.js';
import { exportBar } from './exporter.js';

const view = { token: '', documents: [], reading: null, paragraphs: [], paraToken: '' };

/** Documents sent per AddDocuments call: small requests keep each within the body limit. */
const PER_REQUEST = 4;

const cell = (text, cls) => el('td', cls, text);

function documentRow(d) {
  const name = documentLabel(d);
  const open = button(name, 'link', () => readDocument(d));
  const tr = el('tr', null, el('td', null, open), cell(d.date || 'undated'), cell(String(d.paragraphs || 0), 'num'), cell(String(d.chunks || 0), 'num'));
  const actions = el('td');
  if (canWrite()) {
    actions.append(
      button('Delete', 'danger', async () => {
        if (!window.confirm(`Delete "${name}" and its ${d.paragraphs || 0} paragraphs?`)) return;
        await guarded(async () => {
          await call('DeleteDocument', { documentId: d.id });
          forgetDocumentNames();
          tr.remove();
          view.documents = view.documents.filter((x) => x.id !== d.id);
          $('corpusinfo').textContent = `deleted "${name}"`;
        });
      }),
    );
  }
  tr.append(actions);
  return tr;
}

export async function loadDocuments(more) {
  if (!more) {
    view.token = '';
    view.documents = [];
    $('docs').replaceChildren();
  }
  $('uploadform').hidden = !canWrite();
  await guarded(async () => {
    const resp = await call('ListDocuments', { pageSize: 50, pageToken: view.token });
    for (const d of resp.documents || []) {
      view.documents.push(d);
      $('docs').append(documentRow(d));
    }
    view.token = resp.nextPageToken || '';
    $('moredocs').hidden = !view.token;
    $('corpusinfo').textContent = `${$('docs').children.length} documents shown`;
  });
}

async function readDocument(d, more) {
  if (!more) {
    view.reading = d;
    view.paragraphs = [];
    view.paraToken = '';
    $('paras').replaceChildren();
  }
  await guarded(async () => {
    const resp = await call('ListParagraphs', { documentId: d.id, pageSize: 100, pageToken: view.paraToken });
    for (const p of resp.paragraphs || []) {
      view.paragraphs.push(p);
      const head = el('div', 'meta', el('span', null, `¶${(p.position || 0) + 1}`));
      if (p.heading) head.append(el('span', null, p.heading));
      $('paras').append(el('li', 'hit', head, el('p', 'text', p.text || '')));
    }
    view.paraToken = resp.nextPageToken || '';
    $('moreparas').hidden = !view.paraToken;
    $('readtitle').textContent = documentLabel(d);
    $('readinfo').textContent = `${d.date || 'undated'} · ${d.source || d.origin || ''} · ${view.paragraphs.length} of ${resp.total || 0} paragraphs shown`;
    $('reader').hidden = false;
    $('doclist').hidden = true;
    if (!more) $('readtitle').focus();
  });
}

function closeReader() {
  view.reading = null;
  $('reader').hidden = true;
  $('doclist').hidden = false;
}

function format(name) {
  const ext = name.toLowerCase().split('.').pop();
  return ext === 'md' || ext === 'markdown' ? 'md' : ext === 'html' || ext === 'htm' ? 'html' : 'txt';
}

const STATUS = { INGEST_STATUS_INSERTED: 'stored', INGEST_STATUS_ALREADY_PRESENT: 'already stored', INGEST_STATUS_FAILED: 'failed' };

async function upload() {
  const files = [...$('files').files];
  if (!files.length) return;
  const date = $('uploaddate').value.trim();
  const tags = $('uploadtags').value.split(/[,，]/).map((t) => t.trim()).filter(Boolean);
  const results = $('uploadresults');
  results.replaceChildren();
  let stored = 0;
  let undated = 0;
  for (let i = 0; i < files.length; i += PER_REQUEST) {
    const batch = files.slice(i, i + PER_REQUEST);
    $('uploadinfo').textContent = `sending ${i + 1}–${i + batch.length} of ${files.length}…`;
    const ok = await guarded(async () => {
      const documents = await Promise.all(
        batch.map(async (f) => ({ text: await f.text(), name: f.name, format: format(f.name), ...(date ? { date } : {}), ...(tags.length ? { tags } : {}) })),
      );
      const resp = await call('AddDocuments', { documents });
      forgetDocumentNames();
      (resp.results || []).forEach((r, j) => {
        const status = STATUS[r.status] || 'failed';
        if (status === 'stored') stored += 1;
        if (status !== 'failed' && !r.date) undated += 1;
        const dated = r.date ? `dated ${r.date} (${(r.dateSource || '').replace('_', ' ')})` : 'undated';
        const what = status === 'failed' ? r.error : `${dated}, ${r.paragraphs || 0} paragraphs`;
        const li = el('li', status === 'failed' ? 'bad' : null, `${batch[j].name}: ${status} — ${what}`);
        results.append(li);
      });
      return true;
    });
    if (!ok) break;
  }
  const warn = undated ? `; ${undated} undated: give a date, or put the year in the file name (2019.txt)` : '';
  $('uploadinfo').textContent = `${stored} of ${files.length} files stored${warn}`;
  $('files').value = '';
  loadDocuments(false);
}

function exported() {
  if (view.reading) {
    const rows = view.paragraphs.map((p) => ({ position: p.position || 0, paragraph_id: p.id, heading: p.heading || '', text: p.text || '' }));
    return { name: `simtheme-document-${view.reading.id}`, rows, json: { document: view.reading, paragraphs: view.paragraphs } };
  }
  const rows = view.documents.map((d) => ({
    id: d.id,
    title: d.title || '',
    origin: d.origin || '',
    date: d.date || '',
    source: d.source || '',
    tags: (d.tags || []).join(', '),
    paragraphs: d.paragraphs || 0,
    chunks: d.chunks || 0,
  }));
  return { name: 'simtheme-documents', rows, json: view.documents };
}

export function startCorpus(showError) {
  $('moredocs').addEventListener('click', () => loadDocuments(true));
  $('moreparas').addEventListener('click', () => readDocument(view.reading, true));
  $('closereader').addEventListener('click', closeReader);
  $('uploadform').addEventListener('submit', (ev) => {
    ev.preventDefault();
    upload();
  });
  $('corpusexport').append(exportBar(exported, null, showError));
}

export { closeReader };
