// Jobs list: state filter, name search, paging, and in-place live updates from /ws/events.

import {api} from './api.js';
import {badge, debounce, h, jobStates, progressBar, relTime, setChildren, setProgress, throttle} from './dom.js';
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
        this.refreshSoon = throttle(() => this.load(), 400);
        this.jobRefresh = new Map(); // job id → throttled refetch for task-only updates
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
                                      this.load();
                                  }, 250)});
        this.tbody = h('tbody');
        this.empty = h('div', {class: 'empty-state', hidden: true});
        this.pageInfo = h('span', {class: 'page-info muted', 'aria-live': 'polite'});
        this.prevBtn = h('button', {type: 'button', class: 'btn btn-small', onclick: () => this.page(-1)}, '‹ Prev');
        this.nextBtn = h('button', {type: 'button', class: 'btn btn-small', onclick: () => this.page(1)}, 'Next ›');
        this.sizeSel = h('select', {'aria-label': 'Jobs per page', class: 'select-small',
                                    onchange: () => {
                                        this.limit = Number(this.sizeSel.value);
                                        this.offset = 0;
                                        this.load();
                                    }},
                         PAGE_SIZES.map((n) => h('option', {value: String(n)}, `${n} / page`)));
        setChildren(this.root,
            h('div', {class: 'toolbar'},
              h('div', {class: 'chips', role: 'group', 'aria-label': 'Filter by state'}, this.allChip, this.chips),
              this.search),
            h('div', {class: 'table-wrap'},
              h('table', {class: 'table jobs-table'},
                h('caption', {class: 'sr-only'}, 'Render jobs'),
                h('thead', {}, h('tr', {},
                  h('th', {scope: 'col', class: 'col-id'}, 'ID'),
                  h('th', {scope: 'col'}, 'Name'),
                  h('th', {scope: 'col'}, 'State'),
                  h('th', {scope: 'col', class: 'col-progress'}, 'Progress'),
                  h('th', {scope: 'col', class: 'col-frames'}, 'Frames'),
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
        this.load();
    }

    page(dir) {
        const next = this.offset + dir * this.limit;
        if (next < 0 || next >= Math.max(this.total, 1)) return;
        this.offset = next;
        this.load();
    }

    async load() {
        const seq = (this.loadSeq = (this.loadSeq || 0) + 1);
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
        this.total = answer.total ?? answer.jobs.length;
        if (this.offset > 0 && this.offset >= this.total) {
            this.offset = Math.max(0, Math.floor((this.total - 1) / this.limit) * this.limit);
            return this.load();
        }
        this.renderRows(answer.jobs || []);
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
        this.highlight();
    }

    makeRow(job) {
        const row = {job};
        row.state = h('td', {}, badge(job.state));
        row.bar = progressBar(job.progress, job.state, `Progress of job ${job.id}`);
        row.frames = h('td', {class: 'col-frames'});
        fillFrames(row.frames, job);
        row.name = h('a', {href: `#/jobs/${job.id}`, class: 'job-link'}, String(job.name ?? `Job ${job.id}`));
        row.tr = h('tr', {dataset: {jobId: String(job.id)}, class: 'job-row',
                          onclick: (e) => {
                              if (e.target.closest('a')) return;
                              location.hash = `#/jobs/${job.id}`;
                          }},
                   h('td', {class: 'col-id muted'}, `#${job.id}`),
                   h('td', {class: 'col-name'}, row.name, row.sub = h('span', {class: 'sub muted'}, inputLine(job))),
                   row.state,
                   h('td', {class: 'col-progress'}, row.bar),
                   row.frames,
                   h('td', {class: 'col-time muted'}, relTime(job.created_at)));
        this.rows.set(job.id, row);
        return row.tr;
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
        setProgress(row.bar, job.progress, job.state);
        fillFrames(row.frames, job);
        row.name.textContent = String(job.name ?? `Job ${job.id}`);
        row.sub.textContent = inputLine(job);
        return stateChanged;
    }

    /** Live events from the server. */
    onEvent(type, data) {
        if (type === 'job.created') {
            this.refreshSoon(); // The server knows where it lands under this filter and sort.
        } else if (type === 'job.updated') {
            this.lastJobEvent.set(data.id, Date.now());
            const changed = this.updateRow(data);
            // A row that left the filter, or a job that entered it, needs the server's page.
            if (changed && this.filter.size) this.refreshSoon();
            else if (!this.rows.has(data.id) && this.filter.has(data.state)) this.refreshSoon();
        } else if (type === 'job.deleted') {
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
