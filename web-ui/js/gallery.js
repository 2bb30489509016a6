// Frame gallery of a job's outputs, filled as task.preview events arrive, grouped by pass (rgb,
// depth, normal, ...; a template set's views likewise), plus the frame viewer (frameviewer.js).
// Images are tiles; 16-bit pass images (depth, instance ids), which an <img> shows black, get
// a false-colour thumbnail decoded in the page; videos (an encode task's MP4) play in <video>;
// data files (.npy, .exr, .json) are download links grouped the same way.

import {outputUrl} from './api.js';
import {formatBytes, h, setChildren} from './dom.js';
import {FrameViewer, outputInfo, PASS_ORDER, thumbnailUrl} from './frameviewer.js';

const IMAGE_EXT = /\.(png|jpe?g|webp|gif|bmp)$/i;
const VIDEO_EXT = /\.(mp4|webm|m4v|mov)$/i;
/** Passes whose PNG samples are 16-bit values, not colours. */
const DECODED_THUMBS = new Set(['depth', 'instance']);

const passRank = (p) => {
    const i = PASS_ORDER.indexOf(p);
    return i < 0 ? PASS_ORDER.length : i;
};

export class Gallery {
    constructor(lightbox) {
        this.lightbox = new FrameViewer(lightbox);
        this.jobId = null;
        this.items = new Map(); // output name → {name, frame, size, task_id}
        this.groups = h('div', {class: 'gallery-groups'});
        this.count = h('span', {class: 'muted frames-count'});
        this.empty = h('p', {class: 'muted gallery-empty'}, 'Frames appear here as nodes finish them.');
        this.filesHost = h('div', {class: 'file-groups'});
        this.filesHead = h('h4', {hidden: true}, 'Data files');
        this.videos = h('div', {class: 'videos', 'aria-label': 'Videos'});
        this.root = h('section', {class: 'panel-section'},
                      h('h3', {}, 'Frames ', this.count), this.empty, this.videos, this.groups, this.filesHead,
                      this.filesHost);
    }

    reset(jobId, outputs = []) {
        // Tiles are reused by output name: another job's frame_0001.png must not be taken over.
        if (jobId !== this.jobId) {
            setChildren(this.groups, []);
            setChildren(this.videos, []);
        }
        this.jobId = jobId;
        this.items.clear();
        for (const o of outputs) this.items.set(o.name, o);
        this.render();
    }

    /** A task.preview event: {task, job, frame, output}. */
    add(preview) {
        if (preview.job !== this.jobId || !preview.output) return;
        const known = this.items.get(preview.output);
        this.items.set(preview.output, {...known, name: preview.output, frame: preview.frame, task_id: preview.task,
                                        version: Date.now()});
        this.render();
    }

    sorted() {
        return [...this.items.values()].sort((a, b) => (a.frame ?? 0) - (b.frame ?? 0) || a.name.localeCompare(b.name));
    }

    /** Images with what their names say: {item, pass, key (frame or view number), kind}. */
    images() {
        return this.sorted().filter((x) => IMAGE_EXT.test(x.name)).map((item) => ({item, ...outputInfo(item)}))
            .sort((a, b) => (a.key ?? 0) - (b.key ?? 0) || passRank(a.pass) - passRank(b.pass) || a.item.name.localeCompare(b.item.name));
    }

    /** Frames whose main image landed (frame_NNNN.<ext>, no pass suffix). */
    framesLanded() {
        return this.images().filter((x) => x.kind === 'frame' && x.pass === 'rgb').length;
    }

    render() {
        const items = this.sorted();
        const images = this.images();
        const videos = items.filter((x) => VIDEO_EXT.test(x.name));
        const files = items.filter((x) => !IMAGE_EXT.test(x.name) && !VIDEO_EXT.test(x.name));
        // Frames (or views) counted once however many passes and data files each has.
        const keys = new Set(images.filter((x) => x.key !== null).map((x) => `${x.kind}:${x.key}`));
        const views = images.some((x) => x.kind === 'view');
        const frames = keys.size || images.length;
        this.count.textContent = items.length
            ? `(${frames}${frames !== items.length ? ` ${views ? (frames === 1 ? 'view' : 'views') : (frames === 1 ? 'frame' : 'frames')} · ${items.length} files` : ''})`
            : '';
        this.count.dataset.frames = String(frames);
        this.empty.hidden = items.length > 0;
        // A playing video is kept as it is unless its file changed.
        const players = new Map([...this.videos.children].map((el) => [el.dataset.name, el]));
        setChildren(this.videos, videos.map((item) => {
            const el = players.get(item.name);
            return el && el.dataset.version === String(item.version || '') ? el : this.player(item);
        }));
        // One grid per pass; keep existing tiles (and their loaded images), add only what is new.
        const existing = new Map([...this.groups.querySelectorAll('li.tile')].map((li) => [li.dataset.name, li]));
        const byPass = new Map();
        for (const x of images) {
            const pass = x.pass || 'other';
            if (!byPass.has(pass)) byPass.set(pass, []);
            byPass.get(pass).push(x);
        }
        const passes = [...byPass.keys()].sort((a, b) => passRank(a) - passRank(b) || a.localeCompare(b));
        const oneGroup = passes.length === 1;
        setChildren(this.groups, passes.map((pass) => {
            const list = byPass.get(pass);
            const tiles = list.map((x) => {
                const li = existing.get(x.item.name);
                return li && li.dataset.version === String(x.item.version || '') ? li : this.tile(x);
            });
            return h('section', {class: 'pass-group', dataset: {pass}},
                     oneGroup ? null : h('h4', {class: 'pass-head'}, pass, h('span', {class: 'muted'}, ` · ${list.length}`)),
                     h('ul', {class: 'gallery', 'aria-label': oneGroup ? 'Rendered frames' : `Rendered frames, ${pass} pass`}, tiles));
        }));
        this.filesHead.hidden = !files.length;
        const fileGroups = new Map();
        for (const item of files) {
            const pass = outputInfo(item).pass || 'job';
            if (!fileGroups.has(pass)) fileGroups.set(pass, []);
            fileGroups.get(pass).push(item);
        }
        setChildren(this.filesHost, [...fileGroups.entries()].sort((a, b) => passRank(a[0]) - passRank(b[0])).map(([pass, list]) =>
            h('div', {class: 'file-group', dataset: {pass}},
              h('span', {class: 'file-group-name muted'}, pass),
              h('ul', {class: 'file-links', 'aria-label': `Data files, ${pass}`}, list.map((item) => {
                  const url = outputUrl(this.jobId, item.name, item.version);
                  return h('li', {dataset: {name: item.name}},
                           h('a', {href: url, download: item.name, class: 'file-link'}, item.name),
                           item.size ? h('span', {class: 'muted'}, ` ${formatBytes(item.size)}`) : null);
              })))));
    }

    player(item) {
        const url = outputUrl(this.jobId, item.name, item.version);
        return h('figure', {class: 'video-output', dataset: {name: item.name, version: String(item.version || '')}},
                 h('video', {src: url, controls: true, preload: 'metadata', playsinline: true, class: 'video-player',
                             'aria-label': `Video ${item.name}`}),
                 h('figcaption', {},
                   h('span', {class: 'tile-label', title: item.name}, item.name),
                   item.size ? h('span', {class: 'muted'}, ` ${formatBytes(item.size)} `) : null,
                   h('a', {href: url, download: item.name, class: 'tile-dl', 'aria-label': `Download ${item.name}`}, '⤓')));
    }

    tile(x) {
        const item = x.item;
        const url = outputUrl(this.jobId, item.name, item.version);
        const label = x.label;
        const open = () => this.lightbox.show(this.images(), item.name, this.jobId);
        const img = h('img', {alt: label, loading: 'lazy', decoding: 'async', class: 'frame-img'});
        if (DECODED_THUMBS.has(x.pass) && /\.png$/i.test(item.name)) {
            img.dataset.decoded = 'pending';
            thumbnailUrl(url, x.pass).then((src) => {
                img.src = src;
                img.dataset.decoded = 'yes';
            }, () => {
                img.src = url;
                img.dataset.decoded = 'failed';
            });
        } else {
            img.src = url;
        }
        return h('li', {class: 'tile', dataset: {name: item.name, version: String(item.version || ''), pass: x.pass || ''}},
                 h('button', {type: 'button', class: 'tile-img', 'aria-label': `View ${label} large`, onclick: open}, img),
                 h('div', {class: 'tile-foot'},
                   h('span', {class: 'tile-label', title: item.name}, label),
                   h('a', {href: url, download: item.name, class: 'tile-dl', 'aria-label': `Download ${item.name}`,
                           title: `Download ${item.name}${item.size ? ` (${formatBytes(item.size)})` : ''}`}, '⤓')));
    }
}
