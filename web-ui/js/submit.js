// Drop zone and submit dialog: files dropped anywhere (or picked) become one job each.
// Settings are remembered in localStorage; the job name is per file.

import {api} from './api.js';
import {formatBytes, h, progressBar, setChildren, setProgress, toast} from './dom.js';
import {uploadFile} from './upload.js';

const SETTINGS_KEY = 'farmhand.submit.v1';
const DEFAULTS = {type: 'model', views: 42, passes: ['rgb'], frames: '1-24', chunk: 4, width: 640, height: 480, spp: 16,
                  turntable: true, priority: 50};
// docs/API.md "Job (as submitted)": the renderer's passes; a template set defaults to rgb, mask, xyz.
const PASSES = ['rgb', 'depth', 'normal', 'albedo', 'mask', 'xyz', 'instance'];
const TEMPLATE_PASSES = ['rgb', 'mask', 'xyz'];

function loadSettings() {
    try {
        return {...DEFAULTS, ...JSON.parse(localStorage.getItem(SETTINGS_KEY))};
    } catch {
        return {...DEFAULTS};
    }
}

function saveSettings(s) {
    try {
        localStorage.setItem(SETTINGS_KEY, JSON.stringify(s));
    } catch {
        // Storage disabled: the form simply starts from the defaults next time.
    }
}

const baseName = (name) => name.replace(/\.[^.]+$/, '') || name;

function field(label, input, hint) {
    return h('label', {class: 'field'}, h('span', {class: 'field-label'}, label), input,
             hint ? h('span', {class: 'field-hint'}, hint) : null);
}

export class SubmitDialog {
    /** onSubmitted(job) is called for each job the server accepted. */
    constructor(dialog, onSubmitted) {
        this.dialog = dialog;
        this.onSubmitted = onSubmitted;
        this.files = [];
        this.busy = false;
        this.abort = null;
        dialog.addEventListener('cancel', (e) => {
            if (this.busy) e.preventDefault(); // Esc must not hide a running upload.
        });
    }

    open(files) {
        if (this.busy) {
            toast('An upload is still running; wait for it to finish.', 'info');
            return;
        }
        this.files = Array.from(files || []);
        this.render();
        if (!this.dialog.open) this.dialog.showModal();
        const first = this.dialog.querySelector(this.files.length ? 'input[name=name]:not([disabled]), input[name=frames]' : '.pick-btn');
        if (first) first.focus();
    }

    close() {
        if (this.dialog.open) this.dialog.close();
    }

    render() {
        const s = loadSettings();
        const single = this.files.length === 1;
        const num = (name, min, max, value) =>
            h('input', {name, type: 'number', min, max, step: 1, required: true, value: String(value), inputmode: 'numeric'});
        this.form = h('form', {class: 'submit-form', novalidate: false, onsubmit: (e) => this.submit(e)},
            h('header', {class: 'dialog-head'},
              h('h2', {id: 'submit-title'}, 'Submit render job'),
              h('button', {type: 'button', class: 'btn btn-ghost icon-btn', 'aria-label': 'Close',
                           onclick: () => !this.busy && this.close()}, '✕')),
            this.renderFiles(),
            h('div', {class: 'form-grid'},
              field('Job type', h('select', {name: 'type', onchange: () => this.typeChanged()},
                                  h('option', {value: 'model', selected: s.type !== 'templates'}, 'Model render'),
                                  h('option', {value: 'templates', selected: s.type === 'templates'}, 'Pose templates')),
                    'Pose templates: one set of views around the object'),
              field('Views', num('views', 1, 10000, s.views), 'Views on a sphere around the object'),
              field('Job name', h('input', {name: 'name', type: 'text', maxlength: 200,
                                            value: single ? baseName(this.files[0].name) : '',
                                            placeholder: single ? '' : 'Each file is named after itself',
                                            disabled: !single, autocomplete: 'off'})),
              field('Frames', h('input', {name: 'frames', type: 'text', required: true, value: s.frames,
                                          pattern: '[0-9 ,:\\-]+', autocomplete: 'off', spellcheck: 'false'}),
                    'e.g. 1-24 or 1-10,20-30:2'),
              field('Frames per task', num('chunk', 1, 10000, s.chunk)),
              field('Priority', num('priority', 0, 100, s.priority), '0–100, higher runs first'),
              field('Width', num('width', 16, 8192, s.width)),
              field('Height', num('height', 16, 8192, s.height)),
              field('Samples per pixel', num('spp', 1, 4096, s.spp)),
              h('label', {class: 'field field-check'},
                h('input', {name: 'turntable', type: 'checkbox', checked: !!s.turntable}),
                h('span', {}, 'Turntable (orbit the camera over the frames)')),
              h('label', {class: 'field field-check'},
                h('input', {name: 'orthographic', type: 'checkbox', checked: !!s.orthographic}),
                h('span', {}, 'Orthographic camera (parallel rays)')),
              h('fieldset', {class: 'field field-passes'},
                h('legend', {class: 'field-label'}, 'Passes'),
                PASSES.map((pass) => h('label', {class: 'field-check'},
                                       h('input', {name: 'pass', type: 'checkbox', value: pass,
                                                   checked: (s.passes || DEFAULTS.passes).includes(pass)}),
                                       h('span', {}, pass))))),
            this.errorBox = h('div', {class: 'form-error', role: 'alert', hidden: true}),
            h('footer', {class: 'dialog-foot'},
              h('button', {type: 'button', class: 'btn pick-btn', onclick: () => document.getElementById('file-picker').click()},
                this.files.length ? 'Change files…' : 'Choose files…'),
              h('span', {class: 'spacer'}),
              h('button', {type: 'button', class: 'btn btn-ghost', onclick: () => this.busy ? this.abort?.abort() : this.close()},
                'Cancel'),
              this.submitBtn = h('button', {type: 'submit', class: 'btn btn-primary', disabled: !this.files.length},
                                 this.files.length > 1 ? `Submit ${this.files.length} jobs` : 'Submit job')));
        setChildren(this.dialog, this.form);
        this.typeChanged(false);
    }

    /** Shows the fields of the chosen job type; frames, chunks and the turntable mean nothing to a template set. */
    typeChanged(userChange = true) {
        const f = this.form.elements;
        const templates = f.type.value === 'templates';
        const show = (input, visible) => {
            input.closest('.field').hidden = !visible;
            input.disabled = !visible || this.busy;
        };
        show(f.views, templates);
        for (const input of [f.frames, f.chunk, f.turntable, f.orthographic]) show(input, !templates);
        if (userChange) {
            const wanted = templates ? TEMPLATE_PASSES : DEFAULTS.passes;
            for (const box of this.passBoxes()) box.checked = wanted.includes(box.value);
        }
    }

    passBoxes() {
        return [...this.form.querySelectorAll('input[name=pass]')];
    }

    renderFiles() {
        this.rows = [];
        if (!this.files.length)
            return h('div', {class: 'file-list empty'}, 'Drop files anywhere on the page, or choose them here.');
        return h('ul', {class: 'file-list', 'aria-label': 'Files to submit'},
                 this.files.map((file) => {
                     const row = {bar: progressBar(0, '', `Upload of ${file.name}`), status: h('span', {class: 'file-status muted'}, 'ready')};
                     this.rows.push(row);
                     return h('li', {class: 'file-row'},
                              h('span', {class: 'file-name', title: file.name}, file.name),
                              h('span', {class: 'file-size muted'}, formatBytes(file.size)),
                              row.status, row.bar);
                 }));
    }

    readForm() {
        const f = this.form.elements;
        return {
            name: f.name.value.trim(),
            frames: f.frames.value.replace(/\s+/g, ''),
            chunk: Number(f.chunk.value),
            priority: Number(f.priority.value),
            width: Number(f.width.value),
            height: Number(f.height.value),
            spp: Number(f.spp.value),
            turntable: f.turntable.checked,
            orthographic: f.orthographic.checked,
            type: f.type.value,
            views: Number(f.views.value),
            passes: this.passBoxes().filter((b) => b.checked).map((b) => b.value),
        };
    }

    showError(message) {
        this.errorBox.textContent = message;
        this.errorBox.hidden = !message;
    }

    setBusy(busy) {
        this.busy = busy;
        for (const el of this.form.querySelectorAll('input, select, .pick-btn, button[type=submit]')) el.disabled = busy;
        if (!busy) {
            this.form.elements.name.disabled = this.files.length !== 1;
            this.typeChanged(false); // hidden fields stay disabled
        }
    }

    async submit(e) {
        e.preventDefault();
        if (this.busy || !this.files.length) return;
        if (!this.form.reportValidity()) return;
        const s = this.readForm();
        if (!s.passes.length) {
            this.showError('Choose at least one pass.');
            return;
        }
        const {name, ...remembered} = s;
        saveSettings(remembered);
        this.showError('');
        this.setBusy(true);
        this.abort = new AbortController();
        const failures = [];
        for (let i = 0; i < this.files.length; i++) {
            const row = this.rows[i];
            if (row.done) continue; // Accepted in an earlier attempt of this dialog.
            try {
                const job = await this.submitOne(this.files[i], s, row);
                row.done = true;
                row.status.textContent = `job #${job.id} queued`;
                row.status.className = 'file-status ok';
                this.onSubmitted(job);
            } catch (err) {
                if (err.name === 'AbortError') {
                    row.status.textContent = 'canceled';
                    failures.push('Upload canceled.');
                    break;
                }
                row.status.textContent = 'failed';
                row.status.className = 'file-status bad';
                row.bar.dataset.state = 'failed';
                failures.push(this.files.length > 1 ? `${this.files[i].name}: ${err.message}` : err.message);
            }
        }
        this.abort = null;
        this.setBusy(false);
        if (failures.length) {
            this.showError(failures.join('\n'));
        } else {
            const n = this.files.length;
            toast(n > 1 ? `${n} jobs submitted` : 'Job submitted', 'ok');
            this.close();
        }
    }

    async submitOne(file, s, row) {
        const onProgress = ({phase, done, total}) => {
            const frac = total ? done / total : 1;
            if (phase === 'hash') {
                row.status.textContent = `hashing ${Math.round(frac * 100)}%`;
                setProgress(row.bar, frac * 0.1);
            } else if (phase === 'upload') {
                row.status.textContent = `uploading ${formatBytes(done)} / ${formatBytes(total)}`;
                setProgress(row.bar, 0.1 + frac * 0.85);
            } else {
                row.status.textContent = 'verifying';
                setProgress(row.bar, 0.97);
            }
        };
        row.status.className = 'file-status muted';
        const sha = await uploadFile(file, onProgress, this.abort.signal);
        row.status.textContent = 'creating job';
        const spec = jobSpec(s, this.files.length === 1 && s.name ? s.name : baseName(file.name), sha, file.name);
        const job = await api.submitJob(spec);
        setProgress(row.bar, 1, 'completed');
        return job;
    }
}

/** The job as submitted (docs/API.md) from the form's values: a template set has no frames, chunks or camera mode. */
export function jobSpec(s, name, sha, fileName) {
    const settings = {width: s.width, height: s.height, spp: s.spp, passes: s.passes};
    const spec = {name, type: s.type, priority: s.priority, input: {file: sha, name: fileName}, settings};
    if (s.type === 'templates') {
        settings.views = s.views;
    } else {
        spec.frames = s.frames;
        spec.chunk = s.chunk;
        settings.camera = {mode: s.turntable ? 'turntable' : 'still'};
        if (s.orthographic) settings.camera.projection = 'orthographic';
    }
    return spec;
}

/** Page-wide drag and drop: an overlay while files hover, the dialog once they drop. */
export function installDropZone(overlay, onFiles) {
    let depth = 0;
    const hasFiles = (e) => e.dataTransfer && Array.from(e.dataTransfer.types || []).includes('Files');
    const hide = () => {
        depth = 0;
        overlay.hidden = true;
    };
    window.addEventListener('dragenter', (e) => {
        if (!hasFiles(e)) return;
        e.preventDefault();
        depth++;
        overlay.hidden = false;
    });
    window.addEventListener('dragover', (e) => {
        if (!hasFiles(e)) return;
        e.preventDefault();
        e.dataTransfer.dropEffect = 'copy';
    });
    window.addEventListener('dragleave', (e) => {
        if (!hasFiles(e)) return;
        depth = Math.max(0, depth - 1);
        if (depth === 0) overlay.hidden = true;
    });
    window.addEventListener('drop', (e) => {
        if (!e.dataTransfer) return;
        e.preventDefault(); // Otherwise the browser navigates away to the dropped file.
        hide();
        const files = Array.from(e.dataTransfer.files || []);
        if (files.length) onFiles(files);
    });
}
