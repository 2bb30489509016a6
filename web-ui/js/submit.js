// Drop zone and submit dialog: the files (or folder, or .zip) dropped or picked at once become
// ONE job. The job type is picked from the main file's extension; its settings form is drawn
// from the type's schema on the server (schemaform.js). Per-type presets live in localStorage.

import {api} from './api.js';
import {Bundle, filesFromDrop} from './bundle.js';
import {formatBytes, h, progressBar, setChildren, setProgress, toast} from './dom.js';
import {extensionOf, isMainCandidate, loadJobTypes, takesSideFile, typesForPath} from './jobtypes.js';
import {SchemaForm, withoutDefaults} from './schemaform.js';
import {hashFile, uploadFile} from './upload.js';

/** {types: {<type>: {frames, chunk, priority, settings}}, byExtension: {<ext>: <type>}, lastType}:
 *  job fields and the settings that differ from the type's defaults, per type name. */
export const PRESETS_KEY = 'farmhand.submit.v2';
const FRAMES_SYNTAX = /^\d+(-\d+(:\d+)?)?(,\d+(-\d+(:\d+)?)?)*$/;
const LISTED_ROWS = 200; // a dropped folder may hold thousands of files: list the first ones
const NAMED = 5; // files named in a message; the rest are counted

/** "a, b, c and 4 more" */
function namesOf(paths) {
    return `${paths.slice(0, NAMED).join(', ')}${paths.length > NAMED ? ` and ${paths.length - NAMED} more` : ''}`;
}

/** ".txt or .docx files" from paths ("files without an extension" for those without). */
function kindsOf(paths) {
    const exts = [...new Set(paths.map((p) => extensionOf(p)))];
    return exts.map((x) => (x ? `.${x}` : 'extension-less')).join(' or ') + ' files';
}

/** The file a URL names: the last segment of its path, decoded ('' when it ends in '/'). */
export function urlFileName(url) {
    try {
        const last = new URL(url).pathname.split('/').pop();
        return decodeURIComponent(last);
    } catch {
        return '';
    }
}

/** Why the form's "File by URL" cannot be sent (an empty answer: it can), checked before
 *  anything is hashed; the server checks it again (its allowed hosts, the length) and its 400
 *  is shown as it comes. */
function urlProblem(text, type, bundlePaths) {
    let u;
    try {
        u = new URL(text);
    } catch {
        return `File by URL: "${text}" is not a URL; write it whole, e.g. https://media.example.com/clip.mp4.`;
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:')
        return `File by URL: only http and https URLs are fetched, not ${u.protocol}`;
    if (u.username || u.password) return 'File by URL: a user name or password in the URL is refused; the server fetches it without them.';
    const name = urlFileName(text);
    const side = (type.side_extensions || []).map((x) => `.${x}`);
    if (!name || name.includes('\\') || name === '.' || name === '..' || !takesSideFile(type, name))
        return `File by URL: the URL's path must end in a file name ${type.label || type.name} jobs take beside the main file ` +
               `(${side.slice(0, 12).join(', ')}${side.length > 12 ? ', …' : ''}), not "${name || u.pathname}".`;
    if (bundlePaths.includes(name)) return `File by URL: the job already has a file ${name}; drop one of the two.`;
    return '';
}

function loadPresets() {
    try {
        const p = JSON.parse(localStorage.getItem(PRESETS_KEY));
        return {types: (p && p.types) || {}, byExtension: (p && p.byExtension) || {}, lastType: p && p.lastType};
    } catch {
        return {types: {}, byExtension: {}};
    }
}

function savePresets(p) {
    try {
        localStorage.setItem(PRESETS_KEY, JSON.stringify(p));
    } catch {
        // Storage disabled: the form starts from the server's defaults next time.
    }
}

function field(label, input, hint, extra = {}) {
    return h('label', {class: 'field', ...extra}, h('span', {class: 'field-head'}, h('span', {class: 'field-label'}, label)),
             input, hint ? h('span', {class: 'field-hint'}, hint) : null);
}

export class SubmitDialog {
    /** onSubmitted(job) is called when the server accepted the job. */
    /** isOffline() answers whether the page has lost the server (the live stream is down):
     *  a submit then is refused at once, never kept to be sent later. */
    constructor(dialog, onSubmitted, isOffline = () => false) {
        this.dialog = dialog;
        this.isOffline = isOffline;
        this.onSubmitted = onSubmitted;
        this.bundle = null;
        this.types = [];
        this.busy = false;
        this.abort = null;
        this.openSeq = 0;
        // Esc or Cancel during an upload stops it and closes the dialog: nothing is left
        // running that could still create the job later.
        dialog.addEventListener('cancel', () => this.abort?.abort());
    }

    /** source: a Bundle, [{path, file}] entries, a promise of them (a drop still reading its
     *  folders), or null for an empty form. */
    async open(source) {
        if (this.busy) {
            toast('An upload is still running; wait for it to finish.', 'info');
            return;
        }
        const seq = ++this.openSeq;
        this.bundle = null;
        this.renderMessage(source ? 'Reading the files…' : 'Loading the farm’s job types…');
        if (!this.dialog.open) this.dialog.showModal();
        let types;
        let bundle = null;
        try {
            [types, bundle] = await Promise.all([loadJobTypes({fresh: true}), Promise.resolve(source)]);
            if (bundle && !(bundle instanceof Bundle)) bundle = new Bundle(bundle);
            if (bundle) await bundle.readArchive();
        } catch (e) {
            if (seq === this.openSeq) this.renderMessage(`Could not prepare the form: ${e.message}`, true);
            return;
        }
        if (seq !== this.openSeq) return; // another drop came meanwhile
        this.types = types.list;
        this.bundle = bundle && !bundle.empty ? bundle : null;
        if (!this.types.length) {
            this.renderMessage('The farm server lists no job types.', true);
            return;
        }
        this.chooseMain();
        this.render();
        const first = this.dialog.querySelector(this.bundle ? 'input[name=name]' : '.pick-btn');
        if (first) first.focus();
    }

    close() {
        this.abort?.abort();
        if (this.dialog.open) this.dialog.close();
    }

    head() {
        return h('header', {class: 'dialog-head'},
                 h('h2', {id: 'submit-title'}, 'Submit render job'),
                 h('button', {type: 'button', class: 'btn btn-ghost icon-btn', 'aria-label': 'Close',
                              onclick: () => this.close()}, '✕'));
    }

    renderMessage(text, isError = false) {
        this.form = null;
        setChildren(this.dialog, h('div', {class: 'submit-form'}, this.head(),
            h('p', {class: isError ? 'form-error' : 'muted loading-line', role: isError ? 'alert' : 'status'}, text),
            isError ? h('footer', {class: 'dialog-foot'}, h('span', {class: 'spacer'}),
                        h('button', {type: 'button', class: 'btn', onclick: () => this.close()}, 'Close')) : null));
    }

    /** Why files cannot go up, named before anything is hashed: an empty file (the server
     *  takes 1 byte and more), or a bundle in which no job type takes any file. */
    fileProblems() {
        const b = this.bundle;
        if (!b) return [];
        const out = [];
        const left = new Set(this.leftOut());
        const empty = b.archive ? (b.archive.size ? [] : [b.archive.name])
            : b.files.filter((e) => !e.file.size && !left.has(e.path)).map((e) => e.path);
        if (empty.length) out.push(`${namesOf(empty)} ` +
                                   `${empty.length === 1 ? 'is' : 'are'} empty (0 bytes): leave ${empty.length === 1 ? 'it' : 'them'} out.`);
        if (!b.archive && !this.candidates().length) out.push(this.noTypeMessage());
        // An archive goes up whole: a file in it that the type does not take would make the
        // server refuse it after the upload, so it is refused here.
        if (b.archive && left.size) {
            const paths = [...left];
            out.push(`${namesOf(paths)} in ${b.archive.name}: ${this.sideRule()}. Take ${paths.length === 1 ? 'it' : 'them'} ` +
                     'out of the .zip, or drop its files instead. Nothing was uploaded.');
        }
        return out;
    }

    /** Files of the bundle (besides the main file) that the chosen type does not take
     *  (its side_extensions, served by the server): left out of the upload, and named. */
    leftOut() {
        if (!this.bundle || !this.types.length) return [];
        const type = this.type;
        return this.bundle.listed.map((e) => e.path).filter((p) => p !== this.main && !takesSideFile(type, p));
    }

    /** "3D model jobs do not take .txt files beside scene.gltf (they take .bin, .mtl, …)" */
    sideRule() {
        const type = this.type;
        const paths = this.leftOut();
        const side = (type.side_extensions || []).map((x) => `.${x}`);
        const they = side.length ? `they take ${side.slice(0, 12).join(', ')}${side.length > 12 ? ', …' : ''}`
            : 'they take the main file alone';
        return `${type.label || type.name} jobs do not take ${kindsOf(paths)} beside ${this.main || 'the main file'} (${they})`;
    }

    /** The note under the file list: which files stay behind and why. */
    leftOutMessage() {
        const paths = this.leftOut();
        if (!paths.length || this.bundle.archive) return '';
        return `${namesOf(paths)}: ${this.sideRule()}. Left out: ${paths.length === 1 ? 'it is' : 'they are'} not uploaded.`;
    }

    /** "notes.txt, data.bin: no job type of this farm takes .txt or .bin files (it takes .glb, …)". */
    noTypeMessage() {
        const paths = this.bundle.files.map((e) => e.path);
        const exts = [...new Set(paths.map((p) => extensionOf(p) || '(no extension)'))];
        const taken = [...new Set(this.types.flatMap((t) => t.extensions || []))];
        return `${namesOf(paths)}: no job type of this farm ` +
               `takes ${exts.map((x) => (x.startsWith('(') ? x : `.${x}`)).join(' or ')} files (it takes ${taken.map((x) => `.${x}`).join(', ')}, ` +
               'or a .zip of them). Nothing was uploaded.';
    }

    /** Main-file candidates: the paths some job type takes (none when no type takes any). */
    candidates() {
        if (!this.bundle) return [];
        const paths = this.bundle.listed.map((e) => e.path);
        return paths.filter((p) => isMainCandidate(this.types, p));
    }

    /** The main file (shallowest candidate first) and the type that takes it. */
    chooseMain() {
        const c = this.candidates().slice().sort((a, b) => a.split('/').length - b.split('/').length || a.localeCompare(b));
        this.main = c[0] || '';
        this.typeName = this.typeFor(this.main);
    }

    /** The type for a main file: the one last used for its extension if it still takes it,
     *  else the first the server lists for it; with no match the type last used, else the first. */
    typeFor(main) {
        const presets = loadPresets();
        const takers = main ? typesForPath(this.types, main) : [];
        const remembered = presets.byExtension[extensionOf(main)];
        if (takers.some((t) => t.name === remembered)) return remembered;
        if (takers.length) return takers[0].name;
        const known = new Set(this.types.map((t) => t.name));
        return known.has(presets.lastType) ? presets.lastType : this.types[0].name;
    }

    get type() {
        return this.types.find((t) => t.name === this.typeName) || this.types[0];
    }

    render() {
        const candidates = this.candidates();
        this.typeSelect = h('select', {name: 'type', onchange: () => {
            this.typeName = this.typeSelect.value;
            this.typeChanged();
        }}, this.types.map((t) => h('option', {value: t.name, selected: t.name === this.typeName}, t.label || t.name)));
        this.mainSelect = candidates.length > 1
            ? h('select', {name: 'main', onchange: () => this.mainChanged()},
                candidates.map((p) => h('option', {value: p, selected: p === this.main}, p)))
            : null;
        this.typeHint = h('span', {class: 'field-hint'});
        this.nameInput = h('input', {name: 'name', type: 'text', autocomplete: 'off', disabled: !this.bundle});
        this.priority = h('input', {name: 'priority', type: 'number', step: '1', inputmode: 'numeric',
                                    placeholder: 'farm default'});
        this.frames = h('input', {name: 'frames', type: 'text', autocomplete: 'off', spellcheck: 'false',
                                  placeholder: 'farm default, e.g. 1-24'});
        this.chunk = h('input', {name: 'chunk', type: 'number', step: '1', inputmode: 'numeric', placeholder: 'farm default'});
        this.urlInput = h('input', {name: 'input_url', type: 'url', autocomplete: 'off', spellcheck: 'false', inputmode: 'url'});
        this.urlHint = h('span', {}); // inside the field's own hint line
        this.urlField = field('File by URL', this.urlInput, this.urlHint, {class: 'field span-6', 'data-job-field': 'url'});
        this.framesFields = [
            field('Frames', this.frames, null, {'data-job-field': 'frames', title: 'Empty: the farm’s default'}),
            field('Frames per task', this.chunk, null, {'data-job-field': 'chunk'}),
        ];
        this.settingsHost = h('div', {class: 'settings-host'});
        this.progressBar = progressBar(0, '', 'Upload progress');
        this.progressText = h('span', {class: 'progress-text muted'});
        this.progress = h('div', {class: 'upload-progress', hidden: true}, this.progressText, this.progressBar);
        this.form = h('form', {class: 'submit-form', novalidate: true, onsubmit: (e) => this.submit(e)},
            this.head(),
            h('div', {class: 'dialog-body'},
              this.renderBundle(),
              h('fieldset', {class: 'form-group job-group'},
                h('legend', {class: 'group-legend'}, 'Job'),
                h('div', {class: 'form-grid job-grid'},
                  field('Job type', this.typeSelect, this.typeHint, {class: 'field span-3'}),
                  field('Job name', this.nameInput, null, {class: 'field span-3'}),
                  this.mainSelect ? field('Main file', this.mainSelect, 'The file the job renders; the others travel with it',
                                          {class: 'field span-6'}) : null,
                  this.urlField,
                  this.framesFields,
                  field('Priority', this.priority, null, {title: 'Higher runs first'}))),
              this.settingsHost),
            this.progress,
            this.errorBox = h('div', {class: 'form-error', role: 'alert', hidden: true}),
            h('footer', {class: 'dialog-foot'},
              h('button', {type: 'button', class: 'btn pick-btn', onclick: () => document.getElementById('file-picker').click()},
                this.bundle ? 'Other files…' : 'Choose files…'),
              h('button', {type: 'button', class: 'btn pick-btn', onclick: () => document.getElementById('folder-picker').click()},
                'Choose folder…'),
              h('span', {class: 'spacer'}),
              h('button', {type: 'button', class: 'btn btn-ghost cancel-submit', onclick: () => this.close()}, 'Cancel'),
              this.submitBtn = h('button', {type: 'submit', class: 'btn btn-primary', disabled: !this.bundle}, 'Submit job')));
        setChildren(this.dialog, this.form);
        this.typeChanged();
    }

    renderBundle() {
        const b = this.bundle;
        if (!b) return h('div', {class: 'file-list empty'}, 'Drop files or a folder anywhere on the page, or choose them here.');
        const listed = b.listed;
        const head = b.archive
            ? [h('strong', {}, b.archive.name), ` · archive, ${formatBytes(b.archive.size)}`,
               listed.length ? ` · ${listed.length} file${listed.length === 1 ? '' : 's'} inside` : ' · unpacked on the server']
            : [h('strong', {}, `${listed.length} file${listed.length === 1 ? '' : 's'}`), ` · ${formatBytes(b.size)}`];
        this.mainMarks = new Map();
        this.fileRows = new Map();
        const rows = listed.slice(0, LISTED_ROWS).map((e) => {
            const mark = h('span', {class: 'main-badge', hidden: true}, 'main');
            this.mainMarks.set(e.path, mark);
            const slash = e.path.lastIndexOf('/');
            const row = h('li', {class: 'file-row', dataset: {path: e.path}},
                          h('span', {class: 'file-name', title: e.path},
                            slash >= 0 ? h('span', {class: 'muted'}, e.path.slice(0, slash + 1)) : null, e.path.slice(slash + 1)),
                          mark,
                          h('span', {class: 'left-out-badge', hidden: true}, 'left out'),
                          h('span', {class: 'file-size muted'}, formatBytes(e.size)));
            this.fileRows.set(e.path, row);
            return row;
        });
        this.leftOutNote = h('p', {class: 'bundle-note warn-text', role: 'status', hidden: true});
        this.problemsBox = null; // only while there are problems (the form's own error box is apart)
        const more = listed.length - rows.length;
        return h('section', {class: 'bundle', 'aria-label': 'Files of the job'},
                 h('div', {class: 'bundle-head'}, head),
                 rows.length ? h('ul', {class: 'file-list', 'aria-label': 'Files to submit'}, rows,
                                 more > 0 ? h('li', {class: 'file-more muted'}, `… and ${more} more`) : null) : null,
                 this.leftOutNote);
    }

    /** Marks the files the chosen type leaves out and shows why; shows what blocks a submit. */
    markFiles() {
        if (!this.bundle || !this.fileRows) return;
        const left = new Set(this.leftOut());
        for (const [path, row] of this.fileRows) {
            row.classList.toggle('left-out', left.has(path));
            row.querySelector('.left-out-badge').hidden = !left.has(path);
        }
        const note = this.leftOutMessage();
        this.leftOutNote.textContent = note;
        this.leftOutNote.hidden = !note;
        const problems = [...this.bundle.problems.slice(0, 5), ...this.fileProblems()];
        if (problems.length && !this.problemsBox) {
            this.problemsBox = h('p', {class: 'form-error bundle-problems', role: 'alert'});
            this.leftOutNote.after(this.problemsBox);
        } else if (!problems.length && this.problemsBox) {
            this.problemsBox.remove();
            this.problemsBox = null;
        }
        if (this.problemsBox) this.problemsBox.textContent = problems.join('\n');
    }

    mainChanged() {
        this.main = this.mainSelect.value;
        if (!typesForPath(this.types, this.main).some((t) => t.name === this.typeName)) {
            this.typeName = this.typeFor(this.main);
            this.typeSelect.value = this.typeName;
            this.typeChanged();
        } else {
            this.markMain();
        }
    }

    markMain() {
        for (const [path, mark] of this.mainMarks || []) mark.hidden = path !== this.main;
        this.nameInput.placeholder = this.bundle ? Bundle.jobName(this.main, this.bundle.archive?.name) : '';
        this.markFiles();
    }

    /** Draws the chosen type's settings from its schema and restores its preset. */
    typeChanged() {
        const type = this.type;
        const preset = loadPresets().types[type.name] || {};
        const takes = !this.main || typesForPath([type], this.main).length > 0;
        setChildren(this.typeHint, type.description || '',
                    takes ? null : h('span', {class: 'warn-text'}, ` It does not list .${extensionOf(this.main)} files.`));
        for (const f of this.framesFields) f.hidden = !type.frames;
        this.showUrlField();
        this.frames.value = preset.frames ?? '';
        this.chunk.value = preset.chunk ?? '';
        this.priority.value = preset.priority ?? '';
        this.settings = new SchemaForm(type.schema, preset.settings);
        setChildren(this.settingsHost, this.settings.root);
        this.markMain();
        this.showError('');
        this.setBusy(this.busy);
    }

    /** "File by URL" is offered where the type takes side files and the bundle is not a .zip
     *  (an archive goes up whole, with nothing beside it). */
    urlApplies() {
        const side = this.type.side_extensions;
        return !!this.bundle && !this.bundle.archive && !(Array.isArray(side) && side.length === 0);
    }

    showUrlField() {
        const type = this.type;
        this.urlField.hidden = !this.urlApplies();
        const side = (type.side_extensions || []).filter((x) => x !== '*').map((x) => `.${x}`);
        this.urlInput.placeholder = `https://media.example.com/${side.length ? `file${side[0]}` : 'file'}`;
        this.urlHint.textContent = 'Optional: the farm server fetches this file (http or https) into the job instead of an upload' +
            (side.length ? ` (${type.label || type.name} jobs take ${side.slice(0, 9).join(', ')}${side.length > 9 ? ', …' : ''} beside the main file)` : '') + '.';
    }

    showError(message) {
        this.errorBox.textContent = message;
        this.errorBox.hidden = !message;
    }

    setBusy(busy) {
        this.busy = busy;
        for (const el of this.form.querySelectorAll('.job-group input, .job-group select, .pick-btn, button[type=submit]'))
            el.disabled = busy;
        this.nameInput.disabled = busy || !this.bundle;
        this.submitBtn.disabled = busy || !this.bundle || this.fileProblems().length > 0;
        for (const f of this.framesFields) for (const el of f.querySelectorAll('input')) el.disabled = busy || f.hidden;
        this.urlInput.disabled = busy || this.urlField.hidden;
        this.settings.setDisabled(busy);
    }

    /** The job fields the form holds: empty ones are left to the server's defaults. */
    jobFields() {
        const errors = [];
        const out = {};
        const int = (input, label) => {
            const v = input.value.trim();
            if (input.validity.badInput || (v !== '' && !Number.isInteger(Number(v)))) {
                errors.push({message: `${label} must be a whole number.`, control: input});
                return undefined;
            }
            return v === '' ? undefined : Number(v);
        };
        const name = this.nameInput.value.trim();
        out.name = name || Bundle.jobName(this.main, this.bundle.archive?.name || this.bundle.files[0]?.path);
        out.priority = int(this.priority, 'Priority');
        if (this.type.frames) {
            const frames = this.frames.value.replace(/\s+/g, '');
            if (frames && !FRAMES_SYNTAX.test(frames))
                errors.push({message: 'Frames: write frame numbers and ranges such as 1-24 or 1-10,20-30:2.', control: this.frames});
            out.frames = frames || undefined;
            out.chunk = int(this.chunk, 'Frames per task');
        }
        const url = this.urlApplies() ? this.urlInput.value.trim() : '';
        if (url) {
            const paths = this.bundle.files.filter((e) => !this.leftOut().includes(e.path)).map((e) => e.path);
            const problem = urlProblem(url, this.type, paths);
            if (problem) errors.push({message: problem, control: this.urlInput});
        }
        return {fields: out, errors, url};
    }

    async submit(e) {
        e.preventDefault();
        if (this.busy || !this.bundle) return;
        for (const el of this.form.querySelectorAll('.job-group input')) el.setCustomValidity('');
        if (this.isOffline()) {
            this.showError('The farm server cannot be reached (the header says Offline): nothing was sent. ' +
                           'Submit again once it shows Live.');
            return;
        }
        const {fields, errors, url} = this.jobFields();
        errors.push(...this.settings.errors());
        if (this.bundle.problems.length) errors.push({message: this.bundle.problems.join('\n')});
        errors.push(...this.fileProblems().map((message) => ({message})));
        if (errors.length) {
            for (const {message, control} of errors) if (control) control.setCustomValidity(message);
            this.showError(errors.map((x) => x.message).join('\n'));
            const first = errors.find((x) => x.control);
            if (first) first.control.focus();
            return;
        }
        const type = this.type;
        const settings = this.settings.values();
        const spec = {type: type.name, ...fields, settings};
        for (const k of Object.keys(spec)) if (spec[k] === undefined) delete spec[k];
        this.remember(type, fields, settings);
        this.showError('');
        this.setBusy(true);
        this.abort = new AbortController();
        this.progress.hidden = false;
        setProgress(this.progressBar, 0);
        try {
            const signal = this.abort.signal;
            spec.input = await this.upload(signal);
            // The server fetches it into the job before its tasks start (docs/API.md, "Input by URL").
            if (url) spec.input.files.push({path: urlFileName(url), url});
            if (signal.aborted) throw new DOMException('Upload canceled', 'AbortError');
            this.progressText.textContent = 'Creating the job…';
            const job = await api.submitJob(spec);
            setProgress(this.progressBar, 1, 'completed');
            this.busy = false;
            this.close();
            toast(`Job #${job.id} submitted`, 'ok');
            this.onSubmitted(job);
        } catch (err) {
            this.progress.hidden = true; // the files that went up stay on the server: a retry skips them
            if (err.name === 'AbortError') this.showError('Upload canceled.');
            else if (err.code === 'network')
                this.showError('The farm server cannot be reached: nothing was submitted. Submit again once the header shows Live.');
            else if (err.code === 'missing_file')
                this.showError(`${err.message.replace(/\.?$/, '.')}\nDrop these files together with ${this.main || 'the main file'} (or the folder that holds them all).`);
            else this.showError(err.message);
        } finally {
            this.abort = null;
            if (this.form && this.dialog.open) this.setBusy(false);
            else this.busy = false;
        }
    }

    remember(type, fields, settings) {
        const presets = loadPresets();
        presets.types[type.name] = {frames: fields.frames, chunk: fields.chunk, priority: fields.priority,
                                    settings: withoutDefaults(type.schema, settings)};
        if (this.main) presets.byExtension[extensionOf(this.main)] = type.name;
        presets.lastType = type.name;
        savePresets(presets);
    }

    /** Hashes every file, uploads each distinct content once, answers the job's `input`. */
    async upload(signal) {
        const b = this.bundle;
        const left = new Set(this.leftOut());
        const items = b.archive ? [{path: b.archive.name, file: b.archive}] : b.files.filter((e) => !left.has(e.path));
        const total = items.reduce((n, x) => n + x.file.size, 0) || 1;
        let hashed = 0;
        const shas = [];
        for (let i = 0; i < items.length; i++) {
            const {path, file} = items[i];
            this.progressText.textContent = `Hashing ${path} · file ${i + 1} of ${items.length}`;
            shas.push(await hashFile(file, ({done}) => {
                setProgress(this.progressBar, 0.1 * (hashed + done) / total);
            }, signal));
            hashed += file.size;
            if (signal.aborted) throw new DOMException('Upload canceled', 'AbortError');
        }
        const unique = new Map(); // sha → file: the same content under two paths goes up once
        items.forEach((x, i) => unique.has(shas[i]) || unique.set(shas[i], x));
        const upTotal = [...unique.values()].reduce((n, x) => n + x.file.size, 0) || 1;
        let sent = 0;
        let n = 0;
        for (const [sha, {path, file}] of unique) {
            n++;
            const label = `${path} · file ${n} of ${unique.size}`;
            this.progressText.textContent = `Uploading ${label}`;
            const got = await uploadFile(file, ({phase, done}) => {
                if (phase === 'upload') {
                    setProgress(this.progressBar, 0.1 + 0.9 * (sent + done) / upTotal);
                    this.progressText.textContent = `Uploading ${label} · ${formatBytes(sent + done)} of ${formatBytes(upTotal)}`;
                } else if (phase === 'complete') {
                    this.progressText.textContent = `Checking ${label}`;
                }
            }, signal);
            if (got !== sha) throw new Error(`${path} changed while it was being sent; drop it again.`);
            sent += file.size;
            setProgress(this.progressBar, 0.1 + 0.9 * sent / upTotal);
        }
        if (b.archive) return this.main ? {archive: shas[0], main: this.main} : {archive: shas[0]};
        return {main: this.main, files: items.map((x, i) => ({path: x.path, file: shas[i]}))};
    }
}

/** Page-wide drag and drop: an overlay while files hover; on drop, onDrop(promise of
 *  [{path, file}]) with the dropped files and the contents of dropped folders. */
export function installDropZone(overlay, onDrop) {
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
        if (!hasFiles(e) && !(e.dataTransfer.files && e.dataTransfer.files.length)) return;
        onDrop(filesFromDrop(e.dataTransfer)); // the items must be read now, inside the event
    });
}
