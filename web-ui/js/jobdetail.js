// Job detail panel: settings summary, live tasks table, task log viewer, cancel/delete, gallery.

import {api, archiveUrl, fileUrl} from './api.js';
import {
    badge, confirmButton, finalJobStates, formatDuration, formatTime, frameCount, h, jobProgress, progressBar, readableError, relTime,
    setChildren, setProgress, taskRuns, throttle, toast,
} from './dom.js';
import {canEncode, openEncodeDialog} from './encodedialog.js';
import {Gallery} from './gallery.js';
import {inputOf, mainFileSha, settingRows} from './jobinfo.js';
import {jobTypeLabel, knownJobType, loadJobTypes} from './jobtypes.js';
import {LivePreview} from './livepreview.js';

const LOG_TAIL_BYTES = 256 * 1024;

export class JobDetail {
    constructor(root, lightbox) {
        this.root = root;
        this.gallery = new Gallery(lightbox);
        this.live = new LivePreview();
        this.jobId = null;
        this.job = null;
        this.taskRows = new Map(); // task id → {tr, task, ...cells}
        this.logTaskId = null;
        this.reloadLog = throttle(() => this.loadLog(), 1500);
        this.reloadExplain = throttle(() => this.loadExplain(), 1500);
        this.followTimer = null;
        this.showPlaceholder();
    }

    showPlaceholder() {
        this.stopFollowing();
        this.jobId = null;
        this.job = null;
        setChildren(this.root, h('div', {class: 'panel placeholder'},
                                 h('p', {}, 'Select a job to see its tasks, logs and frames.')));
    }

    async open(id) {
        if (this.jobId === id && this.job) return;
        this.stopFollowing();
        this.jobId = id;
        this.job = null;
        this.logTaskId = null;
        this.early = []; // events that arrive while the job loads: a quick job's frames land meanwhile
        setChildren(this.root, h('div', {class: 'panel placeholder'}, h('p', {class: 'muted'}, `Loading job #${id}…`)));
        try {
            const [job, tasks, outputs] = await Promise.all([api.job(id), api.tasks(id), api.outputs(id)]);
            if (this.jobId !== id) return;
            this.build(job, tasks.tasks || [], outputs.outputs || []);
            const early = this.early;
            this.early = [];
            for (const [type, data] of early) this.replay(type, data);
        } catch (e) {
            if (this.jobId !== id) return;
            this.early = null;
            setChildren(this.root, h('div', {class: 'panel placeholder error'},
                                     h('p', {}, `Could not load job #${id}: ${e.message}`)));
        }
    }

    /** After a reconnect: events were missed, so fetch everything again. */
    reload() {
        const id = this.jobId;
        if (id === null) return;
        this.job = null;
        this.open(id);
    }

    build(job, tasks, outputs) {
        this.job = job;
        this.title = h('h2', {class: 'detail-title'}, job.name);
        this.stateCell = h('span', {}, badge(job.state));
        this.bar = progressBar(0, job.state, 'Job progress');
        this.counts = h('p', {class: 'counts muted'});
        this.actions = h('div', {class: 'detail-actions'});
        this.summary = h('dl', {class: 'summary'});
        this.errorLine = h('p', {class: 'job-error', role: 'alert', hidden: true});
        this.explainBox = h('section', {class: 'explain', hidden: true, 'aria-live': 'polite'});
        this.tbody = h('tbody');
        this.logTitle = h('h3', {}, 'Task log');
        this.logBody = h('pre', {class: 'log', tabindex: '0', 'aria-label': 'Task log'}, 'Choose a task’s Log button to read it.');
        this.logRefresh = h('button', {type: 'button', class: 'btn btn-small', disabled: true, onclick: () => this.loadLog()}, 'Refresh');
        this.logLive = h('span', {class: 'log-live', hidden: true}, h('span', {class: 'live-dot', 'aria-hidden': 'true'}), ' following');
        this.gallery.reset(job.id, outputs);
        this.live.reset(job.id);
        setChildren(this.root, h('article', {class: 'panel detail', 'aria-labelledby': 'detail-title'},
            h('header', {class: 'detail-head'},
              h('a', {href: '#/jobs', class: 'btn btn-ghost btn-small back-link'}, '‹ Jobs'),
              h('div', {class: 'detail-heading'},
                h('span', {class: 'muted detail-id'}, `Job #${job.id}`), this.title),
              this.stateCell, this.actions),
            h('div', {class: 'detail-progress'}, this.bar, this.counts),
            this.errorLine,
            this.explainBox,
            this.summary,
            this.renderFiles(job),
            this.live.root,
            this.gallery.root,
            h('section', {class: 'panel-section'},
              h('h3', {}, 'Tasks'),
              h('div', {class: 'table-wrap'},
                h('table', {class: 'table tasks-table'},
                  h('caption', {class: 'sr-only'}, 'Tasks of this job'),
                  h('thead', {}, h('tr', {},
                    ['#', 'Frames', 'State', 'Node', 'Runs', 'Progress', 'Error', 'Actions'].map((t) =>
                        h('th', {scope: 'col', title: t === 'Runs' ? 'How many times the task ran: failed attempts plus the one running or finished' : null}, t)))),
                  this.tbody))),
            h('section', {class: 'panel-section'},
              h('div', {class: 'section-head'}, this.logTitle, this.logLive, h('span', {class: 'spacer'}), this.logRefresh),
              this.logBody)));
        this.title.id = 'detail-title';
        this.taskRows.clear();
        setChildren(this.tbody, tasks.sort((a, b) => a.index - b.index).map((t) => this.makeTaskRow(t)));
        this.updateJob(job);
        this.loadExplain();
    }

    updateJob(job) {
        const prev = this.job;
        this.job = job;
        this.title.textContent = job.name;
        if (!prev || prev.state !== job.state || !this.actions.childElementCount) {
            setChildren(this.stateCell, badge(job.state));
            this.renderActions(job);
            for (const r of this.taskRows.values()) this.fillTaskRow(r, r.task);
        }
        this.showProgress();
        const t = job.tasks || {};
        this.counts.textContent = `${t.done || 0} of ${t.total || 0} tasks done · ${t.running || 0} running · ` +
            `${t.queued || 0} queued · ${t.failed || 0} failed` + (t.canceled ? ` · ${t.canceled} canceled` : '');
        this.errorLine.textContent = readableError(job.error);
        this.errorLine.hidden = !job.error;
        this.renderSummary(job);
        if (!prev || prev.state !== job.state || (job.state === 'queued') !== (prev.state === 'queued')) this.loadExplain();
        else if (job.state === 'queued') this.reloadExplain();
    }

    /** The job's share; a canceled or failed job also counts the frames whose images landed
     *  (a stopped task keeps them), so its bar never drops below what is there to see. */
    showProgress() {
        const job = this.job;
        let p = jobProgress(job);
        const frames = frameCount(job.frames);
        if ((job.state === 'canceled' || job.state === 'failed') && frames) p = Math.max(p, this.gallery.framesLanded() / frames);
        setProgress(this.bar, Math.min(1, p), job.state);
    }

    /** Why a queued job does not run, in the server's words (GET .../explain). */
    async loadExplain() {
        const job = this.job;
        const waiting = job && (job.state === 'queued' || (job.state === 'active' && (job.tasks?.queued || 0) > 0 &&
                                                            !(job.tasks?.running)));
        if (!waiting) {
            this.explainBox.hidden = true;
            return;
        }
        let answer;
        try {
            answer = await api.explain(job.id);
        } catch {
            return;
        }
        if (!this.job || this.job.id !== job.id) return;
        const reasons = (answer.reasons || []).map(readableError);
        this.explainBox.hidden = !reasons.length;
        setChildren(this.explainBox, h('h3', {}, 'Why is this not running?'),
                    h('ul', {class: 'explain-list'}, reasons.map((r) => h('li', {}, r))));
    }

    renderActions(job) {
        const buttons = [];
        // One request each; the answer is the job as it is now (docs/API.md "Job lifecycle").
        const action = (label, call, done) => {
            const btn = h('button', {type: 'button', class: 'btn'}, label);
            btn.addEventListener('click', async () => {
                btn.disabled = true;
                try {
                    this.updateJob(await call());
                    toast(`Job #${job.id} ${done}`, 'info');
                } catch (e) {
                    toast(`${label} failed: ${e.message}`, 'error');
                    btn.disabled = false;
                }
            });
            return btn;
        };
        if (job.state === 'queued' || job.state === 'active')
            buttons.push(action('Pause', () => api.pauseJob(job.id), 'paused'));
        if (job.state === 'paused')
            buttons.push(action('Resume', () => api.resumeJob(job.id), 'resumed'));
        if (job.state === 'failed' || job.state === 'canceled')
            buttons.push(action('Retry', () => api.retryJob(job.id), 'retried'));
        if (finalJobStates.has(job.state))
            buttons.push(action('Re-run', () => api.rerunJob(job.id), 'renders again'));
        if (!finalJobStates.has(job.state)) {
            const priority = h('input', {type: 'number', min: '0', max: '100', step: '1', class: 'priority-input',
                                         value: String(job.priority ?? 50), title: 'Priority (0-100)'});
            priority.addEventListener('change', async () => {
                try {
                    this.updateJob(await api.setPriority(job.id, Number(priority.value)));
                    toast(`Job #${job.id} priority ${priority.value}`, 'info');
                } catch (e) {
                    toast(`Priority failed: ${e.message}`, 'error');
                    priority.value = String(this.job.priority ?? 50);
                }
            });
            buttons.push(h('label', {class: 'priority-label'}, 'Priority ', priority));
        }
        // Its frames to a video again, with other settings, without rendering them again.
        const type = knownJobType(job.type);
        if (canEncode(job, type))
            buttons.push(h('button', {type: 'button', class: 'btn encode-btn',
                                      onclick: () => openEncodeDialog(job, (created) => { location.hash = `#/jobs/${created.id}`; })},
                           'Encode video…'));
        else if (!type && job.state === 'completed')
            loadJobTypes().then(() => knownJobType(job.type) && this.job?.id === job.id && this.renderActions(this.job), () => {});
        if ((job.tasks?.done || 0) > 0)
            buttons.push(h('a', {class: 'btn archive-link', href: archiveUrl(job.id),
                                 download: `job-${job.id}-outputs.zip`}, 'Download all (.zip)'));
        if (!finalJobStates.has(job.state)) {
            buttons.push(confirmButton('Cancel job', 'Really cancel?', async () => {
                try {
                    this.updateJob(await api.cancelJob(job.id));
                    toast(`Job #${job.id} canceled`, 'info');
                } catch (e) {
                    toast(`Cancel failed: ${e.message}`, 'error');
                }
            }, 'btn btn-danger cancel-btn'));
        } else {
            buttons.push(confirmButton('Delete', 'Really delete?', async () => {
                try {
                    this.deletedHere = job.id; // its job.deleted event needs no second toast
                    await api.deleteJob(job.id);
                    toast(`Job #${job.id} deleted`, 'info');
                    location.hash = '#/jobs';
                } catch (e) {
                    toast(`Delete failed: ${e.message}`, 'error');
                }
            }, 'btn btn-danger'));
        }
        setChildren(this.actions, buttons);
    }

    renderSummary(job) {
        const type = knownJobType(job.type);
        const input = inputOf(job.input);
        const mainSha = mainFileSha(input);
        const row = (k, ...v) => h('div', {class: 'kv'}, h('dt', {}, k), h('dd', {}, ...v));
        const others = input.files.length - 1;
        setChildren(this.summary,
            row('Input', mainSha ? h('a', {href: fileUrl(mainSha), download: input.main.split('/').pop()}, input.main)
                                 : (input.main || (input.archive ? 'archive' : '–')),
                mainSha ? h('code', {class: 'muted hash', title: mainSha}, ` ${mainSha.slice(0, 12)}`) : null,
                others > 0 ? h('span', {class: 'muted'}, ` + ${others} file${others === 1 ? '' : 's'}`) : null),
            row('Type', h('span', {title: String(job.type ?? '')}, jobTypeLabel(job.type))),
            // Frames apply to types that say so; a type this client does not know shows what it has.
            (type ? type.frames : job.frames !== undefined && job.frames !== null)
                ? row('Frames', `${job.frames ?? '–'}${job.chunk ? ` · ${job.chunk} per task` : ''}`) : null,
            settingRows(job.settings, type && type.schema).map((r) =>
                h('div', {class: r.known ? 'kv' : 'kv kv-raw', dataset: {setting: r.key}},
                  h('dt', {title: r.key}, r.label), h('dd', {}, r.value))),
            row('Priority', String(job.priority ?? '–')),
            row('Requires', job.requirements?.gpu ? 'GPU' : 'any node',
                ...(Array.isArray(job.requirements?.tags) && job.requirements.tags.length
                    ? [` · tags ${job.requirements.tags.join(', ')}`] : [])),
            row('Submitted', relTime(job.created_at)),
            row('Started', formatTime(job.started_at)),
            row('Finished', formatTime(job.finished_at)),
            row('Run time', formatDuration(job.started_at, job.finished_at)));
    }

    /** The bundle's files with download links (a job of one file has it in the summary). */
    renderFiles(job) {
        const input = inputOf(job.input);
        const section = h('section', {class: 'panel-section bundle-files', hidden: input.files.length < 2});
        if (input.files.length < 2) return section;
        const shown = input.files.slice(0, 500);
        setChildren(section,
            h('h3', {}, 'Files ', h('span', {class: 'muted'}, `(${input.files.length})`)),
            h('ul', {class: 'bundle-list', 'aria-label': 'Files of this job'}, shown.map((f) => {
                const slash = f.path.lastIndexOf('/');
                return h('li', {class: f.path === input.main ? 'is-main' : null, dataset: {path: f.path}},
                         h('a', {href: fileUrl(f.file), download: f.path.slice(slash + 1), title: f.path},
                           slash >= 0 ? h('span', {class: 'muted'}, f.path.slice(0, slash + 1)) : null, f.path.slice(slash + 1)),
                         f.path === input.main ? h('span', {class: 'main-badge'}, 'main') : null,
                         h('code', {class: 'muted hash', title: f.file}, f.file.slice(0, 12)));
            }),
            input.files.length > shown.length ? h('li', {class: 'muted'}, `… and ${input.files.length - shown.length} more`) : null));
        return section;
    }

    makeTaskRow(task) {
        const r = {task};
        r.state = h('td', {}, badge(task.state));
        r.node = h('td', {class: 'muted'});
        r.attempts = h('td', {class: 'num'});
        r.bar = progressBar(task.progress, task.state, `Progress of task ${task.index}`);
        r.error = h('td', {class: 'task-error'});
        r.logBtn = h('button', {type: 'button', class: 'btn btn-small', 'aria-label': `Log of task ${task.index}`,
                                onclick: () => this.showLog(task.id)}, 'Log');
        r.requeueBtn = h('button', {type: 'button', class: 'btn btn-small requeue-btn', 'aria-label': `Re-queue task ${task.index}`,
                                    title: 'Put the task back in the queue (a done task renders again)',
                                    onclick: () => this.requeue(r)}, 'Re-queue');
        r.tr = h('tr', {dataset: {taskId: String(task.id)}},
                 h('td', {class: 'muted num'}, String(task.index)),
                 h('td', {}, task.frames), r.state, r.node, r.attempts, h('td', {class: 'col-progress'}, r.bar), r.error,
                 h('td', {class: 'row-actions'}, r.logBtn, r.requeueBtn));
        this.taskRows.set(task.id, r);
        this.fillTaskRow(r, task);
        return r.tr;
    }

    fillTaskRow(r, task) {
        if (r.task.state !== task.state || !r.state.firstChild) setChildren(r.state, badge(task.state));
        r.task = task;
        r.node.textContent = task.node || (task.node_id ? `#${task.node_id}` : '–');
        r.attempts.textContent = String(taskRuns(task));
        r.attempts.title = `${task.attempts ?? 0} failed attempt${task.attempts === 1 ? '' : 's'}`;
        setProgress(r.bar, task.progress, task.state);
        r.error.textContent = readableError(task.error);
        r.error.title = readableError(task.error);
        const jobState = this.job ? this.job.state : '';
        r.requeueBtn.hidden = task.state === 'queued' || jobState === 'failed' || jobState === 'canceled';
        r.requeueBtn.disabled = false;
        r.tr.classList.toggle('log-open', task.id === this.logTaskId);
    }

    async requeue(r) {
        const task = r.task;
        if (task.state === 'done' && !r.requeueArmed) {
            // A done task renders again and its outputs go: one more click to be sure.
            r.requeueArmed = true;
            r.requeueBtn.textContent = 'Render again?';
            r.requeueBtn.classList.add('btn-armed');
            setTimeout(() => {
                r.requeueArmed = false;
                r.requeueBtn.textContent = 'Re-queue';
                r.requeueBtn.classList.remove('btn-armed');
            }, 4000);
            return;
        }
        r.requeueArmed = false;
        r.requeueBtn.textContent = 'Re-queue';
        r.requeueBtn.classList.remove('btn-armed');
        r.requeueBtn.disabled = true;
        try {
            this.fillTaskRow(r, await api.requeueTask(task.id));
            toast(`Task ${task.index} of job #${task.job_id} is queued again`, 'info');
        } catch (e) {
            toast(`Re-queue failed: ${e.message}`, 'error');
            r.requeueBtn.disabled = false;
        }
    }

    stopFollowing() {
        clearInterval(this.followTimer);
        this.followTimer = null;
        if (this.logLive) this.logLive.hidden = true;
    }

    /** While the task whose log is open runs, its log is read again every 2 s (the server
     *  announces no log lines to dashboards); it stops when the task stops. */
    follow() {
        const r = this.taskRows.get(this.logTaskId);
        const running = r && (r.task.state === 'running' || r.task.state === 'assigned');
        if (!running) {
            this.stopFollowing();
            return;
        }
        this.logLive.hidden = false;
        if (!this.followTimer) this.followTimer = setInterval(() => this.loadLog(), 2000);
    }

    async showLog(taskId) {
        this.logTaskId = taskId;
        for (const r of this.taskRows.values()) r.tr.classList.toggle('log-open', r.task.id === taskId);
        const r = this.taskRows.get(taskId);
        this.logTitle.textContent = r ? `Task log · #${r.task.index} (frames ${r.task.frames})` : 'Task log';
        this.logRefresh.disabled = false;
        this.logBody.textContent = 'Loading…';
        this.stopFollowing();
        await this.loadLog();
        this.follow();
    }

    async loadLog() {
        const id = this.logTaskId;
        if (id === null) return;
        try {
            // Following a running task reads only the log's end, every 2 s (a log keeps up to
            // 8 MiB); a stopped task's log is read whole once.
            const text = await api.taskLog(id, this.followTimer ? LOG_TAIL_BYTES : undefined);
            if (id !== this.logTaskId) return;
            const atBottom = this.logBody.scrollTop + this.logBody.clientHeight >= this.logBody.scrollHeight - 8;
            this.logBody.textContent = (typeof text === 'string' ? text : JSON.stringify(text, null, 2)) || '(empty log)';
            if (atBottom) this.logBody.scrollTop = this.logBody.scrollHeight;
            this.logBody.dataset.loads = String(Number(this.logBody.dataset.loads || '0') + 1);
        } catch (e) {
            if (id === this.logTaskId) this.logBody.textContent = `Could not load the log: ${e.message}`;
        }
    }

    /** An event that came while the job was loading. The answers may already hold what it
     *  says, or newer: a state that is final is never taken back to an earlier one. */
    replay(type, data) {
        if (type === 'task.partial') return; // stale by now; its task may be done, its image gone
        if (type === 'job.updated' && finalJobStates.has(this.job.state) && !finalJobStates.has(data.state)) return;
        if (type === 'task.updated') {
            const r = this.taskRows.get(data.id);
            const final = (state) => ['done', 'failed', 'canceled'].includes(state);
            if (r && final(r.task.state) && !final(data.state)) return;
        }
        this.onEvent(type, data);
    }

    onEvent(type, data) {
        if (this.jobId !== null && !this.job && this.early) {
            this.early.push([type, data]);
            return;
        }
        if (this.jobId === null || !this.job) return;
        if (type === 'node.updated' && this.job.state === 'queued') {
            this.reloadExplain();
        } else if (type === 'job.updated' && data.id === this.jobId) {
            this.updateJob(data);
        } else if (type === 'job.deleted' && data.id === this.jobId) {
            if (this.deletedHere !== data.id) toast(`Job #${data.id} was deleted`, 'info');
            location.hash = '#/jobs';
        } else if (type === 'task.updated' && data.job_id === this.jobId) {
            const r = this.taskRows.get(data.id);
            if (r) this.fillTaskRow(r, data);
            else this.tbody.append(this.makeTaskRow(data));
            if (data.id === this.logTaskId) {
                this.reloadLog();
                this.follow();
            }
            if (data.state !== 'running' && data.state !== 'assigned') this.live.frameDone(data.id);
        } else if (type === 'task.preview' && data.job === this.jobId) {
            this.gallery.add(data);
            this.showProgress();
            this.live.frameDone(data.task, data.frame);
        } else if (type === 'task.partial' && data.job === this.jobId) {
            this.live.show(data);
        }
    }
}
