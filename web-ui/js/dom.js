// Small DOM and formatting helpers shared by every view. Text always goes through text nodes
// (never innerHTML), so names and error messages from the server cannot inject markup.

/** h('div', {class: 'x', onclick: fn}, 'text', child) → element */
export function h(tag, props = {}, ...children) {
    const el = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
        if (value === undefined || value === null || value === false) continue;
        if (key.startsWith('on') && typeof value === 'function') {
            el.addEventListener(key.slice(2), value);
        } else if (key === 'class') {
            el.className = value;
        } else if (key === 'dataset') {
            Object.assign(el.dataset, value);
        } else if (key in el && typeof value !== 'string') {
            el[key] = value;
        } else {
            el.setAttribute(key, value === true ? '' : String(value));
        }
    }
    append(el, children);
    return el;
}

function append(el, children) {
    for (const child of children.flat(Infinity)) {
        if (child === undefined || child === null || child === false) continue;
        el.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
}

/** Replaces all children of el. */
export function setChildren(el, ...children) {
    el.replaceChildren();
    append(el, children);
}

export const finalJobStates = new Set(['completed', 'failed', 'canceled']);
export const jobStates = ['queued', 'active', 'paused', 'completed', 'failed', 'canceled'];

export function badge(state) {
    return h('span', {class: `badge badge-${state}`}, state);
}

/** A progress bar with an accessible value; update it later with setProgress. */
export function progressBar(fraction = 0, state = '', label = 'Progress') {
    const fill = h('span', {class: 'bar-fill'});
    const text = h('span', {class: 'bar-label'});
    const bar = h('div', {class: 'bar', role: 'progressbar', 'aria-label': label, 'aria-valuemin': '0', 'aria-valuemax': '100'},
                  h('span', {class: 'bar-track'}, fill), text);
    setProgress(bar, fraction, state);
    return bar;
}

export function setProgress(bar, fraction, state = '') {
    const pct = Math.max(0, Math.min(100, Math.round((Number(fraction) || 0) * 1000) / 10));
    bar.querySelector('.bar-fill').style.width = `${pct}%`;
    bar.querySelector('.bar-label').textContent = `${pct.toFixed(pct % 1 ? 1 : 0)}%`;
    bar.setAttribute('aria-valuenow', String(pct));
    bar.dataset.state = state;
}

export function formatBytes(n) {
    if (!Number.isFinite(n)) return '–';
    const units = ['B', 'KB', 'MB', 'GB', 'TB'];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) {
        n /= 1024;
        i++;
    }
    return `${n < 10 && i > 0 ? n.toFixed(1) : Math.round(n)} ${units[i]}`;
}

export function formatTime(iso) {
    if (!iso) return '–';
    const d = new Date(iso);
    return Number.isNaN(d.getTime()) ? '–' : d.toLocaleString();
}

export function formatRelative(iso, now = Date.now()) {
    if (!iso) return '–';
    const t = new Date(iso).getTime();
    if (Number.isNaN(t)) return '–';
    const s = Math.round((now - t) / 1000);
    if (s < 10) return 'just now';
    if (s < 60) return `${s} s ago`;
    if (s < 3600) return `${Math.floor(s / 60)} min ago`;
    if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
    return new Date(t).toLocaleDateString();
}

export function formatDuration(startIso, endIso) {
    if (!startIso) return '–';
    const start = new Date(startIso).getTime();
    const end = endIso ? new Date(endIso).getTime() : Date.now();
    if (Number.isNaN(start) || Number.isNaN(end)) return '–';
    let s = Math.max(0, Math.round((end - start) / 1000));
    const hh = Math.floor(s / 3600);
    s -= hh * 3600;
    const mm = Math.floor(s / 60);
    s -= mm * 60;
    return hh ? `${hh}h ${mm}m ${s}s` : mm ? `${mm}m ${s}s` : `${s}s`;
}

/** A relative time element; app.js refreshes every .reltime periodically. */
export function relTime(iso) {
    return h('time', {class: 'reltime', datetime: iso || '', title: formatTime(iso)}, formatRelative(iso));
}

export function refreshRelativeTimes(root = document) {
    for (const el of root.querySelectorAll('time.reltime')) el.textContent = formatRelative(el.getAttribute('datetime'));
}

/** Calls fn at most once per `ms`, always with the latest call's arguments (trailing edge). */
export function throttle(fn, ms) {
    let timer = null;
    let lastArgs = null;
    return (...args) => {
        lastArgs = args;
        if (timer) return;
        timer = setTimeout(() => {
            timer = null;
            fn(...lastArgs);
        }, ms);
    };
}

export function debounce(fn, ms) {
    let timer = null;
    return (...args) => {
        clearTimeout(timer);
        timer = setTimeout(() => fn(...args), ms);
    };
}

const MAX_TOASTS = 4; // older ones give way, so a burst of events never runs off the screen

/** Transient notification; kind is 'info' | 'ok' | 'error'. The same message twice in a row
 *  counts up on the one toast instead of stacking a copy. */
export function toast(message, kind = 'info', ms = 5000) {
    const host = document.getElementById('toasts');
    const last = host.lastElementChild;
    if (last && last.dataset.message === message && !last.classList.contains('toast-out')) {
        const n = Number(last.dataset.count || '1') + 1;
        last.dataset.count = String(n);
        last.querySelector('.toast-count').textContent = ` ×${n}`;
        clearTimeout(last.fadeTimer);
        last.fadeTimer = setTimeout(() => fadeToast(last), ms);
        return;
    }
    const el = h('div', {class: `toast toast-${kind}`, role: kind === 'error' ? 'alert' : 'status', dataset: {message}},
                 h('span', {}, message), h('span', {class: 'toast-count'}),
                 h('button', {type: 'button', class: 'toast-close', 'aria-label': 'Dismiss', onclick: () => el.remove()}, '×'));
    host.append(el);
    const live = [...host.children].filter((t) => !t.classList.contains('toast-out'));
    for (const old of live.slice(0, Math.max(0, live.length - MAX_TOASTS))) old.remove();
    el.fadeTimer = setTimeout(() => fadeToast(el), ms);
}

function fadeToast(el) {
    el.classList.add('toast-out');
    setTimeout(() => el.remove(), 300);
}

/** A message from the farm without the nodes' own file system paths (a task's work or cache
 *  folder means nothing to the reader and leaks the node's layout): every absolute path of two
 *  or more folders becomes the file's name. The task log keeps the full text. */
export function readableError(text) {
    return String(text ?? '').replace(/(?:\/[^\s/'"`()\[\],;:]+){2,}\/([^\s/'"`()\[\],;:]+)/g, '$1');
}

/** Frames in a frame range ("1-10,20-30:2"); 0 when it cannot be read. */
export function frameCount(range) {
    let n = 0;
    for (const item of String(range ?? '').split(',')) {
        const m = item.trim().match(/^(\d+)(?:-(\d+)(?::(\d+))?)?$/);
        if (!m) return 0;
        const a = Number(m[1]);
        const b = m[2] === undefined ? a : Number(m[2]);
        const s = m[3] === undefined ? 1 : Number(m[3]);
        if (b < a || s < 1) return 0;
        n += Math.floor((b - a) / s) + 1;
    }
    return n;
}

/** How many times a task ran: `attempts` counts failed attempts only, so the run in progress,
 *  the one that finished it, or the one a cancel stopped counts too. */
export function taskRuns(task) {
    const failed = Number(task.attempts) || 0;
    const now = ['assigned', 'running', 'done'].includes(task.state) || (task.state === 'canceled' && task.started_at);
    return failed + (now ? 1 : 0);
}

/** The share of a job to show: a canceled or failed job keeps what it rendered (its done
 *  tasks) even where the server's figure leaves the stopped tasks out. */
export function jobProgress(job) {
    const t = job.tasks || {};
    const done = t.total ? (t.done || 0) / t.total : 0;
    return Math.max(Number(job.progress) || 0, finalJobStates.has(job.state) && job.state !== 'completed' ? done : 0);
}

/** A button that asks for a second click before acting (no blocking confirm()). */
export function confirmButton(label, confirmLabel, action, cls = 'btn') {
    let armed = false;
    let timer = null;
    const btn = h('button', {type: 'button', class: cls}, label);
    btn.addEventListener('click', async () => {
        if (!armed) {
            armed = true;
            btn.textContent = confirmLabel;
            btn.classList.add('btn-armed');
            timer = setTimeout(() => {
                armed = false;
                btn.textContent = label;
                btn.classList.remove('btn-armed');
            }, 4000);
            return;
        }
        clearTimeout(timer);
        armed = false;
        btn.textContent = label;
        btn.classList.remove('btn-armed');
        btn.disabled = true;
        try {
            await action();
        } finally {
            btn.disabled = false;
        }
    });
    return btn;
}

/** '#/jobs/7?state=failed' → {path: '#/jobs/7', query: URLSearchParams} */
export function splitHash(hash = location.hash) {
    const [path, query = ''] = (hash || '#/jobs').split('?');
    return {path: path || '#/jobs', query: new URLSearchParams(query)};
}
