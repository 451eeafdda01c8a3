// Export of what a view shows: rows as CSV or JSON, a chart as SVG or PNG. Files are built in
// the page and saved through a download link; nothing leaves the machine.

import { button, el } from './core.js';

/** One CSV field: quoted; text that a spreadsheet would run as a formula gets a leading '. */
function field(v) {
  if (v === null || v === undefined) return '';
  let s = String(v);
  if (typeof v !== 'number' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return `"${s.replace(/"/g, '""')}"`;
}

/** RFC 4180 CSV of `rows` (objects), columns in the order of the first row's keys. */
export function toCsv(rows) {
  if (!rows.length) return '';
  const columns = Object.keys(rows[0]);
  const lines = [columns.map(field).join(',')];
  for (const r of rows) lines.push(columns.map((c) => field(r[c])).join(','));
  return `${lines.join('\r\n')}\r\n`;
}

/** Saves `blob` as `name` through a temporary download link. */
export function save(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = el('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** A standalone SVG file of `node` (an <svg> element drawn with presentation attributes). */
export function svgText(node) {
  const copy = node.cloneNode(true);
  copy.setAttribute('xmlns', 'http://www.w3.org/2000/svg');
  for (const e of copy.querySelectorAll('[tabindex]')) e.removeAttribute('tabindex');
  return new XMLSerializer().serializeToString(copy);
}

/** The SVG `node` rendered to a PNG blob at twice its size. */
export function pngBlob(node) {
  const width = Number(node.getAttribute('width'));
  const height = Number(node.getAttribute('height'));
  const url = URL.createObjectURL(new Blob([svgText(node)], { type: 'image/svg+xml' }));
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => {
      const canvas = el('canvas');
      canvas.width = width * 2;
      canvas.height = height * 2;
      const ctx = canvas.getContext('2d');
      ctx.fillStyle = '#fff';
      ctx.fillRect(0, 0, canvas.width, canvas.height);
      ctx.scale(2, 2);
      ctx.drawImage(img, 0, 0);
      URL.revokeObjectURL(url);
      canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('the chart could not be drawn as PNG'))), 'image/png');
    };
    img.onerror = () => reject(new Error('the chart could not be drawn as PNG'));
    img.src = url;
  });
}

/**
 * Export buttons for a view: `source()` gives `{ name, rows, json }` of what is on screen (or
 * null when nothing is); `chart()` (optional) gives the <svg> to save.
 */
export function exportBar(source, chart, onError) {
  const bar = el('span', 'exports');
  const data = (kind) => {
    const s = source();
    if (!s || !s.rows.length) {
      onError(new Error('nothing to export yet: run a query first'));
      return;
    }
    if (kind === 'csv') save(new Blob([toCsv(s.rows)], { type: 'text/csv;charset=utf-8' }), `${s.name}.csv`);
    else save(new Blob([JSON.stringify(s.json ?? s.rows, null, 2)], { type: 'application/json' }), `${s.name}.json`);
  };
  bar.append(el('span', 'muted', 'Export:'), button('CSV', 'small', () => data('csv')), button('JSON', 'small', () => data('json')));
  if (chart) {
    const name = () => (source() || { name: 'chart' }).name;
    bar.append(
      button('SVG', 'small', () => {
        const node = chart();
        if (!node) return onError(new Error('no chart to export yet'));
        save(new Blob([svgText(node)], { type: 'image/svg+xml' }), `${name()}.svg`);
      }),
      button('PNG', 'small', async () => {
        const node = chart();
        if (!node) return onError(new Error('no chart to export yet'));
        try {
          save(await pngBlob(node), `${name()}.png`);
        } catch (e) {
          onError(e);
        }
      }),
    );
  }
  return bar;
}
