// Frame gallery of a job's outputs, filled as task.preview events arrive, plus a lightbox.
// Images (frames, template views, pass images) are tiles; videos (an encode task's MP4) play in
// <video> above them; data files (.npy, .exr, cameras.json) are listed below as download links.

import {outputUrl} from './api.js';
import {formatBytes, h, setChildren} from './dom.js';

const IMAGE_EXT = /\.(png|jpe?g|webp|gif|bmp)$/i;
const VIDEO_EXT = /\.(mp4|webm|m4v|mov)$/i;
const FRAME_NAME = /^frame_\d+\.[A-Za-z0-9]+$/;

export class Gallery {
    constructor(lightbox) {
        this.lightbox = new Lightbox(lightbox);
        this.jobId = null;
        this.items = new Map(); // output name → {name, frame, size, task_id}
        this.grid = h('ul', {class: 'gallery', 'aria-label': 'Rendered frames'});
        this.count = h('span', {class: 'muted'});
        this.empty = h('p', {class: 'muted gallery-empty'}, 'Frames appear here as nodes finish them.');
        this.fileList = h('ul', {class: 'file-links', 'aria-label': 'Data files'});
        this.filesHead = h('h4', {hidden: true}, 'Data files');
        this.videos = h('div', {class: 'videos', 'aria-label': 'Videos'});
        this.root = h('section', {class: 'panel-section'},
                      h('h3', {}, 'Frames ', this.count), this.empty, this.videos, this.grid, this.filesHead,
                      this.fileList);
    }

    reset(jobId, outputs = []) {
        // Tiles are reused by output name: another job's frame_0001.png must not be taken over.
        if (jobId !== this.jobId) {
            setChildren(this.grid, []);
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

    render() {
        const items = this.sorted();
        this.count.textContent = items.length ? `(${items.length})` : '';
        this.empty.hidden = items.length > 0;
        // Keep existing tiles (and their loaded images); only add what is new, in frame order.
        const images = items.filter((x) => IMAGE_EXT.test(x.name));
        const videos = items.filter((x) => VIDEO_EXT.test(x.name));
        const files = items.filter((x) => !IMAGE_EXT.test(x.name) && !VIDEO_EXT.test(x.name));
        // A playing video is kept as it is unless its file changed.
        const players = new Map([...this.videos.children].map((el) => [el.dataset.name, el]));
        setChildren(this.videos, videos.map((item) => {
            const el = players.get(item.name);
            return el && el.dataset.version === String(item.version || '') ? el : this.player(item);
        }));
        const existing = new Map([...this.grid.children].map((li) => [li.dataset.name, li]));
        const tiles = images.map((item, i) => {
            let li = existing.get(item.name);
            if (li && li.dataset.version === String(item.version || '')) return li;
            li = this.tile(item, i);
            return li;
        });
        setChildren(this.grid, tiles);
        this.filesHead.hidden = !files.length;
        setChildren(this.fileList, files.map((item) => {
            const url = outputUrl(this.jobId, item.name, item.version);
            return h('li', {dataset: {name: item.name}},
                     h('a', {href: url, download: item.name, class: 'file-link'}, item.name),
                     item.size ? h('span', {class: 'muted'}, ` ${formatBytes(item.size)}`) : null);
        }));
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

    tile(item) {
        const url = outputUrl(this.jobId, item.name, item.version);
        const isImage = IMAGE_EXT.test(item.name);
        // rgb_3.png and frame_0001_depth.png carry a number too, but only plain frames are "Frame N".
        const label = FRAME_NAME.test(item.name) && item.frame !== undefined && item.frame !== null
            ? `Frame ${item.frame}` : item.name;
        const open = () => this.lightbox.show(this.sorted().filter((x) => IMAGE_EXT.test(x.name)), item.name, this.jobId);
        return h('li', {class: 'tile', dataset: {name: item.name, version: String(item.version || '')}},
                 isImage
                     ? h('button', {type: 'button', class: 'tile-img', 'aria-label': `View ${label} large`, onclick: open},
                         h('img', {src: url, alt: label, loading: 'lazy', decoding: 'async', class: 'frame-img'}))
                     : h('div', {class: 'tile-file'}, item.name.split('.').pop().toUpperCase()),
                 h('div', {class: 'tile-foot'},
                   h('span', {class: 'tile-label', title: item.name}, label),
                   h('a', {href: url, download: item.name, class: 'tile-dl', 'aria-label': `Download ${item.name}`,
                           title: `Download ${item.name}${item.size ? ` (${formatBytes(item.size)})` : ''}`}, '⤓')));
    }
}

class Lightbox {
    constructor(dialog) {
        this.dialog = dialog;
        this.items = [];
        this.index = 0;
        this.img = h('img', {class: 'lightbox-img', alt: ''});
        // Tiny test renders look better as crisp pixels than as a blur when blown up.
        this.img.addEventListener('load', () =>
            this.img.classList.toggle('pixelated', this.img.naturalWidth * 3 <= this.img.clientWidth));
        this.caption = h('span', {class: 'lightbox-caption'});
        this.download = h('a', {class: 'btn btn-small', download: ''}, 'Download');
        this.prev = h('button', {type: 'button', class: 'btn btn-small', 'aria-label': 'Previous frame', onclick: () => this.step(-1)}, '‹');
        this.next = h('button', {type: 'button', class: 'btn btn-small', 'aria-label': 'Next frame', onclick: () => this.step(1)}, '›');
        setChildren(dialog,
            h('div', {class: 'lightbox-stage'}, this.img),
            h('div', {class: 'lightbox-bar'}, this.prev, this.caption, this.next, h('span', {class: 'spacer'}), this.download,
              h('button', {type: 'button', class: 'btn btn-small', onclick: () => dialog.close()}, 'Close')));
        dialog.addEventListener('keydown', (e) => {
            if (e.key === 'ArrowLeft') this.step(-1);
            else if (e.key === 'ArrowRight') this.step(1);
        });
        // A click on the backdrop (outside the content) closes it.
        dialog.addEventListener('click', (e) => {
            if (e.target === dialog) dialog.close();
        });
    }

    show(items, name, jobId) {
        this.items = items;
        this.jobId = jobId;
        this.index = Math.max(0, items.findIndex((x) => x.name === name));
        this.update();
        if (!this.dialog.open) this.dialog.showModal();
    }

    step(dir) {
        if (!this.items.length) return;
        this.index = (this.index + dir + this.items.length) % this.items.length;
        this.update();
    }

    update() {
        const item = this.items[this.index];
        if (!item) return;
        const url = outputUrl(this.jobId, item.name, item.version);
        this.img.src = url;
        this.img.alt = item.name;
        this.caption.textContent = `${item.name}${item.size ? ` · ${formatBytes(item.size)}` : ''} · ${this.index + 1} of ${this.items.length}`;
        this.download.href = url;
        this.download.setAttribute('download', item.name);
        this.prev.disabled = this.next.disabled = this.items.length < 2;
    }
}
