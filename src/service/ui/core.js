// Shared by every view: the API call, the key, errors in words, and DOM helpers that only ever
// put user text into the page as text.

export const $ = (id) => document.getElementById(id);
const KEY = 'simtheme-api-key';

/** What the page knows: the key for this tab and what it may do ("full", "read-only", "open"). */
export const state = { key: sessionStorage.getItem(KEY) || '', access: null };

export function setKey(key) {
  state.key = key;
  sessionStorage.setItem(KEY, key);
}

/** True when the current key may change the corpus. */
export const canWrite = () => state.access === 'full' || state.access === 'open';

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
  toString() {
    return this.status ? `${this.status} ${this.code}: ${this.message}` : this.message;
  }
}

export function headers() {
  const h = { 'content-type': 'application/json' };
  if (state.key) h.authorization = `Bearer ${state.key}`;
  return h;
}

/** The JSON body of `resp`, or an ApiError with the server's message. */
export async function answer(resp) {
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

/** Calls an RPC of the HTTP/JSON API (POST /v1/<Rpc>). */
export async function call(rpc, body) {
  let resp;
  try {
    resp = await fetch(`/v1/${rpc}`, { method: 'POST', headers: headers(), body: JSON.stringify(body || {}) });
  } catch (e) {
    throw new ApiError(0, 'NETWORK', `the server cannot be reached (${e.message})`);
  }
  return answer(resp);
}

export function askForKey() {
  $('keybar').hidden = false;
  $('key').focus();
}

/** Shows `e` in words in the alert box (or hides the box for null); a 401 asks for a key. */
export function showError(e) {
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

/** Runs `work`, clearing the error box on success and showing the error otherwise. */
export async function guarded(work) {
  try {
    const out = await work();
    showError(null);
    return out;
  } catch (e) {
    showError(e);
    return undefined;
  }
}

/** An element with a class (optional) and children: strings become text nodes. */
export function el(tag, cls, ...children) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    e.append(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
  return e;
}

/** A button (type=button) running `onClick`. */
export function button(text, cls, onClick) {
  const b = el('button', cls, text);
  b.type = 'button';
  b.addEventListener('click', onClick);
  return b;
}

const SVG = 'http://www.w3.org/2000/svg';

/** An SVG element with attributes. */
export function svg(tag, attrs, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

/** `3.4%` for a share in [0, 1]. */
export const percent = (share, digits = 1) => `${((share || 0) * 100).toFixed(digits)}%`;

/** Keywords as "a, b, c". */
export const words = (keywords, n = 8) => (keywords || []).slice(0, n).map((k) => k.word).join(', ');

/** Asks the search view to run a query (views do not import each other). */
export function requestSearch(query, label) {
  document.dispatchEvent(new CustomEvent('simtheme:search', { detail: { query, label } }));
}

let names = null;

/** What a document is called on screen: its title, else the last part of its file name, else its id. */
export const documentLabel = (d) => d.title || (d.origin || '').split(/[\\/]/).pop() || d.id;

/** Document id → title (or file name), loaded once (up to 5,000 documents); refreshed after writes. */
export async function documentNames() {
  if (names) return names;
  const found = new Map();
  let token = '';
  do {
    const r = await call('ListDocuments', { pageSize: 500, pageToken: token });
    for (const d of r.documents || []) found.set(d.id, documentLabel(d));
    token = r.nextPageToken || '';
  } while (token && found.size < 5000);
  names = found;
  return names;
}

/** Forgets the document names (after an upload or a delete). */
export function forgetDocumentNames() {
  names = null;
}

/** The title of document `id` as last loaded, else the id. */
export const docName = (id) => (names && names.get(id)) || id || '';

/** `1 paragraph`, `2 paragraphs`. */
export const count = (n, what) => `${n} ${what}${n === 1 ? '' : 's'}`;
