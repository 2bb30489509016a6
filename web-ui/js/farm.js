// Farm view (#/farm): throughput (frames finished) and slot utilisation over the last hour or
// day, as bar charts drawn by hand in SVG (two charts of at most 96 bars need no library; a
// vendored one would add ~50 KB to every page load for axes and bars).
//
// The data is GET /api/v1/farm/history: the server sums the task rows per bucket in SQL (frames
// of tasks done, busy slot-seconds of the tasks' latest runs) and names the slots online now;
// the bucket count and width are the server's (docs/API.md). Utilisation is busy slot-seconds
// over bucket seconds × the slots online now.

import {api} from './api.js';
import {h, setChildren, throttle} from './dom.js';

const WINDOWS = {hour: 'Last hour', day: 'Last day'};
const SVG = 'http://www.w3.org/2000/svg';

function svg(tag, attrs = {}, ...children) {
    const el = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
    for (const c of children) if (c) el.append(c);
    return el;
}

function barChart({values, max, start, width, title, unit, format, cls}) {
    const W = 600;
    const H = 150;
    const top = 10;
    const bottom = 22;
    const left = 40;
    const plotW = W - left - 6;
    const plotH = H - top - bottom;
    const n = values.length;
    const bw = plotW / n;
    const hm = (t) => new Date(t).toLocaleTimeString([], {hour: '2-digit', minute: '2-digit'});
    const total = values.reduce((a, b) => a + b, 0);
    const chart = svg('svg', {viewBox: `0 0 ${W} ${H}`, class: `chart ${cls}`, role: 'img',
                              'aria-label': `${title}: ${format(total, true)} in all, at most ${format(max)} per bar`});
    chart.append(svg('line', {x1: left, x2: W - 6, y1: top + plotH, y2: top + plotH, class: 'axis'}));
    chart.append(svg('line', {x1: left, x2: W - 6, y1: top, y2: top, class: 'grid'}));
    const yMax = svg('text', {x: left - 6, y: top + 4, 'text-anchor': 'end', class: 'tick'});
    yMax.textContent = format(max);
    const y0 = svg('text', {x: left - 6, y: top + plotH, 'text-anchor': 'end', class: 'tick'});
    y0.textContent = '0';
    chart.append(yMax, y0);
    values.forEach((v, i) => {
        const hgt = max > 0 ? (v / max) * plotH : 0;
        const bar = svg('rect', {x: left + i * bw + 0.5, y: top + plotH - hgt, width: Math.max(1, bw - 1), height: hgt,
                                 class: 'bar', 'data-value': v});
        const tip = svg('title');
        tip.textContent = `${hm(start + i * width)}: ${format(v)}${unit ? ` ${unit}` : ''}`;
        bar.append(tip);
        chart.append(bar);
    });
    for (const i of [0, Math.floor(n / 2), n]) {
        const t = svg('text', {x: left + i * bw, y: H - 6, 'text-anchor': i === 0 ? 'start' : i === n ? 'end' : 'middle', class: 'tick'});
        t.textContent = hm(start + i * width);
        chart.append(t);
    }
    return chart;
}

export class FarmView {
    constructor(root) {
        this.root = root;
        this.window = 'hour';
        this.reloadSoon = throttle(() => !this.root.hidden && this.load(), 5000);
        this.buttons = Object.entries(WINDOWS).map(([key, label]) =>
            h('button', {type: 'button', class: 'chip', 'aria-pressed': String(key === this.window), dataset: {window: key},
                         onclick: () => {
                             this.window = key;
                             for (const b of this.buttons) b.setAttribute('aria-pressed', String(b.dataset.window === key));
                             this.load();
                         }}, label));
        this.body = h('div', {class: 'farm-body', 'aria-live': 'polite'});
        setChildren(root, h('div', {class: 'panel farm-panel'},
            h('div', {class: 'section-head'}, h('h2', {}, 'Farm'), h('span', {class: 'spacer'}),
              h('div', {class: 'chips', role: 'group', 'aria-label': 'Time window'}, this.buttons)),
            this.body));
    }

    async load() {
        let hist;
        try {
            hist = await api.farmHistory(this.window);
        } catch (e) {
            setChildren(this.body, h('p', {class: 'error'}, `Could not load the farm's history: ${e.message}`));
            return;
        }
        const buckets = hist.buckets || [];
        const frames = buckets.map((b) => Number(b.frames) || 0);
        const busy = buckets.map((b) => Number(b.busy_s) || 0);
        const width = (Number(hist.bucket_s) || 60) * 1000;
        const start = Date.parse(hist.start);
        const slots = Number(hist.slots_online) || 0;
        const util = busy.map((s) => (slots ? Math.min(1, s / ((width / 1000) * slots)) : 0));
        const totalFrames = frames.reduce((a, b) => a + b, 0);
        const meanUtil = util.length ? util.reduce((a, b) => a + b, 0) / util.length : 0;
        const perMin = (n) => `${(n / (width / 60000)).toFixed(n && n / (width / 60000) < 10 ? 1 : 0)}`;
        this.root.dataset.frames = String(totalFrames);
        setChildren(this.body,
            h('section', {class: 'panel-section'},
              h('h3', {}, 'Throughput ', h('span', {class: 'muted'}, `· ${totalFrames} frames · bars of ${Math.round(width / 60000)} min`)),
              barChart({values: frames, max: Math.max(1, ...frames), start, width, title: 'Frames finished', unit: 'frames',
                        format: (v, all) => (all ? `${v} frames` : `${v}`), cls: 'chart-frames'}),
              h('p', {class: 'muted chart-note'}, `Peak ${perMin(Math.max(0, ...frames))} frames a minute.`)),
            h('section', {class: 'panel-section'},
              h('h3', {}, 'Utilisation ', h('span', {class: 'muted'}, `· ${Math.round(meanUtil * 100)} % of ${slots} slot${slots === 1 ? '' : 's'} online`)),
              barChart({values: util.map((u) => Math.round(u * 1000) / 10), max: 100, start, width, title: 'Busy slots',
                        unit: '', format: (v, all) => (all ? `${Math.round(meanUtil * 100)} % on average` : `${Math.round(v)} %`),
                        cls: 'chart-util'}),
              h('p', {class: 'muted chart-note'},
                'Busy slot time of the tasks\u2019 latest runs over the slots of the nodes online now.')));
    }
}
