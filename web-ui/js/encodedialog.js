// "Encode video…" on a finished frame job (docs/JOBTYPES.md, "Video"): the frames the job
// rendered, encoded again with other settings and nothing rendered again. The settings form is
// drawn from the `encode` job type's schema as the server serves it (GET /api/v1/job-types), so
// its fields, limits and defaults are the server's; POST /api/v1/jobs/{id}/encode makes the new
// encode job, whose page then shows the video playing.

import {api} from './api.js';
import {h, setChildren, toast} from './dom.js';
import {loadJobTypes} from './jobtypes.js';
import {SchemaForm} from './schemaform.js';

const ENCODE_TYPE = 'encode';

let dialog = null;

function dialogElement() {
    if (!dialog) {
        dialog = h('dialog', {id: 'encode-dialog', class: 'dialog encode-dialog', 'aria-labelledby': 'encode-title'});
        document.body.append(dialog);
    }
    return dialog;
}

/** The video settings the job itself was encoded with (settings.video), if any: a new encode
 *  starts from them. Keys the encode schema does not hold fall back to its defaults. */
function previousSettings(job) {
    const video = job && job.settings && job.settings.video;
    if (!video || typeof video !== 'object' || !video.enabled) return {};
    const {enabled, ...rest} = video;
    return rest;
}

/** Whether the job page offers "Encode video…": a completed job of a type that renders frames. */
export function canEncode(job, type) {
    return job.state === 'completed' && !!type && type.frames === true && type.name !== ENCODE_TYPE;
}

/** Opens the dialog for `job`; onCreated(newJob) runs once the server made the encode job. */
export async function openEncodeDialog(job, onCreated) {
    const d = dialogElement();
    const close = () => d.open && d.close();
    const head = h('header', {class: 'dialog-head'},
                   h('h2', {id: 'encode-title'}, `Encode job #${job.id} to a video`),
                   h('button', {type: 'button', class: 'btn btn-ghost icon-btn', 'aria-label': 'Close', onclick: close}, '✕'));
    const message = (text, isError) => setChildren(d, h('div', {class: 'submit-form'}, head,
        h('p', {class: isError ? 'form-error' : 'muted loading-line', role: isError ? 'alert' : 'status'}, text)));
    message('Loading the encode settings…', false);
    if (!d.open) d.showModal();
    let type;
    try {
        type = (await loadJobTypes({fresh: true})).byName.get(ENCODE_TYPE);
    } catch (e) {
        message(`Could not load the encode settings: ${e.message}`, true);
        return;
    }
    if (!type) {
        message('This farm serves no encode job type.', true);
        return;
    }
    const form = new SchemaForm(type.schema, previousSettings(job));
    const errorBox = h('div', {class: 'form-error', role: 'alert', hidden: true});
    const submit = h('button', {type: 'submit', class: 'btn btn-primary'}, 'Encode');
    const showError = (text) => {
        errorBox.textContent = text;
        errorBox.hidden = !text;
    };
    form.root.addEventListener('input', () => showError('')); // a changed value may fix what was said
    const onSubmit = async (e) => {
        e.preventDefault();
        const errors = form.errors();
        if (errors.length) {
            showError(errors.map((x) => x.message).join('\n'));
            errors.find((x) => x.control)?.control.focus();
            return;
        }
        showError('');
        submit.disabled = true;
        form.setDisabled(true);
        try {
            const created = await api.encodeJob(job.id, {settings: form.values()});
            close();
            toast(`Encode job #${created.id} made from job #${job.id}'s frames`, 'ok');
            onCreated(created);
        } catch (err) {
            showError(err.message);
            submit.disabled = false;
            form.setDisabled(false);
        }
    };
    setChildren(d, h('form', {class: 'submit-form encode-form', novalidate: true, onsubmit: onSubmit},
        head,
        h('p', {class: 'muted encode-intro'},
          `The frames “${job.name}” rendered become a video in a new job; nothing renders again.`),
        h('div', {class: 'dialog-body'}, form.root),
        errorBox,
        h('footer', {class: 'dialog-foot'}, h('span', {class: 'spacer'}),
          h('button', {type: 'button', class: 'btn btn-ghost', onclick: close}, 'Cancel'),
          submit)));
    d.querySelector('.dialog-body input, .dialog-body select')?.focus();
}
