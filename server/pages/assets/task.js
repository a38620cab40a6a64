// The task page: asks for an API key, reads GET /api/tasks/{taskId} with it
// and shows the task and its turns, again every 2 s while a turn is pending
// or running. Everything from the API is user text: it is only ever set with
// textContent, never parsed as HTML.
'use strict';

(function () {
  const KEY = 'handinger.apiKey';
  const REFRESH_MS = 2000;
  const ID_RULE = /^[A-Za-z0-9_-]{1,64}$/;

  const $ = (id) => document.getElementById(id);
  const taskId = (function () {
    const raw = location.pathname.replace(/^\/tasks\//, '');
    try {
      return decodeURIComponent(raw);
    } catch (e) {
      return raw; // broken escapes: the id rule below refuses it
    }
  })();
  let timer = null;
  let generation = 0; // a newer load makes the answers of older ones stale

  function setState(state, text) {
    document.body.dataset.state = state;
    $('state').textContent = text || '';
  }

  function storedKey() {
    try {
      return sessionStorage.getItem(KEY) || '';
    } catch (e) {
      return ''; // storage refused (privacy settings): ask every time
    }
  }

  function storeKey(key) {
    try {
      if (key) {
        sessionStorage.setItem(KEY, key);
      } else {
        sessionStorage.removeItem(KEY);
      }
    } catch (e) {
      // storage refused: the key lives only as long as this page
    }
  }

  function stopRefresh() {
    if (timer !== null) {
      clearTimeout(timer);
      timer = null;
    }
  }

  function showForm(show) {
    $('key-form').hidden = !show;
    if (show) {
      $('key').focus();
    }
  }

  function showProblem(status, title, detail) {
    $('problem-status').textContent = String(status);
    $('problem-title').textContent = title;
    $('problem-detail').textContent = detail;
    $('problem').hidden = false;
    $('task').hidden = true;
    setState('problem', '');
  }

  function formatTime(iso) {
    if (!iso) {
      return '—';
    }
    const d = new Date(iso);
    return isNaN(d.getTime()) ? String(iso) : d.toLocaleString();
  }

  function timeElement(id, iso) {
    const el = $(id);
    const t = document.createElement('time');
    if (iso) {
      t.dateTime = iso;
      t.title = iso;
    }
    t.textContent = formatTime(iso);
    el.replaceChildren(t);
  }

  function formatDuration(ms) {
    const n = Number(ms) || 0;
    return n < 1000 ? n + ' ms' : (n / 1000).toFixed(2) + ' s';
  }

  function field(parent, id, label, value, cls) {
    const dt = document.createElement('dt');
    dt.textContent = label;
    const dd = document.createElement('dd');
    dd.id = id;
    if (cls) {
      dd.className = cls;
    }
    dd.textContent = value;
    parent.append(dt, dd);
    return dd;
  }

  // note says why a turn ended without its full output. The Turn of the API
  // carries only the status; error and incompleteDetails are shown when a
  // server sends them.
  function note(turn) {
    const err = turn.error;
    if (err && (err.message || err.code)) {
      return 'Error' + (err.code ? ' (' + err.code + ')' : '') + ': ' + (err.message || '');
    }
    const inc = turn.incompleteDetails || turn.incomplete_details;
    if (inc && inc.reason) {
      return 'Incomplete: ' + inc.reason;
    }
    if (turn.status === 'error') {
      return 'Error: the turn failed.';
    }
    if (turn.status === 'aborted') {
      return 'Incomplete: the turn was stopped (budget or shutdown) and kept what it produced.';
    }
    return '';
  }

  function renderTurn(turn) {
    const seq = String(turn.seq);
    const p = 'turn-' + seq;
    const li = document.createElement('li');
    li.className = 'turn';
    li.id = p;
    li.dataset.seq = seq;
    li.dataset.status = String(turn.status);

    const head = document.createElement('h3');
    const num = document.createElement('span');
    num.id = p + '-seq';
    num.textContent = 'Turn ' + seq;
    const status = document.createElement('span');
    status.id = p + '-status';
    status.className = 'status';
    status.dataset.status = String(turn.status);
    status.textContent = String(turn.status);
    head.append(num, ' ', status);

    const dl = document.createElement('dl');
    dl.className = 'facts';
    field(dl, p + '-input', 'Input', turn.input, 'text');
    field(dl, p + '-output', 'Output', turn.outputText, 'text');
    field(dl, p + '-tokens', 'Tokens', turn.inputTokens + ' in, ' + turn.outputTokens + ' out');
    field(dl, p + '-credits', 'Credits', String(turn.credits));
    field(dl, p + '-duration', 'Duration', formatDuration(turn.durationMs));
    li.append(head, dl);

    const why = note(turn);
    if (why) {
      const n = document.createElement('p');
      n.id = p + '-note';
      n.className = 'problem';
      n.textContent = why;
      li.append(n);
    }
    return li;
  }

  function render(data) {
    const task = data.task;
    document.title = task.title + ' · Handinger';
    $('task-title').textContent = task.title;
    const status = $('task-status');
    status.textContent = task.status;
    status.dataset.status = task.status;
    const worker = $('task-worker');
    worker.textContent = task.workerId;
    worker.href = '/workers/' + encodeURIComponent(task.workerId);
    $('task-turn-count').textContent = String(task.totals.turnCount);
    $('task-credits').textContent = String(task.totals.credits);
    $('task-duration').textContent = formatDuration(task.totals.durationMs);
    timeElement('task-created', task.createdAt);
    timeElement('task-completed', task.completedAt);
    $('turns').replaceChildren(...data.turns.map(renderTurn));
    $('problem').hidden = true;
    $('task').hidden = false;
  }

  async function problemOf(res) {
    let body = null;
    try {
      body = await res.json();
    } catch (e) {
      // not JSON: fall back to the status line
    }
    const title = body && typeof body.title === 'string' ? body.title : (res.statusText || 'Request failed');
    const detail = body && typeof body.detail === 'string' ? body.detail : 'The server answered HTTP ' + res.status + '.';
    return { title: title, detail: detail };
  }

  async function load(key) {
    stopRefresh();
    const mine = ++generation;
    setState('loading', 'Loading…');
    let res;
    try {
      res = await fetch('/api/tasks/' + encodeURIComponent(taskId), {
        headers: { Authorization: 'Bearer ' + key, Accept: 'application/json' },
        cache: 'no-store',
        credentials: 'omit',
      });
    } catch (e) {
      if (mine === generation) {
        showProblem('—', 'Network error', 'The server could not be reached: ' + e.message);
        timer = setTimeout(() => load(key), REFRESH_MS);
      }
      return;
    }
    if (mine !== generation) {
      return;
    }
    if (!res.ok) {
      const p = await problemOf(res);
      if (mine !== generation) {
        return;
      }
      showProblem(res.status, p.title, p.detail);
      if (res.status === 401) {
        storeKey('');
        showForm(true);
      }
      return;
    }
    let data;
    try {
      data = await res.json();
    } catch (e) {
      showProblem(res.status, 'Unreadable answer', 'The server\'s answer is not JSON: ' + e.message);
      return;
    }
    if (mine !== generation) {
      return;
    }
    render(data);
    showForm(false);
    const live = data.task.status === 'pending' || data.task.status === 'running';
    if (live) {
      setState('live', 'The task is ' + data.task.status + '; refreshing every 2 s.');
      timer = setTimeout(() => load(key), REFRESH_MS);
    } else {
      setState('loaded', '');
    }
  }

  function start() {
    $('task-id').textContent = taskId;
    if (!ID_RULE.test(taskId)) {
      showProblem('—', 'Invalid task id', 'A task id is 1 to 64 letters, digits, "_" or "-".');
      showForm(false);
      return;
    }
    $('key-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const key = $('key').value.trim();
      if (!key) {
        return;
      }
      $('key').value = '';
      storeKey(key);
      load(key);
    });
    $('key-forget').addEventListener('click', () => {
      stopRefresh();
      generation++;
      storeKey('');
      $('task').hidden = true;
      $('problem').hidden = true;
      setState('key', '');
      showForm(true);
    });
    const key = storedKey();
    if (key) {
      showForm(false);
      load(key);
    } else {
      showForm(true);
    }
  }

  start();
})();
