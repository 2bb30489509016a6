// Header widgets: farm status (nodes online, jobs by state) and the live connection indicator.

import {api} from './api.js';
import {h, setChildren, throttle} from './dom.js';

const SHOWN_STATES = ['active', 'queued', 'paused', 'completed', 'failed'];

export class FarmStatus {
    constructor(root) {
        this.root = root;
        this.refreshSoon = throttle(() => this.load(), 1500);
    }

    async load() {
        let s;
        try {
            s = await api.status();
        } catch {
            setChildren(this.root, h('span', {class: 'stat muted'}, 'status unavailable'));
            return;
        }
        const jobs = s.jobs || {};
        const nodes = s.nodes || {};
        setChildren(this.root,
            h('a', {href: '#/nodes', class: 'stat stat-nodes', title: 'Render nodes online / known'},
              h('span', {}, h('strong', {}, `${nodes.online ?? 0}`), `/${nodes.total ?? 0}`), ' nodes'),
            SHOWN_STATES.filter((st) => jobs[st] || st === 'active' || st === 'queued').map((st) =>
                h('span', {class: `stat stat-${st}`, title: `Jobs ${st}`},
                  h('span', {class: `dot dot-${st}`, 'aria-hidden': 'true'}), h('strong', {}, String(jobs[st] || 0)), ` ${st}`)));
        this.root.title = `Farmhand ${s.version || ''} · protocol ${s.protocol ?? '?'}`;
    }
}

export class ConnectionIndicator {
    constructor(root, stream) {
        this.root = root;
        this.text = root.querySelector('.conn-text');
        this.timer = null;
        stream.addEventListener('state', (e) => this.show(e.detail.state, e.detail.retryIn));
        root.addEventListener('click', () => stream.retryNow());
        root.title = 'Live updates from the farm server (click to reconnect now)';
    }

    show(state, retryIn) {
        clearInterval(this.timer);
        this.root.dataset.state = state;
        if (state === 'open') this.text.textContent = 'Live';
        else if (state === 'connecting') this.text.textContent = 'Connecting…';
        else {
            const until = Date.now() + retryIn;
            const tick = () => {
                const s = Math.max(0, Math.ceil((until - Date.now()) / 1000));
                this.text.textContent = `Offline · retry in ${s}s`;
            };
            tick();
            this.timer = setInterval(tick, 1000);
        }
    }
}
