// dashboard/www/js/engagement.js — Reports → Engagement: rates against what
// was sent (injected recipients, unique click and open rates, click-to-open;
// GET /api/v1/metrics/deliverability), totals, clicks and opens over time
// (SVG, js/chart.js), top links by clicks with their names, counts per
// tracking domain, and the recent events (newest first, "Load more" follows
// the API's cursor) with filters: type, campaign, tracking domain, time
// range. Counts come from GET /api/v1/events/summary, the events from GET
// /api/v1/events/message, with the same filters.

import {h, clear, errorBox, showError, field, select, table, fmtTime, badge, pageHead} from './ui.js';
import {drawChart} from './chart.js';

const RANGES = [['1h', 'Last hour'], ['24h', 'Last 24 hours'], ['7d', 'Last 7 days'],
                ['30d', 'Last 30 days'], ['custom', 'Custom range']];
const SPAN = {'1h': 3600e3, '24h': 86400e3, '7d': 7 * 86400e3, '30d': 30 * 86400e3};
const BUCKET = {'1h': 60e3, '24h': 3600e3, '7d': 3600e3, '30d': 86400e3};
const TYPE_NAMES = {click: 'Click', open: 'Open', initial_open: 'Initial open',
                    injection: 'Injection'};

// The filters survive re-renders (switching pages keeps them).
const filters = {range: '24h', type: '', campaign: '', domain: '', from: '', to: ''};

function localInput(ms) {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60e3);
  return d.toISOString().slice(0, 16);
}

// The query string both endpoints take.
function query() {
  const p = new URLSearchParams();
  let from;
  let to;
  if (filters.range === 'custom') {
    from = filters.from ? new Date(filters.from).getTime() : Date.now() - SPAN['24h'];
    to = filters.to ? new Date(filters.to).getTime() : Date.now();
  } else {
    const b = BUCKET[filters.range];
    to = Date.now();
    from = Math.floor((to - SPAN[filters.range]) / b) * b;  // buckets on round times
  }
  p.set('from', new Date(from).toISOString());
  p.set('to', new Date(to).toISOString());
  if (filters.type) p.set('events', filters.type);
  if (filters.campaign) p.set('campaign_ids', filters.campaign);
  if (filters.domain) p.set('tracking_domains', filters.domain);
  return p;
}

// The deliverability query: the same range and campaign/domain filters (the
// metrics take no event type: rates are always against injections).
function metricsQuery(q) {
  const m = new URLSearchParams();
  for (const [k, v] of [['from', q.get('from')], ['to', q.get('to')],
                        ['campaigns', q.get('campaign_ids')],
                        ['tracking_domains', q.get('tracking_domains')]]) {
    if (v) m.set(k, v);
  }
  return m;
}

export async function render(main, ctx) {
  const err = errorBox(null);
  main.append(...pageHead('Engagement',
                          'Clicks and opens recorded by the tracker, and which tracking domain ' +
                              'carried them.',
                          h('button', {type: 'button', onclick: () => ctx.refresh()}, 'Refresh')),
              err);
  const form = filterForm(ctx);
  main.append(h('section', {class: 'card', 'aria-label': 'Filters'}, form));
  const body = h('div', {class: 'stack'});
  main.append(body);

  const q = query();
  let summary;
  let domains;
  let events;
  let metrics;
  try {
    const sq = new URLSearchParams(q);
    sq.set('top', '20');
    [summary, domains, events, metrics] = await Promise.all([
      ctx.api.get('/events/summary?' + sq),
      ctx.api.get('/tracking-domains').catch(() => []),
      ctx.api.request('GET', '/api/v1/events/message?' + q + '&per_page=25'),
      ctx.api.get('/metrics/deliverability?' + metricsQuery(q)),
    ]);
  } catch (e) {
    showError(err, e);
    return;
  }
  if (!ctx.current()) return;
  fillSelects(form, summary, domains);

  body.append(rates(metrics[0]));
  const t = summary.totals;
  body.append(h('div', {class: 'totals'},
                total('click', 'Clicks', t.click), total('open', 'Opens', t.open),
                total('initial_open', 'Initial opens', t.initial_open)));

  const series = [];
  if (!filters.type || filters.type === 'click') series.push({key: 'click', name: 'Clicks'});
  if (!filters.type || filters.type === 'open') series.push({key: 'open', name: 'Opens'});
  const chart = h('div', {class: 'chart'});
  body.append(h('section', {class: 'card', 'aria-labelledby': 'chart-h'},
                h('h2', {id: 'chart-h', text: 'Clicks and opens per ' + summary.bucket}),
                h('div', {class: 'legend'}, series.map((s) =>
                    h('span', {}, h('span', {class: 'key ' + s.key}), s.name))),
                chart));
  const draw = () => drawChart(chart, summary.timeline, series, summary.bucket);
  draw();
  let width = chart.clientWidth;
  new ResizeObserver(() => {
    if (chart.isConnected && chart.clientWidth !== width) {
      width = chart.clientWidth;
      draw();
    }
  }).observe(chart);

  body.append(h('div', {class: 'grid2'}, topLinks(summary), byDomain(summary)));
  if (summary.classifications) body.append(byClassification(summary));
  body.append(recent(ctx, events));
}

// "12.5%" of part in whole; "—" when nothing was sent.
function percent(part, whole) {
  return whole > 0 ? (Math.round((1000 * part) / whole) / 10) + '%' : '—';
}

function rates(m) {
  const rate = (kind, name, value, detail) =>
    h('div', {class: 'card total rate ' + kind},
      h('div', {class: 'label muted', text: name}), h('div', {class: 'n', text: value}),
      h('div', {class: 'sub muted', text: detail}));
  return h('section', {class: 'totals', 'aria-label': 'Rates'},
           rate('injected', 'Recipients sent to', String(m.count_injected), 'injection events'),
           rate('clicked', 'Unique click rate', percent(m.count_unique_clicked, m.count_injected),
                m.count_unique_clicked + ' recipients clicked'),
           rate('rendered', 'Unique open rate', percent(m.count_unique_rendered, m.count_injected),
                m.count_unique_rendered + ' recipients opened'),
           rate('cto', 'Click-to-open rate',
                percent(m.count_unique_clicked, m.count_unique_rendered), 'of those who opened'));
}

function total(kind, name, n) {
  return h('div', {class: 'card total ' + kind},
           h('div', {class: 'label muted', text: name}), h('div', {class: 'n', text: String(n)}));
}

function filterForm(ctx) {
  const range = select('range', RANGES, filters.range);
  const type = select('type', [['', 'All types'], ['click', 'Clicks'], ['open', 'Opens'],
                               ['initial_open', 'Initial opens'], ['injection', 'Injections']],
                      filters.type);
  // The chosen values are options from the start, so they survive until the lists arrive.
  const keep = (v) => (v ? [[v, v]] : []);
  const campaign = select('campaign', [['', 'All campaigns'], ...keep(filters.campaign)],
                          filters.campaign);
  const domain = select('domain', [['', 'All tracking domains'], ...keep(filters.domain)],
                        filters.domain);
  const from = h('input', {type: 'datetime-local', name: 'from',
                           value: filters.from || localInput(Date.now() - SPAN['24h'])});
  const to = h('input', {type: 'datetime-local', name: 'to', value: filters.to || localInput(Date.now())});
  const custom = h('div', {class: 'filters', hidden: filters.range !== 'custom'},
                   field('From', from), field('To', to));
  const form = h('form', {class: 'stack', 'aria-label': 'Event filters'},
                 h('div', {class: 'filters'}, field('Time range', range), field('Type', type),
                   field('Campaign', campaign), field('Tracking domain', domain)),
                 custom);
  const apply = () => {
    filters.range = range.value;
    filters.type = type.value;
    filters.campaign = campaign.value;
    filters.domain = domain.value;
    filters.from = filters.range === 'custom' ? from.value : '';
    filters.to = filters.range === 'custom' ? to.value : '';
    ctx.refresh();
  };
  for (const s of [range, type, campaign, domain, from, to]) s.addEventListener('change', apply);
  form.addEventListener('submit', (ev) => { ev.preventDefault(); apply(); });
  return form;
}

// Adds the campaigns and tracking domains there are to the two selects.
function fillSelects(form, summary, domains) {
  const add = (sel, values) => {
    const have = new Set([...sel.options].map((o) => o.value));
    for (const v of values) {
      if (!v || have.has(v)) continue;
      have.add(v);
      sel.append(h('option', {value: v, text: v}));
    }
  };
  add(form.elements.campaign, summary.campaigns.map((c) => c.campaign_id));
  add(form.elements.domain, domains.map((d) => d.domain)
                                .concat(summary.tracking_domains.map((d) => d.tracking_domain)));
}

function topLinks(summary) {
  const card = h('section', {class: 'card', 'aria-labelledby': 'links-h'},
                 h('h2', {id: 'links-h', text: 'Top links by clicks'}));
  if (!summary.top_links.length) {
    card.append(h('p', {class: 'empty', text: 'No clicks in this range.'}));
    return card;
  }
  const most = summary.top_links[0].clicks || 1;
  card.append(table('Top links by clicks', [{label: 'Link'}, {label: 'Clicks', num: true}],
      summary.top_links.map((l) => {
        const bar = h('div', {class: 'bar'});
        bar.style.width = Math.max(2, (100 * l.clicks) / most) + '%';
        return [h('div', {},
                  h('div', {class: 'domain', text: l.target_link_name || '(no link name)'}),
                  h('div', {class: 'sub url', text: l.target_link_url}), bar),
                String(l.clicks)];
      })));
  return card;
}

function byDomain(summary) {
  const card = h('section', {class: 'card', 'aria-labelledby': 'domains-h'},
                 h('h2', {id: 'domains-h', text: 'By tracking domain'}));
  if (!summary.tracking_domains.length) {
    card.append(h('p', {class: 'empty', text: 'No events in this range.'}));
    return card;
  }
  card.append(table('Events by tracking domain',
      [{label: 'Tracking domain'}, {label: 'Clicks', num: true}, {label: 'Opens', num: true},
       {label: 'Initial opens', num: true}],
      summary.tracking_domains.map((d) => [h('span', {class: 'domain', text: d.tracking_domain}),
                                          String(d.click), String(d.open), String(d.initial_open)])));
  return card;
}

// Who clicked (docs/metrics.md): people vs machines, from the summary's
// per-classification counts. A proxied open (image_proxy) is still an open.
const WHO = {human: 'People', apple_mpp: 'Apple Mail Privacy Protection',
             image_proxy: 'Image proxies (still opens)', scanner: 'Scanners and prefetches',
             '': 'Unclassified (before the upgrade)'};

function byClassification(summary) {
  const card = h('section', {class: 'card', 'aria-labelledby': 'who-h'},
                 h('h2', {id: 'who-h', text: 'People vs machines'}));
  const rows = summary.classifications;
  if (!rows.length) {
    card.append(h('p', {class: 'empty', text: 'No events in this range.'}));
    return card;
  }
  const sum = (f) => rows.reduce((n, r) => n + (f(r) ? r.click : 0), 0);
  const clicks = sum(() => true);
  const human = sum((r) => r.classification === 'human');
  card.append(h('p', {class: 'muted', text: clicks
      ? 'Human clicks: ' + human + ' of ' + clicks + ' (' + Math.round(100 * human / clicks) + ' %)'
      : 'No clicks in this range.'}));
  card.append(table('Events by who made them',
      [{label: 'Who'}, {label: 'Clicks', num: true}, {label: 'Opens', num: true},
       {label: 'Initial opens', num: true}],
      rows.map((r) => [h('span', {text: WHO[r.classification] || r.classification}),
                       String(r.click), String(r.open), String(r.initial_open)])));
  return card;
}

function eventRows(events) {
  return events.map((e) => [
    h('span', {text: fmtTime(e.timestamp)}),
    badge(e.type, TYPE_NAMES[e.type] || e.type),
    h('span', {class: 'domain', text: e.tracking_domain}),
    e.type === 'click'
        ? h('div', {}, h('div', {text: e.target_link_name || '(no link name)'}),
            h('div', {class: 'sub url', text: e.target_link_url}))
        : h('span', {class: 'sub', text: '—'}),
    h('span', {text: e.campaign_id || '—'}),
    h('span', {class: 'url', text: e.rcpt_to || '—'}),
  ]);
}

const EVENT_COLUMNS = [{label: 'Time'}, {label: 'Type'}, {label: 'Tracking domain'},
                       {label: 'Link'}, {label: 'Campaign'}, {label: 'Recipient'}];

function recent(ctx, page) {
  const card = h('section', {class: 'card', 'aria-labelledby': 'events-h'},
                 h('h2', {id: 'events-h', text: 'Recent events'}));
  if (!page.results.length) {
    card.append(h('p', {class: 'empty', text: 'No events match these filters.'}));
    return card;
  }
  const wrap = table('Recent events', EVENT_COLUMNS, eventRows(page.results));
  const tbody = wrap.querySelector('tbody');
  const err = errorBox(null);
  card.append(wrap, err);
  let next = page.links && page.links.next;
  if (next) {
    const more = h('button', {type: 'button'}, 'Load more');
    more.addEventListener('click', async () => {
      more.disabled = true;
      try {
        const p = await ctx.api.request('GET', next);
        const tmp = table('', EVENT_COLUMNS, eventRows(p.results));
        tbody.append(...tmp.querySelector('tbody').children);
        next = p.links && p.links.next;
        more.hidden = !next;
      } catch (e) {
        showError(err, e);
      } finally {
        more.disabled = false;
      }
    });
    card.append(h('div', {class: 'actions'}, more));
  }
  return card;
}
