// The synod web console (plain JavaScript, no libraries: it is served from the binary and
// must work offline). It reads what the admin server already answers: /metrics (always
// answered) and the commands without a four-letter twin (voting_view, zabstate) for the
// cluster view and the charts, so they work with the default 4lw.commands.whitelist;
// /commands/<name> (ZooKeeper's AdminServer JSON, whitelist and auth as for any HTTP client)
// for sessions and watches; and the console API (/console/api/node/<path>, /console/api/events/<n>) for the tree and the live
// events. Credentials typed in are kept in this page only and sent as
// `Authorization: digest user:password`, which the server checks like a client's addauth.
'use strict';

const COMMANDS = '/commands';
const METRICS = '/metrics';
const NODE_API = '/console/api/node';
const EVENTS_API = '/console/api/events';
const POLL_MS = 1000;
const CHART_POINTS = 60;     // one a poll: the last minute
const HEALTH_SAMPLES = 30;   // per member, one a poll
const EVENT_ROWS_MAX = 200;  // rows the event view shows; the server keeps more

const state = {
  creds: null,          // "user:password" once signed in
  view: 'cluster',
  path: '/',
  node: null,           // the last node read
  editFor: null,        // the node whose data the edit box was filled with
  dataMode: 'text',
  health: {},           // member id -> [true|false, ...]
  charts: {throughput: [], latency: [], connections: []},
  lastPackets: null,    // {count, at} of the previous poll
  eventsNext: 0,        // the next event number wanted (0: all the server keeps)
  eventsStarted: false,
};

const $ = (id) => document.getElementById(id);

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

function row(cells) {
  const tr = document.createElement('tr');
  for (const c of cells) {
    const td = document.createElement('td');
    if (c instanceof Node) td.appendChild(c); else td.textContent = c === undefined ? '' : String(c);
    tr.appendChild(td);
  }
  return tr;
}

function fill(tbody, rows) {
  tbody.replaceChildren(...rows);
}

// Session ids are 64-bit: JSON numbers that long lose digits in JavaScript, so they are
// turned into strings before parsing (only the display uses them).
function parseJson(text) {
  return JSON.parse(text.replace(/([:\[,]\s*)(-?\d{16,})(?=\s*[,\]\}])/g, '$1"$2"'));
}

function sessionHex(id) {
  try { return '0x' + BigInt.asUintN(64, BigInt(id)).toString(16); } catch (e) { return String(id); }
}

// One request: {status, body}; body is the parsed JSON or {error: text}.
async function call(path, options) {
  const opts = Object.assign({cache: 'no-store'}, options || {});
  opts.headers = Object.assign({}, opts.headers || {});
  if (state.creds) opts.headers['Authorization'] = 'digest ' + state.creds;
  try {
    const resp = await fetch(path, opts);
    const text = await resp.text();
    let body;
    try { body = parseJson(text); } catch (e) { body = {error: text.trim()}; }
    return {status: resp.status, body};
  } catch (e) {
    return {status: 0, body: {error: 'no answer from the server (' + e.message + ')'}};
  }
}

// A command's JSON, or throws its error (a refusal, "not currently serving").
async function command(name) {
  const r = await call(COMMANDS + '/' + name);
  if (r.status !== 200 || r.body.error) throw new Error(name + ': ' + (r.body.error || r.status));
  return r.body;
}

// ---- cluster view and charts ----

function pushSample(list, value, max) {
  list.push(value);
  while (list.length > max) list.shift();
}

function drawChart(id, points) {
  const fig = $(id);
  const line = fig.querySelector('polyline');
  const max = Math.max(1, ...points);
  const step = 300 / (CHART_POINTS - 1);
  const xs = points.map((v, i) => (i * step).toFixed(1) + ',' + (78 - (v / max) * 74).toFixed(1));
  line.setAttribute('points', xs.join(' '));
  fig.dataset.points = String(points.length);
  const last = points.length ? points[points.length - 1] : null;
  fig.querySelector('.last').textContent = last === null ? '' : '(now ' + (+last.toFixed(2)) + ')';
}

// Prometheus text -> {name: [{labels, value}]}; enough of the format for /metrics.
function parseMetrics(text) {
  const out = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels = {};
    for (const l of (m[2] || '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
      labels[l[1]] = l[2].replace(/\\(.)/g, (_, c) => (c === 'n' ? '\n' : c));
    }
    (out[m[1]] = out[m[1]] || []).push({labels, value: Number(m[3])});
  }
  return out;
}

// The value of name whose labels include `labels`, or undefined.
function metric(metrics, name, labels) {
  const hit = (metrics[name] || []).find(
    (s) => Object.entries(labels || {}).every(([k, v]) => s.labels[k] === v));
  return hit ? hit.value : undefined;
}

async function fetchMetrics() {
  const opts = {cache: 'no-store', headers: {}};
  if (state.creds) opts.headers['Authorization'] = 'digest ' + state.creds;
  const resp = await fetch(METRICS, opts);
  if (resp.status !== 200) throw new Error('metrics: ' + resp.status);
  return parseMetrics(await resp.text());
}

function updateCharts(metrics) {
  const now = performance.now();
  const packets = metric(metrics, 'packets_received') || 0;
  if (state.lastPackets) {
    const dt = (now - state.lastPackets.at) / 1000;
    const rate = dt > 0 ? Math.max(0, packets - state.lastPackets.count) / dt : 0;
    pushSample(state.charts.throughput, rate, CHART_POINTS);
  }
  state.lastPackets = {count: packets, at: now};
  pushSample(state.charts.latency, metric(metrics, 'avg_latency') || 0, CHART_POINTS);
  pushSample(state.charts.connections, metric(metrics, 'num_alive_connections') || 0, CHART_POINTS);
  drawChart('chart-throughput', state.charts.throughput);
  drawChart('chart-latency', state.charts.latency);
  drawChart('chart-connections', state.charts.connections);
}

function healthCell(id) {
  const span = el('span', null, 'health');
  for (const up of state.health[id] || []) span.appendChild(el('span', null, up ? 'up' : 'down'));
  span.title = 'one mark a second: green when ' + (id === 'self' ? 'serving' : 'linked');
  return span;
}

async function refreshCluster() {
  let metrics;
  try {
    metrics = await fetchMetrics();
  } catch (e) {
    $('server-state').textContent = 'unreachable';
    $('cluster-error').textContent = e.message;
    return;
  }
  updateCharts(metrics);
  const info = (metrics.synod_info || [{labels: {}}])[0].labels;
  const role = info.server_state || 'unknown';
  const leaderId = metric(metrics, 'synod_leader_id') || 0;
  const serving = ['leader', 'follower', 'observer', 'standalone'].includes(role);
  $('server-state').textContent = 'this server: ' + role + ' · ' + (info.version || '');
  let members = {};
  let selfId = null;
  try {
    members = (await command('voting_view')).current_config || {};
    const zab = await command('zabstate');
    if (zab.myid !== undefined) selfId = String(zab.myid);
    $('cluster-error').textContent = '';
  } catch (e) {
    $('cluster-error').textContent = e.message;
  }
  const ids = Object.keys(members);
  const rows = [];
  if (ids.length === 0) {
    pushSample(state.health.self = state.health.self || [], serving, HEALTH_SAMPLES);
    rows.push(row(['this server', el('span', role, 'role role-' + role), '', '', '',
                   healthCell('self')]));
  }
  for (const id of ids) {
    const m = members[id];
    const self = id === selfId;
    const linked = metric(metrics, 'synod_peer_connected', {peer: id});
    pushSample(state.health[id] = state.health[id] || [],
               self || linked === undefined ? serving : linked === 1, HEALTH_SAMPLES);
    const memberRole = Number(id) === leaderId ? 'leader'
      : m.learner_type === 'observer' ? 'observer' : leaderId > 0 ? 'follower' : 'unknown';
    const lag = metric(metrics, 'synod_peer_lag', {peer: id});
    rows.push(row([id + (self ? ' (this server)' : ''), el('span', memberRole, 'role role-' + memberRole),
                   (m.server_addresses || []).join(' '), m.client_address || '',
                   lag === undefined ? '—' : lag, healthCell(id)]));
  }
  fill($('members').tBodies[0], rows);
  $('cluster-summary').textContent = 'term ' + metric(metrics, 'synod_raft_term') + ' · leader ' +
    (leaderId > 0 ? leaderId : 'unknown') + ' · commit index ' +
    metric(metrics, 'synod_commit_index') + ' · applied ' + metric(metrics, 'synod_applied_index') +
    ' · ' + metric(metrics, 'znode_count') + ' nodes';
}

// ---- tree browser ----

function nodeUrl(path) {
  return NODE_API + path.split('/').map(encodeURIComponent).join('/');
}

function childPath(parent, name) {
  return (parent === '/' ? '' : parent) + '/' + name;
}

function bytesOf(hex) {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.substr(2 * i, 2), 16);
  return out;
}

function hexDump(bytes) {
  const lines = [];
  for (let off = 0; off < bytes.length; off += 16) {
    const chunk = Array.from(bytes.slice(off, off + 16));
    const hex = chunk.map((b) => b.toString(16).padStart(2, '0')).join(' ');
    const text = chunk.map((b) => (b >= 32 && b < 127 ? String.fromCharCode(b) : '.')).join('');
    lines.push(off.toString(16).padStart(8, '0') + '  ' + hex.padEnd(48) + ' |' + text + '|');
  }
  return lines.join('\n');
}

function showData() {
  const pre = $('data');
  const node = state.node;
  pre.classList.remove('refused');
  if (!node) { pre.textContent = ''; return; }
  if (node.data === null) { pre.textContent = '(null)'; return; }
  const bytes = bytesOf(node.data);
  const text = new TextDecoder().decode(bytes);
  if (state.dataMode === 'hex') {
    pre.textContent = hexDump(bytes);
  } else if (state.dataMode === 'json') {
    try {
      pre.textContent = JSON.stringify(JSON.parse(text), null, 2);
    } catch (e) {
      pre.textContent = 'not JSON: ' + e.message;
      pre.classList.add('refused');
    }
  } else {
    pre.textContent = text;
  }
}

function setStatus(text, ok) {
  const s = $('tree-status');
  s.textContent = text;
  s.className = ok ? 'ok' : 'refused';
}

function refusal(r) {
  const b = r.body || {};
  return 'refused: ' + (b.error || r.status) + (b.message ? ' (' + b.message + ')' : '');
}

function link(text, onclick) {
  const a = el('a', text);
  a.href = '#';
  a.addEventListener('click', (ev) => { ev.preventDefault(); onclick(); });
  return a;
}

function showBreadcrumb(path) {
  const nav = $('breadcrumb');
  nav.replaceChildren(link('/', () => openNode('/')));
  let at = '';
  const parts = path.split('/').filter((p) => p);
  parts.forEach((name, i) => {
    at += '/' + name;
    const target = at;
    if (i > 0) nav.appendChild(document.createTextNode('/'));
    nav.appendChild(link(name, () => openNode(target)));
  });
}

let openSeq = 0;  // answers to an older openNode than the last are dropped

async function openNode(path, keepStatus) {
  const seq = ++openSeq;
  state.path = path;
  showBreadcrumb(path);
  const r = await call(nodeUrl(path));
  if (seq !== openSeq) return;
  if (!keepStatus) setStatus('', true);
  if (r.status !== 200) {
    state.node = null;
    showData();
    $('data').textContent = refusal(r);
    $('data').classList.add('refused');
    $('children').replaceChildren();
    $('children').dataset.path = path;
    $('children-count').textContent = '';
    fill($('stat').tBodies[0], []);
    fill($('acl').tBodies[0], []);
    $('edit-data').value = '';
    state.editFor = null;
    setStatus(refusal(r), false);
    return;
  }
  const node = r.body;
  state.node = node;
  const kids = node.children.map((name) => {
    const li = document.createElement('li');
    li.appendChild(link(name, () => openNode(childPath(path, name))));
    return li;
  });
  $('children').replaceChildren(...kids);
  $('children').dataset.path = path;  // whose children these are
  $('children-count').textContent = node.childrenTotal > node.children.length
    ? '(' + node.children.length + ' of ' + node.childrenTotal + ')' : '(' + node.childrenTotal + ')';
  showData();
  const stat = node.stat;
  fill($('stat').tBodies[0], Object.keys(stat).map((k) => {
    const v = (k === 'ctime' || k === 'mtime') ? stat[k] + ' (' + new Date(stat[k]).toISOString() + ')' : stat[k];
    const tr = row([k, v]);
    tr.dataset.field = k;
    return tr;
  }));
  fill($('acl').tBodies[0], node.acl.map((a) => row([a.scheme, a.id, a.perms])));
  // Filled when a node is opened, not when it is read again (signing in, after a save), so
  // a reload never takes away what the user is typing.
  if (state.editFor !== path) {
    $('edit-data').value = node.data === null ? '' : new TextDecoder().decode(bytesOf(node.data));
    state.editFor = path;
  }
}

async function edit(path, body, done) {
  const r = await call(nodeUrl(path), {
    method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify(body),
  });
  if (r.status !== 200) {
    setStatus(refusal(r), false);
    return;
  }
  await done(r.body);
}

function wireTree() {
  for (const b of document.querySelectorAll('#data-modes button')) {
    b.addEventListener('click', () => {
      state.dataMode = b.dataset.mode;
      for (const o of document.querySelectorAll('#data-modes button')) o.classList.toggle('active', o === b);
      showData();
    });
  }
  $('save').addEventListener('click', () => {
    const path = state.path;
    const version = state.node ? state.node.stat.version : -1;
    edit(path, {op: 'set', data: $('edit-data').value, encoding: 'text', version}, async () => {
      await openNode(path, true);
      setStatus('saved ' + path, true);
    });
  });
  $('create').addEventListener('click', () => {
    const name = $('child-name').value.trim();
    if (!name) { setStatus('refused: give the new child a name', false); return; }
    const path = childPath(state.path, name);
    edit(path, {op: 'create', data: $('edit-data').value, encoding: 'text'}, async (res) => {
      $('child-name').value = '';
      await openNode(state.path, true);
      setStatus('created ' + res.path, true);
    });
  });
  $('delete').addEventListener('click', () => {
    const path = state.path;
    if (path === '/') { setStatus('refused: the root cannot be deleted', false); return; }
    const version = state.node ? state.node.stat.version : -1;
    const parent = path.substring(0, path.lastIndexOf('/')) || '/';
    edit(path, {op: 'delete', version}, async () => {
      await openNode(parent, true);
      setStatus('deleted ' + path, true);
    });
  });
}

// ---- sessions and watches ----

async function refreshSessions() {
  try {
    const cons = (await command('connections')).connections || [];
    const eph = (await command('dump')).session_id_to_ephemeral_paths || {};
    const seen = new Set();
    const rows = [];
    for (const c of cons) {
      if (c.session_id === undefined) continue;
      const id = String(c.session_id);
      seen.add(id);
      const tr = row([sessionHex(id), c.remote_socket_address, c.session_timeout, c.last_operation,
                      (eph[id] || []).join('\n')]);
      tr.dataset.session = sessionHex(id);
      rows.push(tr);
    }
    // Sessions connected to other servers still hold ephemerals this server knows of.
    for (const id of Object.keys(eph)) {
      if (seen.has(id)) continue;
      const tr = row([sessionHex(id), '(another server)', '', '', eph[id].join('\n')]);
      tr.dataset.session = sessionHex(id);
      rows.push(tr);
    }
    fill($('sessions').tBodies[0], rows);
    $('sessions-error').textContent = '';
  } catch (e) {
    $('sessions-error').textContent = e.message;
  }
}

async function refreshWatches() {
  try {
    const sum = await command('watch_summary');
    $('watch-summary').textContent = sum.num_total_watches + ' watches on ' + sum.num_paths +
      ' paths from ' + sum.num_connections + ' connections';
    const byPath = (await command('watches_by_path')).path_to_session_ids || {};
    fill($('watches').tBodies[0], Object.keys(byPath).sort().map(
      (p) => row([p, byPath[p].map(sessionHex).join(' ')])));
    $('watches-error').textContent = '';
  } catch (e) {
    $('watches-error').textContent = e.message;
  }
}

// ---- live events ----

async function refreshEvents() {
  const r = await call(EVENTS_API + '/' + state.eventsNext);
  const stateEl = $('events-state');
  if (r.status !== 200) {
    stateEl.textContent = refusal(r);
    stateEl.className = 'refused';
    return;
  }
  const feed = r.body;
  stateEl.textContent = feed.live ? 'live' : feed.error ? 'watch refused: ' + feed.error : 'connecting…';
  stateEl.className = feed.live ? 'ok' : 'muted';
  const tbody = $('events').tBodies[0];
  if (feed.missed > 0) tbody.prepend(row(['', '', feed.missed + ' events missed', '']));
  for (const e of feed.events) {
    const tr = row([e.seq, new Date(e.time).toLocaleTimeString(), e.type, e.path]);
    tr.dataset.type = e.type;
    tr.dataset.path = e.path;
    tbody.prepend(tr);
  }
  while (tbody.rows.length > EVENT_ROWS_MAX) tbody.deleteRow(tbody.rows.length - 1);
  state.eventsNext = feed.next;
}

// ---- views, sign-in, polling ----

function show(view) {
  state.view = view;
  for (const b of document.querySelectorAll('header nav button')) b.classList.toggle('active', b.dataset.view === view);
  for (const s of document.querySelectorAll('main > section')) s.hidden = s.id !== 'view-' + view;
  if (view === 'tree') openNode(state.path);
  if (view === 'events') state.eventsStarted = true;
  poll();
}

function wireLogin() {
  $('login').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const user = $('user').value.trim();
    if (!user) return;
    state.creds = user + ':' + $('password').value;
    $('password').value = '';
    $('identity').textContent = 'digest ' + user;
    $('sign-out').hidden = false;
    if (state.view === 'tree') openNode(state.path);
  });
  $('sign-out').addEventListener('click', () => {
    state.creds = null;
    $('identity').textContent = 'anonymous';
    $('sign-out').hidden = true;
    if (state.view === 'tree') openNode(state.path);
  });
}

let polling = false;
async function poll() {
  if (polling) return;
  polling = true;
  try {
    await refreshCluster();
    if (state.view === 'sessions') await refreshSessions();
    if (state.view === 'watches') await refreshWatches();
    if (state.eventsStarted) await refreshEvents();
  } finally {
    polling = false;
  }
}

for (const b of document.querySelectorAll('header nav button')) b.addEventListener('click', () => show(b.dataset.view));
wireLogin();
wireTree();
poll();
setInterval(poll, POLL_MS);
