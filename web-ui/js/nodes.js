// Nodes view: one row per render node, updated live by node.updated events, with drain,
// disable and enable; and a node's own page (#/nodes/<id>): its facts, its GPUs' load and
// memory as the node last reported them (the server's /metrics), and the tasks it ran lately.

import {api} from './api.js';
import {badge, formatBytes, formatDuration, h, readableError, relTime, setChildren, taskRuns, throttle, toast} from './dom.js';

const stateOrder = {busy: 0, idle: 1, draining: 2, disabled: 3, offline: 4};
/** Tasks the node page lists (GET /api/v1/nodes/{id}/tasks, newest first). */
const RECENT_TASKS = 50;

/** GPU readings from the Prometheus text of /metrics: Map node name → Map gpu uuid →
 *  {utilization, used, total} (bytes). Only nodes whose driver reports them have any. */
export function gpuReadings(text) {
    const out = new Map();
    const names = {farm_node_gpu_utilization_ratio: 'utilization', farm_node_gpu_memory_used_bytes: 'used',
                   farm_node_gpu_memory_total_bytes: 'total'};
    for (const line of String(text || '').split('\n')) {
        const m = line.match(/^(farm_node_gpu_\w+)\{(.*)\}\s+(\S+)$/);
        if (!m || !names[m[1]]) continue;
        const labels = {};
        for (const l of m[2].matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2].replace(/\\(.)/g, (_, c) => (c === 'n' ? '\n' : c));
        if (!labels.node || !labels.gpu) continue;
        if (!out.has(labels.node)) out.set(labels.node, new Map());
        const gpus = out.get(labels.node);
        if (!gpus.has(labels.gpu)) gpus.set(labels.gpu, {});
        gpus.get(labels.gpu)[names[m[1]]] = Number(m[3]);
    }
    return out;
}

function gpuList(gpus, readings) {
    if (!gpus || !gpus.length) return h('span', {class: 'muted'}, 'none');
    return h('ul', {class: 'gpu-list'}, gpus.map((g) => {
        const r = readings && readings.get(g.uuid);
        return h('li', {title: [g.uuid, g.cc && `compute ${g.cc}`, g.driver && `driver ${g.driver}`].filter(Boolean).join(' · '),
                        dataset: {uuid: g.uuid || ''}},
                 g.name || 'GPU', g.vram_mb ? h('span', {class: 'muted'}, ` · ${formatBytes(g.vram_mb * 1048576)}`) : null,
                 r ? gpuLoad(r) : null);
    }));
}

/** "52 % busy · 2.0 GB of 8.0 GB" with two small meters. */
function gpuLoad(r) {
    const meter = (fraction, label) => h('span', {class: 'meter', role: 'meter', 'aria-label': label, 'aria-valuemin': '0',
                                                  'aria-valuemax': '100', 'aria-valuenow': String(Math.round(fraction * 100))},
                                         h('span', {class: 'meter-fill', style: `width:${Math.round(fraction * 100)}%`}));
    const util = Number.isFinite(r.utilization) ? r.utilization : null;
    const mem = r.total > 0 && Number.isFinite(r.used) ? r.used / r.total : null;
    return h('span', {class: 'gpu-load'},
             util !== null ? [meter(util, 'GPU utilisation'), h('span', {class: 'gpu-util'}, `${Math.round(util * 100)} % busy`)] : null,
             mem !== null ? [meter(mem, 'GPU memory in use'),
                             h('span', {class: 'gpu-mem'}, `${formatBytes(r.used)} of ${formatBytes(r.total)}`)] : null);
}

/** The actions a node's state allows (docs/API.md: drained and disabled nodes keep their
 *  running tasks but get no new ones; enable lifts either). */
function nodeActions(n, onDone) {
    const act = (label, action, cls = 'btn btn-small') => {
        const btn = h('button', {type: 'button', class: cls, dataset: {action}, 'aria-label': `${label} ${n.name}`}, label);
        btn.addEventListener('click', async (e) => {
            e.stopPropagation();
            btn.disabled = true;
            try {
                onDone(await api.nodeAction(n.id, action));
                toast(`Node ${n.name}: ${action === 'enable' ? 'enabled' : action === 'drain' ? 'draining' : 'disabled'}`, 'info');
            } catch (err) {
                toast(`${label} ${n.name} failed: ${err.message}`, 'error');
                btn.disabled = false;
            }
        });
        return btn;
    };
    const out = [];
    if (n.state === 'idle' || n.state === 'busy' || n.state === 'offline') out.push(act('Drain', 'drain'));
    if (n.state !== 'disabled') out.push(act('Disable', 'disable', 'btn btn-small btn-danger'));
    if (n.state === 'draining' || n.state === 'disabled') out.push(act('Enable', 'enable'));
    return h('div', {class: 'row-actions'}, out);
}

export class NodesView {
    constructor(root) {
        this.root = root;
        this.nodes = new Map();
        this.gpus = new Map(); // node name → readings
        this.detailId = null;
        this.tbody = h('tbody');
        this.summary = h('p', {class: 'muted'});
        this.empty = h('div', {class: 'empty-state', hidden: true});
        this.listPanel = h('div', {class: 'panel'},
            h('div', {class: 'section-head'}, h('h2', {}, 'Render nodes'), h('span', {class: 'spacer'}), this.summary),
            h('div', {class: 'table-wrap'},
              h('table', {class: 'table nodes-table'},
                h('caption', {class: 'sr-only'}, 'Render nodes'),
                h('thead', {}, h('tr', {},
                  ['Name', 'State', 'Slots', 'Cores', 'RAM', 'GPUs', 'Running tasks', 'Engines', 'Last seen', 'Actions']
                      .map((t) => h('th', {scope: 'col'}, t)))),
                this.tbody),
              this.empty));
        this.detail = h('div', {class: 'panel node-detail', hidden: true});
        setChildren(root, this.listPanel, this.detail);
        this.reloadGpus = throttle(() => this.loadGpus(), 2000);
        this.reloadDetail = throttle(() => this.detailId !== null && this.loadDetail(this.detailId), 1500);
    }

    /** Shows the list, or one node's page when id is a number. */
    async show(id = null) {
        this.detailId = id;
        this.listPanel.hidden = id !== null;
        this.detail.hidden = id === null;
        await this.load();
        if (id !== null) await this.loadDetail(id);
    }

    async load() {
        try {
            const answer = await api.nodes();
            this.nodes = new Map((answer.nodes || []).map((n) => [n.id, n]));
            await this.loadGpus(false);
            this.render();
        } catch (e) {
            this.empty.hidden = false;
            this.empty.classList.add('error');
            setChildren(this.empty, h('p', {}, `Could not load nodes: ${e.message}`));
        }
    }

    /** GPU load and memory come only with heartbeats, served as /metrics gauges. */
    async loadGpus(render = true) {
        if (![...this.nodes.values()].some((n) => (n.gpus || []).length)) return;
        try {
            this.gpus = gpuReadings(await api.metrics());
        } catch {
            return; // The list still shows the GPUs the node declared.
        }
        if (render) {
            this.render();
            if (this.detailId !== null && this.lastDetail) this.renderDetail(...this.lastDetail);
        }
    }

    onEvent(type, data) {
        if (type !== 'node.updated' || data.id === undefined) return;
        this.nodes.set(data.id, data);
        this.render();
        if ((data.gpus || []).length) this.reloadGpus();
        if (data.id === this.detailId) this.reloadDetail();
    }

    setNode(n) {
        this.nodes.set(n.id, n);
        this.render();
        if (n.id === this.detailId && this.lastDetail) this.renderDetail(n, this.lastDetail[1]);
    }

    render() {
        const nodes = [...this.nodes.values()].sort(
            (a, b) => (stateOrder[a.state] ?? 9) - (stateOrder[b.state] ?? 9) || String(a.name).localeCompare(String(b.name)));
        setChildren(this.tbody, nodes.map((n) => h('tr', {dataset: {nodeId: String(n.id)}, class: `node-${n.state}`},
            h('td', {class: 'col-name'}, h('a', {href: `#/nodes/${n.id}`, class: 'node-link'}, n.name),
              (n.tags || []).length ? h('span', {class: 'sub muted'}, n.tags.join(', ')) : null),
            h('td', {}, badge(n.state)),
            h('td', {class: 'num'}, `${(n.running || []).length}/${n.slots ?? '–'}`),
            h('td', {class: 'num'}, String(n.cores ?? '–')),
            h('td', {class: 'num'}, n.ram_mb ? formatBytes(n.ram_mb * 1048576) : '–'),
            h('td', {}, gpuList(n.gpus, this.gpus.get(n.name))),
            h('td', {}, (n.running || []).length ? (n.running || []).map((id) => h('span', {class: 'pill'}, `task #${id}`))
                                                 : h('span', {class: 'muted'}, '–')),
            h('td', {class: 'muted'}, (n.engines || []).map((e) => `${e.name} ${e.version || ''}`.trim()).join(', ') || '–'),
            h('td', {class: 'muted'}, relTime(n.last_seen)),
            h('td', {}, nodeActions(n, (node) => this.setNode(node))))));
        const online = nodes.filter((n) => n.state !== 'offline').length;
        this.summary.textContent = nodes.length ? `${online} of ${nodes.length} online` : '';
        this.empty.hidden = nodes.length > 0;
        this.empty.classList.remove('error');
        if (!nodes.length)
            setChildren(this.empty, h('p', {}, 'No render nodes have connected yet.'),
                        h('p', {class: 'muted'}, h('code', {}, `render-node --server ${location.origin}`), ' on a workstation adds one.'));
    }

    /** The node's recent tasks, newest first, each with its job's name (one query server-side). */
    async loadDetail(id) {
        const n = this.nodes.get(id);
        if (!n) {
            setChildren(this.detail, h('p', {class: 'error'}, `No node #${id}.`), h('a', {href: '#/nodes'}, '‹ Nodes'));
            return;
        }
        let tasks = [];
        try {
            tasks = (await api.nodeTasks(id, RECENT_TASKS)).tasks || [];
        } catch {
            tasks = null;
        }
        if (id !== this.detailId) return;
        this.renderDetail(this.nodes.get(id), tasks);
    }

    renderDetail(n, tasks) {
        this.lastDetail = [n, tasks];
        const row = (k, ...v) => h('div', {class: 'kv'}, h('dt', {}, k), h('dd', {}, ...v));
        const failures = (tasks || []).filter((t) => t.state === 'failed' || (t.attempts > 0 && t.error));
        const taskTable = (list, label) => h('div', {class: 'table-wrap'}, h('table', {class: 'table node-tasks'},
            h('caption', {class: 'sr-only'}, label),
            h('thead', {}, h('tr', {}, ['Job', 'Task', 'Frames', 'State', 'Runs', 'Run time', 'Error'].map((t) => h('th', {scope: 'col'}, t)))),
            h('tbody', {}, list.slice(0, 50).map((t) => h('tr', {dataset: {taskId: String(t.id)}},
                h('td', {}, h('a', {href: `#/jobs/${t.job_id}`}, `#${t.job_id} ${t.job_name}`)),
                h('td', {class: 'num'}, String(t.index)),
                h('td', {}, t.frames),
                h('td', {}, badge(t.state)),
                h('td', {class: 'num'}, String(taskRuns(t))),
                h('td', {class: 'muted'}, t.started_at ? formatDuration(t.started_at, t.finished_at) : '–'),
                h('td', {class: 'task-error'}, readableError(t.error)))))));
        setChildren(this.detail,
            h('header', {class: 'detail-head'},
              h('a', {href: '#/nodes', class: 'btn btn-ghost btn-small'}, '‹ Nodes'),
              h('div', {class: 'detail-heading'}, h('span', {class: 'muted detail-id'}, `Node #${n.id}`),
                h('h2', {class: 'detail-title'}, n.name)),
              badge(n.state), nodeActions(n, (node) => this.setNode(node))),
            h('dl', {class: 'summary'},
              row('Slots', `${(n.running || []).length} busy of ${n.slots ?? '–'}`),
              row('Cores', String(n.cores ?? '–')),
              row('RAM', n.ram_mb ? formatBytes(n.ram_mb * 1048576) : '–'),
              row('Engines', (n.engines || []).map((e) => `${e.name} ${e.version || ''}`.trim()).join(', ') || '–'),
              row('Tags', (n.tags || []).join(', ') || '–'),
              row('Connected', relTime(n.connected_at)),
              row('Last seen', relTime(n.last_seen))),
            h('section', {class: 'panel-section node-gpus'}, h('h3', {}, 'GPUs'), gpuList(n.gpus, this.gpus.get(n.name))),
            h('section', {class: 'panel-section node-recent'},
              h('h3', {}, 'Recent tasks ', h('span', {class: 'muted'}, tasks ? `(${tasks.length})` : '')),
              tasks === null ? h('p', {class: 'error'}, 'Could not load the tasks.')
                  : tasks.length ? taskTable(tasks, 'Recent tasks of this node')
                                 : h('p', {class: 'muted'}, 'No task has run here yet.')),
            h('section', {class: 'panel-section node-failures'},
              h('h3', {}, 'Failures ', h('span', {class: 'muted'}, `(${failures.length})`)),
              failures.length ? taskTable(failures, 'Failed tasks of this node') : h('p', {class: 'muted'}, 'None lately.')));
    }
}
