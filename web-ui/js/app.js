// Entry point: wires views, routing (#/jobs, #/jobs/<id>, #/nodes) and the live event stream.

import {filesFromPicker} from './bundle.js';
import {readableError, refreshRelativeTimes, splitHash, toast} from './dom.js';
import {EventStream} from './events.js';
import {JobDetail} from './jobdetail.js';
import {loadJobTypes} from './jobtypes.js';
import {JobsView} from './jobs.js';
import {FarmView} from './farm.js';
import {NodesView} from './nodes.js';
import {ConnectionIndicator, FarmStatus} from './status.js';
import {installDropZone, SubmitDialog} from './submit.js';
import {installTokenPrompt} from './token.js';
import {desktopNotify, installNotifyToggle} from './notify.js';

const $ = (id) => document.getElementById(id);

installTokenPrompt($('token-dialog')); // before anything can answer 401
const state = {selected: null};
const detail = new JobDetail($('detail-pane'), $('lightbox'));
const jobs = new JobsView($('jobs-pane'), {selectedId: () => state.selected});
const nodes = new NodesView($('view-nodes'));
const farmView = new FarmView($('view-farm'));
const farm = new FarmStatus($('farm-status'));
const stream = new EventStream();
new ConnectionIndicator($('conn'), stream);
installNotifyToggle($('notify-toggle'));

const submit = new SubmitDialog($('submit-dialog'), (job) => {
    location.hash = jobs.hashFor(job.id);
    jobs.refreshSoon();
}, () => stream.state !== 'open');
installDropZone($('drop-overlay'), (gathering) => submit.open(gathering));
$('submit-open').addEventListener('click', () => submit.open(null));
for (const picker of [$('file-picker'), $('folder-picker')]) {
    picker.addEventListener('change', (e) => {
        const entries = filesFromPicker(e.target.files);
        e.target.value = ''; // Picking the same files again must fire 'change' again.
        if (entries.length) submit.open(entries);
    });
}

function route() {
    const {path, query} = splitHash();
    const onNodes = path.startsWith('#/nodes');
    const onFarm = path.startsWith('#/farm');
    $('view-jobs').hidden = onNodes || onFarm;
    $('view-nodes').hidden = !onNodes;
    $('view-farm').hidden = !onFarm;
    for (const tab of ['tab-jobs', 'tab-nodes', 'tab-farm']) $(tab).removeAttribute('aria-current');
    if (onFarm) {
        $('tab-farm').setAttribute('aria-current', 'page');
        farmView.load();
        return;
    }
    if (onNodes) {
        $('tab-nodes').setAttribute('aria-current', 'page');
        const n = path.match(/^#\/nodes\/(\d+)$/);
        nodes.show(n ? Number(n[1]) : null);
        return;
    }
    $('tab-jobs').setAttribute('aria-current', 'page');
    jobs.applyQuery(query);
    const m = path.match(/^#\/jobs\/(\d+)$/);
    state.selected = m ? Number(m[1]) : null;
    $('view-jobs').classList.toggle('has-selection', state.selected !== null);
    if (state.selected === null) detail.showPlaceholder();
    else detail.open(state.selected);
    jobs.highlight();
}
window.addEventListener('hashchange', route);

// Final-state notifications for jobs this page saw change.
const lastState = new Map();
function notify(job) {
    const before = lastState.get(job.id);
    lastState.set(job.id, job.state);
    if (!before || before === job.state) return;
    if (job.state === 'completed') toast(`Job #${job.id} “${job.name}” completed`, 'ok');
    else if (job.state === 'failed') toast(`Job #${job.id} “${job.name}” failed${job.error ? `: ${readableError(job.error)}` : ''}`, 'error', 8000);
}

stream.addEventListener('event', (e) => {
    const {type, data} = e.detail;
    if (type === 'job.created' || type === 'job.updated') {
        if (type === 'job.created') lastState.set(data.id, data.state);
        else notify(data);
    }
    if (type === 'job.updated') desktopNotify(data);
    jobs.onEvent(type, data);
    detail.onEvent(type, data);
    nodes.onEvent(type, data);
    if (type.startsWith('job.') || type === 'node.updated') farm.refreshSoon();
    if (type === 'task.updated' && (data.state === 'done' || data.state === 'running')) farmView.reloadSoon();
});

// Offline: what is on screen may be stale, so it is greyed and its actions are disabled
// (css/app.css, body.offline) until the stream is back and the views reloaded.
stream.addEventListener('state', (e) => {
    document.body.classList.toggle('offline', e.detail.state === 'closed');
    $('main').inert = e.detail.state === 'closed';
    document.body.dataset.conn = e.detail.state;
});

// Every (re)connect may follow missed events: reload what is on screen.
let everOpen = false;
stream.addEventListener('state', (e) => {
    if (e.detail.state !== 'open') return;
    if (everOpen) {
        jobs.load();
        detail.reload();
        if (!$('view-nodes').hidden || !$('view-farm').hidden) route();
    }
    everOpen = true;
    farm.load();
});

// Type labels for the list and the detail; both still draw (raw type names) if the server
// cannot list its types. The submit form asks again when it opens.
// The file picker offers the main files the farm's job types take (and .zip bundles); a model
// with side files (.bin, textures, .mtl) goes as a folder or a drop.
function pickerAccepts(types) {
    if (!types) return;
    const exts = [...new Set(types.list.flatMap((t) => t.extensions || []))];
    $('file-picker').accept = [...exts, 'zip'].map((x) => `.${x}`).join(',');
}
await Promise.race([loadJobTypes().then(pickerAccepts).catch(() => null), new Promise((resolve) => setTimeout(resolve, 3000))]);
route();
jobs.load();
farm.load();
stream.connect();
setInterval(() => refreshRelativeTimes(), 30000);
setInterval(() => farm.load(), 30000); // uptime and counts even on a quiet farm
