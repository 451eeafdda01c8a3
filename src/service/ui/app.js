// simtheme workbench: search, themes over time, compare and corpus views over the HTTP/JSON
// API (POST /v1/<Rpc>). User text is only ever put into the page with text nodes.

import { $, ApiError, answer, askForKey, headers, setKey, showError, state } from './core.js';
import { prepareCompare, startCompare } from './compare.js';
import { closeReader, loadDocuments, startCorpus } from './corpus.js';
import { search, startSearch } from './search.js';
import { loadThemes, startThemes, themesLoaded } from './themes.js';

const VIEWS = ['search', 'themes', 'compare', 'corpus'];

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

function showTab(name) {
  for (const b of document.querySelectorAll('.tab')) b.setAttribute('aria-pressed', String(b.dataset.tab === name));
  for (const v of VIEWS) $(`view-${v}`).hidden = v !== name;
  if (name === 'corpus') {
    closeReader();
    loadDocuments(false);
  }
  if (name === 'themes' && !themesLoaded() && state.access) loadThemes();
  if (name === 'compare' && state.access) prepareCompare();
}

function start() {
  $('keyform').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    setKey($('key').value.trim());
    $('key').value = '';
    await checkAccess();
  });
  startSearch(showError);
  startThemes(showError);
  startCompare(showError);
  startCorpus(showError);
  document.addEventListener('simtheme:search', (ev) => {
    showTab('search');
    search(ev.detail.query, ev.detail.label);
  });
  for (const b of document.querySelectorAll('.tab')) b.addEventListener('click', () => showTab(b.dataset.tab));
  checkAccess();
  $('q').focus();
}

start();
