// The frame viewer (a <dialog>): one frame or template view at a time with a pass selector;
// flips through frames/views (buttons, arrow keys) and plays them as a turntable. Colour passes
// (rgb, albedo) are shown as the browser decodes them; data passes are decoded here
// (pngdecode.js) at full depth and drawn on a canvas: depth in false colour (Turbo) with a
// legend in millimetres, normals and NOCS as their colour coding with the vector under the
// cursor, the mask as it is, instance ids one colour per id with the id (and its node and mesh
// from the instance map) under the cursor. Output names: docs/API.md ("frame_0001_depth.png",
// "rgb_3.png").

import {outputUrl} from './api.js';
import {formatBytes, h, setChildren} from './dom.js';
import {decodePng, idColour, turbo} from './pngdecode.js';

export const PASS_ORDER = ['rgb', 'albedo', 'normal', 'depth', 'mask', 'xyz', 'instance'];
const COLOUR_PASSES = new Set(['rgb', 'albedo']);
const PASS_LABELS = {rgb: 'RGB', albedo: 'Albedo', normal: 'Normals', depth: 'Depth', mask: 'Mask', xyz: 'NOCS', instance: 'Instance ids'};
const TURNTABLE_FPS = 8;
/** Depth colours start a little into the map: its first shades are near black, which reads as
 *  "nothing hit". */
const depthColour = (t) => turbo(0.06 + 0.94 * t);

/** What an output's name says: {pass, key, kind: 'frame' | 'view' | null, label}. */
export function outputInfo(item) {
    const name = item.name;
    let m = name.match(/^frame_(\d+)(?:_([a-z]+))?\.[A-Za-z0-9]+$/);
    if (m) {
        const pass = m[2] || 'rgb';
        const frame = Number(m[1]);
        return {pass, key: frame, kind: 'frame', label: pass === 'rgb' ? `Frame ${frame}` : `Frame ${frame} · ${pass}`};
    }
    m = name.match(/^([a-z]+)_(\d+)\.[A-Za-z0-9]+$/);
    if (m) return {pass: m[1], key: Number(m[2]), kind: 'view', label: `View ${m[2]} · ${m[1]}`};
    return {pass: null, key: item.frame ?? null, kind: null, label: name};
}

const decoded = new Map(); // url → promise of the decoded PNG (a few kept: turntables revisit)

function decodeUrl(url) {
    if (!decoded.has(url)) {
        decoded.set(url, fetch(url).then((r) => {
            if (!r.ok) throw new Error(`${r.status} ${r.statusText}`);
            return r.arrayBuffer();
        }).then(decodePng));
        decoded.get(url).catch(() => decoded.delete(url));
        while (decoded.size > 48) decoded.delete(decoded.keys().next().value);
    }
    return decoded.get(url);
}

/** The range of a depth image's hit pixels (0 = nothing hit). */
function depthRange(img) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < img.data.length; i += img.channels) {
        const v = img.data[i];
        if (!v) continue;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
    }
    return lo === Infinity ? null : {lo, hi};
}

/** RGBA pixels of a decoded pass image in its viewer colours. */
function colourise(img, pass) {
    const out = new Uint8ClampedArray(img.width * img.height * 4);
    const max = (1 << img.depth) - 1;
    const range = pass === 'depth' ? depthRange(img) : null;
    for (let p = 0; p < img.width * img.height; p++) {
        const s = p * img.channels;
        let rgb;
        if (pass === 'depth') {
            const v = img.data[s];
            rgb = v && range ? depthColour(range.hi > range.lo ? (v - range.lo) / (range.hi - range.lo) : 0.5) : [0, 0, 0];
        } else if (pass === 'instance') {
            rgb = idColour(img.data[s]);
        } else if (img.palette) {
            const k = img.data[s] * 3;
            rgb = [img.palette[k], img.palette[k + 1], img.palette[k + 2]];
        } else if (img.channels >= 3) {
            rgb = [0, 1, 2].map((c) => Math.round((img.data[s + c] / max) * 255));
        } else {
            const g = Math.round((img.data[s] / max) * 255);
            rgb = [g, g, g];
        }
        out.set(rgb, p * 4);
        out[p * 4 + 3] = 255;
    }
    return {pixels: new ImageData(out, img.width, img.height), range};
}

/** A PNG data URL of a pass image in viewer colours (the gallery's thumbnails). */
export async function thumbnailUrl(url, pass) {
    const img = await decodeUrl(url);
    const canvas = document.createElement('canvas');
    canvas.width = img.width;
    canvas.height = img.height;
    canvas.getContext('2d').putImageData(colourise(img, pass).pixels, 0, 0);
    return canvas.toDataURL('image/png');
}

/** What a pixel holds, in words. */
function valueText(img, pass, x, y, instances) {
    const s = (y * img.width + x) * img.channels;
    const max = (1 << img.depth) - 1;
    const v = img.data[s];
    if (pass === 'depth') return v ? `depth ${v} mm (${(v / 1000).toFixed(3)} m)` : 'depth: nothing hit';
    if (pass === 'instance') {
        if (!v) return 'background (id 0)';
        const info = instances && instances.get(v);
        return `instance ${v}${info ? ` · ${[info.node, info.mesh].filter(Boolean).join(' / ')}` : ''}`;
    }
    if (pass === 'mask') return v ? 'object' : 'background';
    if (img.channels >= 3) {
        const c = [0, 1, 2].map((k) => img.data[s + k] / max);
        if (!c.some((k) => k > 0)) return 'nothing hit';
        if (pass === 'normal') return `normal (${c.map((k) => (k * 2 - 1).toFixed(2)).join(', ')})`;
        if (pass === 'xyz') return `NOCS (${c.map((k) => k.toFixed(3)).join(', ')})`;
        return `rgb (${[0, 1, 2].map((k) => img.data[s + k]).join(', ')})`;
    }
    return `value ${v}`;
}

export class FrameViewer {
    constructor(dialog) {
        this.dialog = dialog;
        this.entries = []; // [{item, pass, key, kind, label}]
        this.keys = []; // frame / view numbers in order
        this.keyIndex = 0;
        this.pass = 'rgb';
        this.jobId = null;
        this.timer = null;
        this.current = null; // the decoded image shown on the canvas
        this.img = h('img', {class: 'lightbox-img', alt: ''});
        // Tiny test renders look better as crisp pixels than as a blur when blown up.
        this.img.addEventListener('load', () =>
            this.img.classList.toggle('pixelated', this.img.naturalWidth * 3 <= this.img.clientWidth));
        this.canvas = h('canvas', {class: 'lightbox-img lightbox-canvas pixelated', hidden: true, role: 'img'});
        this.canvas.addEventListener('mousemove', (e) => this.hover(e));
        this.canvas.addEventListener('mouseleave', () => { this.probe.textContent = ''; });
        this.legend = h('div', {class: 'viewer-legend', hidden: true});
        this.probe = h('output', {class: 'viewer-probe', 'aria-live': 'off'});
        this.passes = h('div', {class: 'pass-select', role: 'radiogroup', 'aria-label': 'Pass'});
        this.caption = h('span', {class: 'lightbox-caption'});
        this.download = h('a', {class: 'btn btn-small', download: ''}, 'Download');
        this.prev = h('button', {type: 'button', class: 'btn btn-small', 'aria-label': 'Previous frame', onclick: () => this.step(-1)}, '‹');
        this.next = h('button', {type: 'button', class: 'btn btn-small', 'aria-label': 'Next frame', onclick: () => this.step(1)}, '›');
        this.playBtn = h('button', {type: 'button', class: 'btn btn-small play-btn', 'aria-pressed': 'false',
                                    onclick: () => this.togglePlay()}, 'Play');
        this.closeBtn = h('button', {type: 'button', class: 'btn btn-small close-btn', onclick: () => dialog.close()}, 'Close');
        setChildren(dialog,
            h('div', {class: 'lightbox-top'}, this.passes, h('span', {class: 'spacer'}), this.probe, this.closeBtn),
            h('div', {class: 'lightbox-stage'}, this.img, this.canvas),
            this.legend,
            h('div', {class: 'lightbox-bar'}, this.prev, this.playBtn, this.next, this.caption, h('span', {class: 'spacer'}),
              this.download));
        dialog.addEventListener('keydown', (e) => {
            if (e.key === 'ArrowLeft') this.step(-1);
            else if (e.key === 'ArrowRight') this.step(1);
            else if (e.key === ' ' && e.target === dialog) {
                e.preventDefault();
                this.togglePlay();
            }
        });
        dialog.addEventListener('close', () => this.stop());
        // A click on the backdrop (outside the content) closes it.
        dialog.addEventListener('click', (e) => {
            if (e.target === dialog) dialog.close();
        });
    }

    /** entries: the gallery's images with outputInfo; name: the one clicked. */
    show(entries, name, jobId) {
        this.entries = entries;
        this.jobId = jobId;
        this.instanceMaps = new Map();
        this.keys = [...new Set(entries.map((x) => x.key ?? x.item.name))];
        const chosen = entries.find((x) => x.item.name === name) || entries[0];
        if (!chosen) return;
        this.keyIndex = Math.max(0, this.keys.indexOf(chosen.key ?? chosen.item.name));
        this.pass = chosen.pass;
        this.update();
        if (!this.dialog.open) this.dialog.showModal();
    }

    entryFor(key, pass) {
        return this.entries.find((x) => (x.key ?? x.item.name) === key && x.pass === pass) ||
            this.entries.find((x) => (x.key ?? x.item.name) === key);
    }

    step(dir) {
        if (!this.keys.length) return;
        this.keyIndex = (this.keyIndex + dir + this.keys.length) % this.keys.length;
        this.update();
    }

    togglePlay() {
        if (this.timer) this.stop();
        else if (this.keys.length > 1) {
            this.timer = setInterval(() => this.step(1), 1000 / TURNTABLE_FPS);
            this.playBtn.textContent = 'Pause';
            this.playBtn.setAttribute('aria-pressed', 'true');
        }
    }

    stop() {
        clearInterval(this.timer);
        this.timer = null;
        this.playBtn.textContent = 'Play';
        this.playBtn.setAttribute('aria-pressed', 'false');
    }

    update() {
        const key = this.keys[this.keyIndex];
        const entry = this.entryFor(key, this.pass);
        if (!entry) return;
        const available = this.entries.filter((x) => (x.key ?? x.item.name) === key).map((x) => x.pass).filter(Boolean);
        const passes = [...new Set(available)].sort((a, b) => PASS_ORDER.indexOf(a) - PASS_ORDER.indexOf(b));
        setChildren(this.passes, passes.map((p) => h('button', {
            type: 'button', role: 'radio', class: 'btn btn-small pass-btn', 'aria-checked': String(p === entry.pass),
            dataset: {pass: p}, onclick: () => {
                this.pass = p;
                this.update();
            }}, PASS_LABELS[p] || p)));
        this.passes.hidden = passes.length < 2;
        const item = entry.item;
        const url = outputUrl(this.jobId, item.name, item.version);
        this.caption.textContent = `${entry.label}${item.size ? ` · ${formatBytes(item.size)}` : ''} · ` +
            `${this.keyIndex + 1} of ${this.keys.length}`;
        this.dialog.dataset.pass = entry.pass || '';
        this.dialog.dataset.key = String(key);
        this.download.href = url;
        this.download.setAttribute('download', item.name);
        this.prev.disabled = this.next.disabled = this.playBtn.disabled = this.keys.length < 2;
        this.probe.textContent = '';
        if (COLOUR_PASSES.has(entry.pass) || !/\.png$/i.test(item.name)) {
            this.current = null;
            this.canvas.hidden = true;
            this.legend.hidden = true;
            this.img.hidden = false;
            this.img.src = url;
            this.img.alt = entry.label;
            return;
        }
        this.showDecoded(entry, url);
    }

    async showDecoded(entry, url) {
        const seq = (this.seq = (this.seq || 0) + 1);
        let img;
        try {
            img = await decodeUrl(url);
        } catch (e) {
            if (seq !== this.seq) return;
            this.probe.textContent = `Could not read ${entry.item.name}: ${e.message}`;
            return;
        }
        if (seq !== this.seq) return;
        const {pixels, range} = colourise(img, entry.pass);
        this.canvas.width = img.width;
        this.canvas.height = img.height;
        this.canvas.getContext('2d').putImageData(pixels, 0, 0);
        this.canvas.setAttribute('aria-label', `${entry.label} in false colour`);
        this.canvas.hidden = false;
        this.img.hidden = true;
        this.img.removeAttribute('src');
        this.current = {img, pass: entry.pass, entry};
        if (entry.pass === 'instance') await this.loadInstanceMap(entry);
        if (seq !== this.seq) return;
        this.drawLegend(entry.pass, img, range);
    }

    /** frame_0001_instance.json, or a template set's instances.json: id → {node, mesh}. */
    async loadInstanceMap(entry) {
        const name = entry.kind === 'frame' ? entry.item.name.replace(/\.png$/i, '.json') : 'instances.json';
        if (!this.instanceMaps.has(name)) {
            this.instanceMaps.set(name, fetch(outputUrl(this.jobId, name)).then((r) => (r.ok ? r.json() : null))
                .then((j) => new Map(((j && j.instances) || []).map((x) => [x.id, x]))).catch(() => new Map()));
        }
        this.instances = await this.instanceMaps.get(name);
    }

    drawLegend(pass, img, range) {
        this.legend.hidden = false;
        this.legend.dataset.pass = pass;
        if (pass === 'depth') {
            const bar = h('canvas', {class: 'legend-bar', width: 256, height: 1, 'aria-hidden': 'true'});
            const data = new ImageData(256, 1);
            for (let i = 0; i < 256; i++) data.data.set([...depthColour(i / 255), 255], i * 4);
            bar.getContext('2d').putImageData(data, 0, 0);
            const ceiling = (1 << img.depth) - 1;
            setChildren(this.legend, range
                ? [h('span', {class: 'legend-min'}, `${range.lo} mm`), bar, h('span', {class: 'legend-max'}, `${range.hi} mm`),
                   h('span', {class: 'muted'}, ' near → far; black: nothing hit'),
                   range.hi === ceiling
                       ? h('span', {class: 'warn-text legend-clipped'},
                           ` · ${ceiling} mm is the PNG's ceiling: farther points are clipped (the .exr holds their depth)`)
                       : null]
                : h('span', {class: 'muted'}, 'Nothing was hit in this frame.'));
        } else if (pass === 'instance') {
            const ids = new Set();
            for (let i = 0; i < img.data.length; i += img.channels) ids.add(img.data[i]);
            ids.delete(0);
            const list = [...ids].sort((a, b) => a - b);
            setChildren(this.legend, list.length ? list.slice(0, 24).map((id) => {
                const info = this.instances && this.instances.get(id);
                const [r, g, b] = idColour(id);
                return h('span', {class: 'legend-id', dataset: {id: String(id)}},
                         h('span', {class: 'swatch', style: `background: rgb(${r}, ${g}, ${b})`, 'aria-hidden': 'true'}),
                         `${id}${info && info.mesh ? ` ${info.mesh}` : ''}`);
            }) : h('span', {class: 'muted'}, 'No instance in this frame.'),
                        list.length > 24 ? h('span', {class: 'muted'}, ` … ${list.length - 24} more`) : null);
            this.legend.dataset.ids = String(list.length);
        } else if (pass === 'normal') {
            setChildren(this.legend, h('span', {}, 'Colour = normal: red x, green y, blue z (−1 → 0, +1 → full); black: nothing hit'));
        } else if (pass === 'xyz') {
            setChildren(this.legend, h('span', {}, 'Colour = normalised object coordinates: red x, green y, blue z (0 → 1)'));
        } else if (pass === 'mask') {
            setChildren(this.legend, h('span', {}, 'White: the object; black: background'));
        } else {
            this.legend.hidden = true;
        }
    }

    hover(e) {
        if (!this.current) return;
        const rect = this.canvas.getBoundingClientRect();
        const {img, pass} = this.current;
        // object-fit: contain letterboxes the canvas: map the cursor into the drawn image.
        const scale = Math.min(rect.width / img.width, rect.height / img.height);
        const left = rect.left + (rect.width - img.width * scale) / 2;
        const top = rect.top + (rect.height - img.height * scale) / 2;
        const x = Math.floor((e.clientX - left) / scale);
        const y = Math.floor((e.clientY - top) / scale);
        if (x < 0 || y < 0 || x >= img.width || y >= img.height) {
            this.probe.textContent = '';
            return;
        }
        this.probe.textContent = `(${x}, ${y}) ${valueText(img, pass, x, y, this.instances)}`;
    }
}
