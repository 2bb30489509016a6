// Nodes view: one row per render node, updated live by node.updated events.

import {api} from './api.js';
import {badge, formatBytes, h, relTime, setChildren} from './dom.js';

const stateOrder = {busy: 0, idle: 1, draining: 2, disabled: 3, offline: 4};

function gpuList(gpus) {
    if (!gpus || !gpus.length) return h('span', {class: 'muted'}, 'none');
    return h('ul', {class: 'gpu-list'}, gpus.map((g) =>
        h('li', {title: [g.uuid, g.cc && `compute ${g.cc}`, g.driver && `driver ${g.driver}`].filter(Boolean).join(' · ')},
          g.name || 'GPU', g.vram_mb ? h('span', {class: 'muted'}, ` · ${formatBytes(g.vram_mb * 1048576)}`) : null)));
}

export class NodesView {
    constructor(root) {
        this.root = root;
        this.nodes = new Map();
        this.tbody = h('tbody');
        this.summary = h('p', {class: 'muted'});
        this.empty = h('div', {class: 'empty-state', hidden: true});
        setChildren(root, h('div', {class: 'panel'},
            h('div', {class: 'section-head'}, h('h2', {}, 'Render nodes'), h('span', {class: 'spacer'}), this.summary),
            h('div', {class: 'table-wrap'},
              h('table', {class: 'table nodes-table'},
                h('caption', {class: 'sr-only'}, 'Render nodes'),
                h('thead', {}, h('tr', {},
                  ['Name', 'State', 'Slots', 'Cores', 'RAM', 'GPUs', 'Running tasks', 'Engines', 'Last seen']
                      .map((t) => h('th', {scope: 'col'}, t)))),
                this.tbody),
              this.empty)));
    }

    async load() {
        try {
            const answer = await api.nodes();
            this.nodes = new Map((answer.nodes || []).map((n) => [n.id, n]));
            this.render();
        } catch (e) {
            this.empty.hidden = false;
            this.empty.classList.add('error');
            setChildren(this.empty, h('p', {}, `Could not load nodes: ${e.message}`));
        }
    }

    onEvent(type, data) {
        if (type !== 'node.updated' || data.id === undefined) return;
        this.nodes.set(data.id, data);
        this.render();
    }

    render() {
        const nodes = [...this.nodes.values()].sort(
            (a, b) => (stateOrder[a.state] ?? 9) - (stateOrder[b.state] ?? 9) || String(a.name).localeCompare(String(b.name)));
        setChildren(this.tbody, nodes.map((n) => h('tr', {dataset: {nodeId: String(n.id)}, class: `node-${n.state}`},
            h('td', {class: 'col-name'}, n.name, (n.tags || []).length ? h('span', {class: 'sub muted'}, n.tags.join(', ')) : null),
            h('td', {}, badge(n.state)),
            h('td', {class: 'num'}, `${(n.running || []).length}/${n.slots ?? '–'}`),
            h('td', {class: 'num'}, String(n.cores ?? '–')),
            h('td', {class: 'num'}, n.ram_mb ? formatBytes(n.ram_mb * 1048576) : '–'),
            h('td', {}, gpuList(n.gpus)),
            h('td', {}, (n.running || []).length ? (n.running || []).map((id) => h('span', {class: 'pill'}, `task #${id}`))
                                                 : h('span', {class: 'muted'}, '–')),
            h('td', {class: 'muted'}, (n.engines || []).map((e) => `${e.name} ${e.version || ''}`.trim()).join(', ') || '–'),
            h('td', {class: 'muted'}, relTime(n.last_seen)))));
        const online = nodes.filter((n) => n.state !== 'offline').length;
        this.summary.textContent = nodes.length ? `${online} of ${nodes.length} online` : '';
        this.empty.hidden = nodes.length > 0;
        this.empty.classList.remove('error');
        if (!nodes.length)
            setChildren(this.empty, h('p', {}, 'No render nodes have connected yet.'),
                        h('p', {class: 'muted'}, h('code', {}, `render-node --server ${location.origin}`), ' on a workstation adds one.'));
    }
}
