// dashboard/www/js/ui.js — small DOM helpers every page uses. Values always
// go in as text (textContent, attributes via setAttribute), never as HTML,
// so nothing the API returns can become markup. Dialogs are native <dialog>
// elements (focus stays inside, Escape closes).

import {describe} from './api.js';

// h('button', {class: 'primary', onclick: f}, 'Add') — children are nodes or text.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') {
      el.addEventListener(k.slice(2), v);
    } else if (k === 'class') {
      el.className = v;
    } else if (k === 'text') {
      el.textContent = v;
    } else if (k === 'value') {
      el.value = v;
    } else if (k === 'checked' || k === 'disabled' || k === 'selected' || k === 'hidden') {
      el[k] = Boolean(v);
    } else {
      el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function badge(kind, text) {
  return h('span', {class: 'badge ' + kind, text: text || kind});
}

// An alert box showing `err` in words (hidden when err is null).
export function errorBox(err) {
  const box = h('div', {class: 'alert', role: 'alert'});
  if (err) box.textContent = describe(err); else box.hidden = true;
  return box;
}

export function showError(box, err) {
  box.textContent = describe(err);
  box.hidden = false;
  box.className = 'alert';
}

export function showInfo(box, text, kind) {
  box.textContent = text;
  box.hidden = false;
  box.className = 'alert ' + (kind || 'info');
}

// A short note at the bottom; it fades by itself (a CSS animation, restarted per note).
export function toast(text) {
  const t = document.getElementById('toast');
  t.textContent = text;
  t.classList.remove('show');
  void t.offsetWidth;  // restart the animation
  t.classList.add('show');
}

export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    toast('Copied to the clipboard');
  } catch (e) {
    // No clipboard (plain HTTP on a non-local host): select it for Ctrl+C.
    toast('Select the text and press Ctrl+C to copy');
  }
}

// A <code> value with a Copy button.
export function copyable(text, label) {
  return h('div', {class: 'record'},
           h('code', {class: 'mono', text}),
           h('button', {type: 'button', class: 'small', 'aria-label': label || 'Copy ' + text,
                        onclick: () => copyText(text)}, 'Copy'));
}

// A modal dialog. `build(close)` returns its content (nodes); resolves with
// what close(value) was given (undefined when dismissed with Escape).
export function modal(title, build) {
  return new Promise((resolve) => {
    const dlg = h('dialog', {'aria-labelledby': 'dlg-title'});
    let done = false;
    const close = (value) => {
      if (done) return;
      done = true;
      dlg.close();
      dlg.remove();
      resolve(value);
    };
    dlg.addEventListener('close', () => close(undefined));
    dlg.append(h('div', {class: 'body'}, h('h2', {id: 'dlg-title', text: title}), build(close)));
    document.body.append(dlg);
    dlg.showModal();
    const first = dlg.querySelector('input, select, [autofocus], button.primary, button');
    if (first) first.focus();
  });
}

// A form in a dialog: `fields` are nodes; `submit(form)` may throw an
// ApiError (shown in the dialog, which stays open) or return a value.
export function formDialog(title, fields, submitLabel, submit, danger) {
  return modal(title, (close) => {
    const err = errorBox(null);
    const button = h('button', {type: 'submit', class: danger ? 'danger solid' : 'primary'},
                     submitLabel);
    const form = h('form', {novalidate: true}, fields, err,
                   h('div', {class: 'buttons'},
                     h('button', {type: 'button', onclick: () => close(undefined)}, 'Cancel'),
                     button));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      button.disabled = true;
      try {
        const value = await submit(form);
        close(value === undefined ? true : value);
      } catch (e) {
        showError(err, e);
        button.disabled = false;
      }
    });
    return form;
  });
}

// "Delete click.example.com?" → true when confirmed.
export function confirmDialog(title, text, confirmLabel, action) {
  return formDialog(title, [h('p', {text})], confirmLabel, action || (async () => true), true);
}

export function field(label, input, help) {
  return h('label', {class: 'field'}, h('span', {text: label}), input,
           help ? h('small', {text: help}) : null);
}

export function checkbox(label, name, checked) {
  return h('label', {class: 'check'}, h('input', {type: 'checkbox', name, checked}), label);
}

export function select(name, options, value) {
  const s = h('select', {name});
  for (const [v, text] of options) s.append(h('option', {value: v, text, selected: v === value}));
  return s;
}

// A table that becomes labelled cards on narrow screens. columns:
// [{label, num?}], rows: arrays of cells (node, text, or {node, full}).
export function table(caption, columns, rows) {
  const head = h('tr', {}, columns.map((c) => h('th', {scope: 'col', class: c.num ? 'num' : null,
                                                      text: c.label})));
  const body = h('tbody', {}, rows.map((cells) => h('tr', {}, cells.map((cell, i) => {
    const c = columns[i];
    const td = h('td', {'data-label': c.label, class: c.num ? 'num' : null});
    append(td, [cell]);
    return td;
  }))));
  return h('div', {class: 'table-wrap'},
           h('table', {class: 'data'}, h('caption', {class: 'visually-hidden', text: caption}),
             h('thead', {}, head), body));
}

export function fmtTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return isNaN(d) ? iso : d.toLocaleString();
}

export function accountName(id, subaccounts) {
  if (!id) return 'Primary';
  const s = (subaccounts || []).find((x) => x.id === id);
  return s ? s.name + ' (' + id + ')' : 'Subaccount ' + id;
}

export function pageHead(title, lead, ...buttons) {
  return [h('div', {class: 'page-head'}, h('h1', {text: title}),
            buttons.length ? h('div', {class: 'actions'}, buttons) : null),
          lead ? h('p', {class: 'lead', text: lead}) : null];
}
