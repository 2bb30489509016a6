// Jobs list: state filter, name search, paging (kept in the URL: #/jobs?state=failed&q=x&page=2),
// multi-select with bulk actions, and in-place live updates from /ws/events.

import {api} from './api.js';
import {
    badge, confirmButton, debounce, finalJobStates, formatDuration, frameCount, h, jobProgress, jobStates, progressBar,
    relTime, setChildren, setProgress, splitHash, throttle, toast,
} from './dom.js';
import {inputOf} from './jobinfo.js';
import {jobTypeLabel, knownJobType} from './jobtypes.js';

const PAGE_SIZES = [25, 50, 100];

function fillFrames(cell, job) {
    const t = job.tasks || {};
    // A type without frames (a template set is one render) has no range to show.
    const type = knownJobType(job.type);
    const what = type && !type.frames ? '–' : (job.frames ?? '–');
    setChildren(cell, String(what), h('span', {class: 'sub muted'}, `${t.done || 0}/${t.total || 0} tasks`));
}

/** Seconds as "1h 2m", "3m 4s", "5.2s". */
function seconds(s) {
    if (!Number.isFinite(s) || s < 0) return '–';
    if (s < 10) return `${s.toFixed(1)}s`;
    return formatDuration(new Date(0).toISOString(), new Date(Math.round(s) * 1000).toISOString());
}

/** Elapsed run time, time per frame and the estimated time left, from the job's own numbers:
 *  frames done = progress × frames (a template set counts as one). */
export function jobTiming(job, now = Date.now()) {
    const start = job.started_at ? new Date(job.started_at).getTime() : NaN;
    if (Number.isNaN(start)) return {elapsed: null, perFrame: null, eta: null};
    const end = job.finished_at ? new Date(job.finished_at).getTime() : now;
    const elapsed = Math.max(0, (end - start) / 1000);
    const type = knownJobType(job.type);
    const frames = type && !type.frames ? 1 : frameCount(job.frames) || 1;
    const progress = jobProgress(job);
    const done = progress * frames;
    const perFrame = done > 0 ? elapsed / done : null;
    const running = job.state === 'active' || job.state === 'queued';
    const eta = running && progress > 0 && progress < 1 ? elapsed * (1 - progress) / progress : null;
    return {elapsed, perFrame, eta};
}

/** Which bulk action a job's state allows (docs/API.md "Job lifecycle"). */
const BULK = {
    cancel: {label: 'Cancel', when: (j) => !finalJobStates.has(j.state), call: (j) => api.cancelJob(j.id), confirm: 'Really cancel?'},
    pause: {label: 'Pause', when: (j) => j.state === 'queued' || j.state === 'active', call: (j) => api.pauseJob(j.id)},
    resume: {label: 'Resume', when: (j) => j.state === 'paused', call: (j) => api.resumeJob(j.id)},
    retry: {label: 'Retry failed', when: (j) => j.state === 'failed' || j.state === 'canceled', call: (j) => api.retryJob(j.id)},
    rerun: {label: 'Re-run', when: (j) => finalJobStates.has(j.state), call: (j) => api.rerunJob(j.id), confirm: 'Really re-run?'},
    delete: {label: 'Delete', when: (j) => finalJobStates.has(j.state), call: (j) => api.deleteJob(j.id), confirm: 'Really delete?'},
};

/** Under the name: the job type, then the main file (and how many travel with it). */
function inputLine(job) {
    const input = inputOf(job.input);
    const others = input.files.length - 1;
    const main = input.main || (input.archive ? 'archive' : '');
    return [jobTypeLabel(job.type), main + (others > 0 ? ` + ${others} file${others === 1 ? '' : 's'}` : '')]
        .filter(Boolean).join(' · ');
}

export class JobsView {
    /** onSelect(id) opens a job; selectedId() answers the open one (for highlighting). */
    constructor(root, {selectedId}) {
        this.root = root;
        this.selectedId = selectedId;
        this.filter = new Set();
        this.query = '';
        this.limit = PAGE_SIZES[0];
        this.offset = 0;
        this.total = 0;
        this.rows = new Map(); // job id → {tr, job, bar, state, frames}
        this.loading = false;
        this.lastJobEvent = new Map(); // job id → time of its last job.updated
        // Job updates that came while a page of the list was on its way are newer than that
        // page: job id → {seq, job}, kept until a page asked for after them has been drawn.
        this.eventSeq = 0;
        this.newerThanPage = new Map();
        this.refreshSoon = throttle(() => this.load(), 400);
        this.jobRefresh = new Map(); // job id → throttled refetch for task-only updates
        this.checked = new Map(); // job id → job, ticked for a bulk action
        this.build();
    }

    build() {
        this.chips = jobStates.map((state) =>
            h('button', {type: 'button', class: `chip chip-${state}`, 'aria-pressed': 'false', dataset: {state},
                         onclick: () => this.toggleState(state)}, state));
        this.allChip = h('button', {type: 'button', class: 'chip', 'aria-pressed': 'true', onclick: () => this.toggleState(null)}, 'all');
        this.search = h('input', {type: 'search', class: 'search', placeholder: 'Search jobs by name', 'aria-label': 'Search jobs by name',
                                  oninput: debounce(() => {
                                      this.query = this.search.value.trim();
                                      this.offset = 0;
                                      this.changed();
                                  }, 250)});
        this.checkAll = h('input', {type: 'checkbox', class: 'check-all', 'aria-label': 'Select all jobs on this page',
                                    onchange: () => this.tickAll(this.checkAll.checked)});
        this.bulkCount = h('span', {class: 'bulk-count'});
        this.bulkPriority = h('input', {type: 'number', min: '0', max: '100', step: '1', class: 'priority-input',
                                        'aria-label': 'Priority for the selected jobs', placeholder: '0-100'});
        this.bulkBar = h('div', {class: 'bulk-bar', role: 'toolbar', 'aria-label': 'Actions on the selected jobs', hidden: true},
            this.bulkCount,
            Object.entries(BULK).map(([key, a]) => a.confirm
                ? confirmButton(a.label, a.confirm, () => this.bulk(key), `btn btn-small${key === 'delete' || key === 'cancel' ? ' btn-danger' : ''}`)
                : h('button', {type: 'button', class: 'btn btn-small', onclick: () => this.bulk(key)}, a.label)),
            h('span', {class: 'bulk-priority'}, this.bulkPriority,
              h('button', {type: 'button', class: 'btn btn-small', onclick: () => this.bulk('priority')}, 'Set priority')),
            h('button', {type: 'button', class: 'btn btn-small btn-ghost', onclick: () => this.tickAll(false)}, 'Clear'));
        for (const btn of this.bulkBar.querySelectorAll('button')) if (!btn.dataset.action) btn.dataset.action = btn.textContent;
        this.tbody = h('tbody');
        this.empty = h('div', {class: 'empty-state', hidden: true});
        this.pageInfo = h('span', {class: 'page-info muted', 'aria-live': 'polite'});
        this.prevBtn = h('button', {type: 'button', class: 'btn btn-small', onclick: () => this.page(-1)}, '‹ Prev');
        this.nextBtn = h('button', {type: 'button', class: 'btn btn-small', onclick: () => this.page(1)}, 'Next ›');
        this.sizeSel = h('select', {'aria-label': 'Jobs per page', class: 'select-small',
                                    onchange: () => {
                                        this.limit = Number(this.sizeSel.value);
                                        this.offset = 0;
                                        this.changed();
                                    }},
                         PAGE_SIZES.map((n) => h('option', {value: String(n)}, `${n} / page`)));
        setChildren(this.root,
            h('div', {class: 'toolbar'},
              h('div', {class: 'chips', role: 'group', 'aria-label': 'Filter by state'}, this.allChip, this.chips),
              this.search),
            this.bulkBar,
            h('div', {class: 'table-wrap'},
              h('table', {class: 'table jobs-table'},
                h('caption', {class: 'sr-only'}, 'Render jobs'),
                h('thead', {}, h('tr', {},
                  h('th', {scope: 'col', class: 'col-check'}, this.checkAll),
                  h('th', {scope: 'col', class: 'col-id'}, 'ID'),
                  h('th', {scope: 'col'}, 'Name'),
                  h('th', {scope: 'col'}, 'State'),
                  h('th', {scope: 'col', class: 'col-progress'}, 'Progress'),
                  h('th', {scope: 'col', class: 'col-frames'}, 'Frames'),
                  h('th', {scope: 'col', class: 'col-owner'}, 'Owner'),
                  h('th', {scope: 'col', class: 'col-prio num', title: 'Priority (0-100, higher first)'}, 'Prio'),
                  h('th', {scope: 'col', class: 'col-elapsed num'}, 'Elapsed'),
                  h('th', {scope: 'col', class: 'col-eta num', title: 'Estimated time left'}, 'ETA'),
                  h('th', {scope: 'col', class: 'col-perframe num', title: 'Run time per rendered frame'}, 'Per frame'),
                  h('th', {scope: 'col', class: 'col-time'}, 'Submitted'))),
                this.tbody),
              this.empty),
            h('div', {class: 'pager'}, this.pageInfo, h('span', {class: 'spacer'}), this.sizeSel, this.prevBtn, this.nextBtn));
    }

    toggleState(state) {
        if (state === null) this.filter.clear();
        else if (this.filter.has(state)) this.filter.delete(state);
        else this.filter.add(state);
        this.allChip.setAttribute('aria-pressed', String(this.filter.size === 0));
        for (const chip of this.chips) chip.setAttribute('aria-pressed', String(this.filter.has(chip.dataset.state)));
        this.offset = 0;
        this.changed();
    }

    page(dir) {
        const next = this.offset + dir * this.limit;
        if (next < 0 || next >= Math.max(this.total, 1)) return;
        this.offset = next;
        this.changed();
    }

    /** The list's filter, search and page as a URL query ('' when all are defaults). */
    queryString() {
        const q = new URLSearchParams();
        if (this.filter.size) q.set('state', [...this.filter].join(','));
        if (this.query) q.set('q', this.query);
        if (this.offset) q.set('page', String(Math.floor(this.offset / this.limit) + 1));
        if (this.limit !== PAGE_SIZES[0]) q.set('size', String(this.limit));
        return q.toString().replace(/%2C/g, ',');
    }

    /** The link to a job that keeps the list as it is. */
    hashFor(id) {
        const q = this.queryString();
        return `#/jobs/${id}${q ? `?${q}` : ''}`;
    }

    /** Filter, search or page changed here: the list loads, and the URL follows (so the view
     *  can be shared); the hashchange that causes finds the list as it asks and loads nothing. */
    changed() {
        const {path} = splitHash();
        const q = this.queryString();
        const want = `${path.startsWith('#/jobs') ? path : '#/jobs'}${q ? `?${q}` : ''}`;
        this.load();
        if (location.hash !== want) location.hash = want;
    }

    /** The URL's query (a shared link, back/forward): applied, then loaded when it differs. */
    applyQuery(query) {
        const states = (query.get('state') || '').split(',').filter((x) => jobStates.includes(x));
        const size = Number(query.get('size'));
        const limit = PAGE_SIZES.includes(size) ? size : PAGE_SIZES[0];
        const page = Math.max(1, Number(query.get('page')) || 1);
        const q = query.get('q') || '';
        const same = states.length === this.filter.size && states.every((x) => this.filter.has(x)) &&
            q === this.query && limit === this.limit && (page - 1) * limit === this.offset;
        if (same && this.loadedOnce) return;
        this.filter = new Set(states);
        this.query = q;
        this.limit = limit;
        this.offset = (page - 1) * limit;
        if (this.search.value.trim() !== q) this.search.value = q;
        this.sizeSel.value = String(limit);
        this.allChip.setAttribute('aria-pressed', String(this.filter.size === 0));
        for (const chip of this.chips) chip.setAttribute('aria-pressed', String(this.filter.has(chip.dataset.state)));
        this.load();
    }

    tick(job, on) {
        if (on) this.checked.set(job.id, job);
        else this.checked.delete(job.id);
        const row = this.rows.get(job.id);
        if (row) row.check.checked = on;
        this.showBulk();
    }

    tickAll(on) {
        if (!on) this.checked.clear();
        for (const row of this.rows.values()) this.tick(row.job, on);
        this.showBulk();
    }

    showBulk() {
        const n = this.checked.size;
        this.bulkBar.hidden = n === 0;
        this.bulkCount.textContent = `${n} selected`;
        const ticked = [...this.rows.values()].filter((r) => this.checked.has(r.job.id)).length;
        this.checkAll.checked = ticked > 0 && ticked === this.rows.size;
        this.checkAll.indeterminate = ticked > 0 && ticked < this.rows.size;
    }

    /** One request per selected job whose state allows the action; the others are skipped and
     *  counted, so the toast says exactly what happened. */
    async bulk(key) {
        const jobs = [...this.checked.values()].map((j) => this.rows.get(j.id)?.job || j);
        let call;
        let when;
        if (key === 'priority') {
            const v = this.bulkPriority.value.trim();
            const p = Number(v);
            if (v === '' || !Number.isInteger(p) || p < 0 || p > 100) {
                toast('Priority must be a whole number from 0 to 100.', 'error');
                return;
            }
            call = (j) => api.setPriority(j.id, p);
            when = (j) => !finalJobStates.has(j.state);
        } else {
            ({call, when} = BULK[key]);
        }
        const label = key === 'priority' ? 'Set priority' : BULK[key].label;
        const able = jobs.filter(when);
        const results = await Promise.allSettled(able.map(call));
        const failed = results.map((r, i) => [r, able[i]]).filter(([r]) => r.status === 'rejected');
        const ok = able.length - failed.length;
        const skipped = jobs.length - able.length;
        toast(`${label}: ${ok} job${ok === 1 ? '' : 's'}` + (skipped ? `, ${skipped} skipped (not in a state for it)` : '') +
              (failed.length ? `, ${failed.length} failed: ${failed[0][0].reason.message}` : ''), failed.length ? 'error' : 'info');
        if (key === 'delete') for (const j of able) this.checked.delete(j.id);
        this.showBulk();
        this.load();
    }

    async load() {
        const seq = (this.loadSeq = (this.loadSeq || 0) + 1);
        const eventsBefore = this.eventSeq;
        let answer;
        try {
            answer = await api.jobs({state: [...this.filter], q: this.query, limit: this.limit, offset: this.offset,
                                     sort: 'created_at', order: 'desc'});
        } catch (e) {
            if (seq !== this.loadSeq) return;
            this.showEmpty(`Could not load jobs: ${e.message}`, true);
            return;
        }
        if (seq !== this.loadSeq) return; // A newer filter or page won the race.
        this.loadedOnce = true;
        this.total = answer.total ?? answer.jobs.length;
        if (this.offset > 0 && this.offset >= this.total) {
            this.offset = Math.max(0, Math.floor((this.total - 1) / this.limit) * this.limit);
            return this.changed();
        }
        // A job that finished while the page was on its way would otherwise be drawn as it was
        // when the server read it, and stay so: no later event comes for a finished job.
        const jobs = (answer.jobs || []).map((job) => {
            const newer = this.newerThanPage.get(job.id);
            return newer && newer.seq > eventsBefore ? newer.job : job;
        });
        for (const [id, e] of this.newerThanPage) if (e.seq <= eventsBefore) this.newerThanPage.delete(id);
        this.renderRows(jobs);
    }

    showEmpty(text, isError = false) {
        this.empty.hidden = !text;
        this.empty.classList.toggle('error', isError);
        if (!text) return;
        const filtered = this.filter.size || this.query;
        setChildren(this.empty, h('p', {}, text),
                    !isError && !filtered ? h('p', {class: 'muted'}, 'Drop a model, its files or its folder anywhere on this page, or use Submit.') : null);
    }

    renderRows(jobs) {
        this.rows.clear();
        setChildren(this.tbody, jobs.map((job) => this.makeRow(job)));
        this.showEmpty(jobs.length ? '' : (this.filter.size || this.query ? 'No jobs match this filter.' : 'No jobs yet.'));
        const from = jobs.length ? this.offset + 1 : 0;
        this.pageInfo.textContent = this.total ? `${from}–${this.offset + jobs.length} of ${this.total}` : '0 jobs';
        this.prevBtn.disabled = this.offset === 0;
        this.nextBtn.disabled = this.offset + jobs.length >= this.total;
        this.showBulk();
        this.highlight();
    }

    makeRow(job) {
        const row = {job};
        row.state = h('td', {}, badge(job.state));
        row.bar = progressBar(jobProgress(job), job.state, `Progress of job ${job.id}`);
        row.frames = h('td', {class: 'col-frames'});
        fillFrames(row.frames, job);
        // Name and input line are cut to the column (two panes side by side): the full text,
        // with the job's id (whose column gives way there), is their tooltip.
        row.name = h('a', {href: this.hashFor(job.id), class: 'job-link', title: `#${job.id} ${job.name ?? ''}`.trim()},
                     String(job.name ?? `Job ${job.id}`));
        row.check = h('input', {type: 'checkbox', class: 'job-check', 'aria-label': `Select job ${job.id}`,
                                checked: this.checked.has(job.id), onchange: () => this.tick(row.job, row.check.checked)});
        row.owner = h('td', {class: 'col-owner muted'});
        row.prio = h('td', {class: 'col-prio num'});
        row.elapsed = h('td', {class: 'col-elapsed num muted'});
        row.eta = h('td', {class: 'col-eta num muted'});
        row.perFrame = h('td', {class: 'col-perframe num muted'});
        row.tr = h('tr', {dataset: {jobId: String(job.id)}, class: 'job-row',
                          onclick: (e) => {
                              if (e.target.closest('a, input, label, .col-check')) return;
                              location.hash = this.hashFor(job.id);
                          }},
                   h('td', {class: 'col-check'}, row.check),
                   h('td', {class: 'col-id muted'}, `#${job.id}`),
                   h('td', {class: 'col-name'}, row.name, row.sub = h('span', {class: 'sub muted', title: inputLine(job)}, inputLine(job))),
                   row.state,
                   h('td', {class: 'col-progress'}, row.bar),
                   row.frames, row.owner, row.prio, row.elapsed, row.eta, row.perFrame,
                   h('td', {class: 'col-time muted'}, relTime(job.created_at)));
        this.rows.set(job.id, row);
        this.fillColumns(row, job);
        if (this.checked.has(job.id)) this.checked.set(job.id, job);
        return row.tr;
    }

    fillColumns(row, job) {
        const t = jobTiming(job);
        row.owner.textContent = job.owner || '–';
        row.prio.textContent = String(job.priority ?? '–');
        row.elapsed.textContent = t.elapsed === null ? '–' : seconds(t.elapsed);
        row.eta.textContent = t.eta === null ? '–' : seconds(t.eta);
        row.perFrame.textContent = t.perFrame === null ? '–' : seconds(t.perFrame);
    }

    highlight() {
        const sel = this.selectedId();
        for (const [id, row] of this.rows) {
            row.tr.classList.toggle('selected', id === sel);
            if (id === sel) row.name.setAttribute('aria-current', 'true');
            else row.name.removeAttribute('aria-current');
        }
    }

    updateRow(job) {
        const row = this.rows.get(job.id);
        if (!row) return false;
        const stateChanged = row.job.state !== job.state;
        row.job = job;
        if (stateChanged) setChildren(row.state, badge(job.state));
        setProgress(row.bar, jobProgress(job), job.state);
        fillFrames(row.frames, job);
        this.fillColumns(row, job);
        if (this.checked.has(job.id)) this.checked.set(job.id, job);
        row.name.textContent = String(job.name ?? `Job ${job.id}`);
        row.name.title = `#${job.id} ${job.name ?? ''}`.trim();
        row.sub.textContent = inputLine(job);
        row.sub.title = row.sub.textContent;
        return stateChanged;
    }

    /** Live events from the server. */
    onEvent(type, data) {
        if (type === 'job.created') {
            this.refreshSoon(); // The server knows where it lands under this filter and sort.
        } else if (type === 'job.updated') {
            this.lastJobEvent.set(data.id, Date.now());
            this.newerThanPage.set(data.id, {seq: ++this.eventSeq, job: data});
            const changed = this.updateRow(data);
            // A row that left the filter, or a job that entered it, needs the server's page.
            if (changed && this.filter.size) this.refreshSoon();
            else if (!this.rows.has(data.id) && this.filter.has(data.state)) this.refreshSoon();
        } else if (type === 'job.deleted') {
            this.newerThanPage.delete(data.id);
            if (this.rows.has(data.id)) this.refreshSoon();
        } else if (type === 'task.updated' || type === 'task.preview') {
            this.refreshJobFromTask(type === 'task.updated' ? data.job_id : data.job);
        }
    }

    /** Servers may announce task changes without a job.updated; keep the row's progress honest. */
    refreshJobFromTask(jobId) {
        if (!this.rows.has(jobId)) return;
        if (Date.now() - (this.lastJobEvent.get(jobId) || 0) < 1500) return;
        if (!this.jobRefresh.has(jobId)) {
            this.jobRefresh.set(jobId, throttle(async () => {
                if (Date.now() - (this.lastJobEvent.get(jobId) || 0) < 1500) return;
                try {
                    const asked = Date.now();
                    const job = await api.job(jobId);
                    // A job.updated that came while this was on its way is newer than the reply:
                    // applying the reply would put the row back (e.g. active after completed).
                    if ((this.lastJobEvent.get(jobId) || 0) >= asked) return;
                    this.updateRow(job);
                } catch {
                    this.jobRefresh.delete(jobId); // Deleted meanwhile; job.deleted handles the row.
                }
            }, 1000));
        }
        this.jobRefresh.get(jobId)();
    }
}
