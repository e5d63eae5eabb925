// The Strangler dashboard: polls /api/status every 2 s and /api/history every 5 s; no page reloads.
'use strict';

const charts = {};
window.stranglerCharts = charts;
const tokenInput = document.getElementById('token');
tokenInput.value = sessionStorage.getItem('strangler-token') || '';
tokenInput.addEventListener('change', () => sessionStorage.setItem('strangler-token', tokenInput.value));

function fmt(n) {
  return typeof n === 'number' ? Math.round(n).toLocaleString('en-US') : (n ?? '–');
}

function lineChart(id, unit) {
  const chart = new Chart(document.getElementById(id), {
    type: 'line',
    data: { labels: [], datasets: [] },
    options: {
      animation: false, responsive: true, maintainAspectRatio: false,
      elements: { point: { radius: 0 } },
      scales: { y: { beginAtZero: true, title: { display: true, text: unit } } },
      plugins: { legend: { position: 'bottom', labels: { boxWidth: 12 } } }
    }
  });
  charts[id.replace('Chart', '')] = chart;
  return chart;
}

lineChart('lagChart', 'ms');
lineChart('rateChart', 'changes/s');
lineChart('p99Chart', 'ms');
lineChart('captureChart', 'ms');

const palette = ['#2b6cb0', '#c05621', '#2f855a', '#6b46c1', '#b83280', '#2c7a7b', '#975a16', '#4a5568'];

function setSeries(chart, labels, series) {
  chart.data.labels = labels;
  chart.data.datasets = Object.keys(series).sort().map((name, i) => ({
    label: name, data: series[name], borderColor: palette[i % palette.length], borderWidth: 1.5, fill: false
  }));
  chart.update();
}

async function refreshHistory() {
  const history = await (await fetch('/api/history')).json();
  const labels = history.map(s => new Date(s.at).toLocaleTimeString());
  const pick = key => {
    const series = {};
    history.forEach((s, i) => Object.entries(s[key] || {}).forEach(([name, v]) => {
      (series[name] = series[name] || new Array(history.length).fill(null))[i] = v;
    }));
    return series;
  };
  setSeries(charts.lag, labels, pick('e2eLagMs'));
  setSeries(charts.p99, labels, pick('e2eP99Ms'));
  setSeries(charts.capture, labels, pick('captureLagMs'));
  setSeries(charts.rate, labels, {
    captured: history.map(s => s.capturedPerSecond),
    applied: history.map(s => s.appliedPerSecond)
  });
}

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  Object.entries(attrs || {}).forEach(([k, v]) => k.startsWith('on') ? e.addEventListener(k.slice(2), v) : e.setAttribute(k, v));
  children.flat().forEach(c => e.append(c instanceof Node ? c : document.createTextNode(String(c))));
  return e;
}

async function act(route, action, body, question) {
  if (!confirm(question)) {
    return;
  }
  const answer = await fetch(`/api/routes/${encodeURIComponent(route)}/${action}`, {
    method: 'POST',
    headers: { 'Authorization': 'Bearer ' + tokenInput.value, 'Content-Type': 'application/json' },
    body: JSON.stringify(body || {})
  });
  const result = await answer.json();
  const box = document.getElementById('route-error-' + route);
  box.textContent = answer.ok ? '' : result.error;
  refreshStatus();
}

function routeCard(r, controls) {
  const sides = r.sides || {};
  const side = name => {
    const s = sides[name] || {};
    return el('li', {}, `${name}: ${fmt(s.requests)} requests, window error rate ${((s.windowErrorRate || 0) * 100).toFixed(2)}%` +
      (s.p99Ms !== undefined ? `, p99 ${s.p99Ms.toFixed(1)} ms` : ''));
  };
  const ramp = r.ramp ? `ramp ${r.ramp.state} to ${r.ramp.target} by ${r.ramp.step} every ${r.ramp.every}` +
    (r.ramp.reason ? ` (${r.ramp.reason})` : '') : 'no ramp';
  const gates = ((r.gates || {}).gates || []).map(g =>
    el('li', { class: g.passed ? 'pass' : 'fail' }, `${g.passed ? '✓' : '✗'} ${g.name}: ${g.detail}`));
  const shadow = Object.entries(r.shadow || {}).map(([k, v]) => `${k} ${v}`).join(', ') || 'none';
  const weightInput = el('input', { id: `weight-${r.name}`, value: r.weight });
  const toInput = el('input', { id: `to-${r.name}`, value: '50%' });
  const stepInput = el('input', { id: `step-${r.name}`, value: '5%' });
  const everyInput = el('input', { id: `every-${r.name}`, value: '5m' });
  const card = el('div', { class: 'route', 'data-route': r.name },
    el('h3', {}, r.name, el('span', { class: 'weight', 'data-weight': r.name }, r.weight), r.enabled ? '' : el('span', { class: 'fail' }, 'disabled')),
    el('div', {}, ramp),
    el('div', { class: 'muted' }, `last change: ${r.reason} (${r.updatedBy}, ${r.updatedAt})`),
    el('ul', { class: 'gates' }, gates),
    el('ul', {}, side('monolith'), side('service')),
    el('div', {}, 'shadow: ' + shadow));
  if (controls) {
    card.append(el('div', { class: 'controls' },
      'weight', weightInput,
      el('button', { onclick: () => act(r.name, 'weight', { weight: weightInput.value }, `Set ${r.name} to ${weightInput.value}?`) }, 'Set'),
      ' ramp to', toInput, 'by', stepInput, 'every', everyInput,
      el('button', { onclick: () => act(r.name, 'ramp', { to: toInput.value, step: stepInput.value, every: everyInput.value },
        `Start a ramp of ${r.name} to ${toInput.value}?`) }, 'Start ramp'),
      el('button', { onclick: () => act(r.name, 'ramp/pause', {}, `Pause the ramp of ${r.name}?`) }, 'Pause'),
      el('button', { onclick: () => act(r.name, 'ramp/resume', {}, `Resume the ramp of ${r.name}?`) }, 'Resume'),
      el('button', { onclick: () => act(r.name, 'ramp/abort', {}, `Abort the ramp of ${r.name}? The weight stays.`) }, 'Abort'),
      el('button', { class: 'danger', id: `rollback-${r.name}`,
        onclick: () => act(r.name, 'rollback', {}, `Roll ${r.name} back to the monolith (weight 0) on every router?`) }, 'Rollback')));
  }
  card.append(el('div', { class: 'error', id: 'route-error-' + r.name }));
  return card;
}

function snapshotText(snap) {
  if (typeof snap === 'string' || !snap) {
    return snap || '–';
  }
  if (!snap.tables) {
    return snap.state;
  }
  const pct = snap.rowsEstimated > 0 ? ` (${Math.min(100, 100 * snap.rowsScanned / snap.rowsEstimated).toFixed(0)}% of ~${fmt(snap.rowsEstimated)})` : '';
  const eta = snap.etaSeconds !== undefined ? `, ETA ${fmt(snap.etaSeconds)} s` : '';
  return `${snap.state}: ${fmt(snap.rowsScanned)} rows${pct}` +
    (snap.state === 'running' ? `, ${snap.tablesRemaining} tables left, ${fmt(snap.rowsPerSecond)} rows/s${eta}` : '');
}

let lastRoutesKey = '';

async function refreshStatus() {
  const s = await (await fetch('/api/status')).json();
  document.getElementById('updated').textContent = 'updated ' + new Date(s.at).toLocaleTimeString();
  document.getElementById('components').replaceChildren(...s.components.map(c =>
    el('span', { class: c.state === 'RUNNING' ? 'component-up' : 'component-down', title: c.failure }, `${c.name} ${c.state} `)));
  document.getElementById('captured').textContent = fmt(s.captured);
  document.getElementById('applied').textContent = fmt(s.applied);
  document.getElementById('deadLetters').textContent = fmt(s.deadLetters);
  document.getElementById('parked').textContent = fmt(s.parkedNow);
  document.getElementById('conflicts').textContent = fmt(s.conflicts);
  document.getElementById('conflictTables').textContent = (s.conflictsByTable || [])
    .map(c => c.table + ': ' + fmt(c.conflicts)).join(', ');
  document.getElementById('snapshot').textContent = snapshotText(s.snapshot);
  if (s.rates) {
    document.getElementById('capturedRate').textContent = fmt(s.rates.capturedPerSecond) + '/s';
    document.getElementById('appliedRate').textContent = fmt(s.rates.appliedPerSecond) + '/s';
  }
  document.querySelector('#tables tbody').replaceChildren(...s.targets.map(t => el('tr', {},
    el('td', {}, `${t.service} / ${t.table}`), el('td', { 'data-applied': `${t.service}/${t.table}` }, fmt(t.applied)),
    el('td', {}, fmt(t.e2eLagMs)),
    el('td', {}, t.consistency === undefined ? 'not validated yet' : (t.consistency * 100).toFixed(2) + '%'),
    el('td', {}, fmt(t.driftedRows)),
    el('td', {}, t.lastPassAgeSeconds === undefined ? '–' : fmt(t.lastPassAgeSeconds) + ' s ago'))));
  // the route cards are rebuilt only when something in them changed, so inputs being typed into survive
  const key = JSON.stringify(s.routes);
  if (s.routes.length > 0 && key !== lastRoutesKey) {
    lastRoutesKey = key;
    const focused = document.activeElement && document.activeElement.id;
    const typed = {};
    document.querySelectorAll('#routes input').forEach(i => typed[i.id] = i.value);
    document.getElementById('routes').replaceChildren(...s.routes.map(r => routeCard(r, s.controls)));
    Object.entries(typed).forEach(([id, v]) => { const i = document.getElementById(id); if (i && id === focused) { i.value = v; i.focus(); } });
  }
}

async function loop(fn, ms) {
  try {
    await fn();
  } catch (e) {
    document.getElementById('updated').textContent = 'cannot reach this Strangler process: ' + e.message;
  }
  setTimeout(() => loop(fn, ms), ms);
}

loop(refreshStatus, 2000);
loop(refreshHistory, 5000);
