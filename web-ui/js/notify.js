// Browser notifications when a job completes or fails, once the user allowed them (a button in
// the header asks; browsers allow the question only after a click). The choice to have them is
// kept in localStorage; the permission itself is the browser's.

import {h, readableError, setChildren} from './dom.js';

const KEY = 'farmhand.notify.v1';
const seen = new Map(); // job id → last state this page saw

function wanted() {
    try {
        return localStorage.getItem(KEY) === 'on';
    } catch {
        return false;
    }
}

function setWanted(on) {
    try {
        localStorage.setItem(KEY, on ? 'on' : 'off');
    } catch {
        // Storage disabled: the choice lasts for this page.
    }
}

const supported = () => typeof Notification === 'function';
const enabled = () => supported() && Notification.permission === 'granted' && wanted();

/** The header's bell: asks for permission, then turns notifications on and off. */
export function installNotifyToggle(button) {
    if (!button) return;
    if (!supported()) {
        button.hidden = true;
        return;
    }
    const show = () => {
        const on = enabled();
        button.setAttribute('aria-pressed', String(on));
        button.title = Notification.permission === 'denied'
            ? 'Notifications are blocked for this site in the browser settings'
            : on ? 'Notifications on: a job that completes or fails shows one (click to turn off)'
                 : 'Notify me when a job completes or fails';
        const bell = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
        bell.setAttribute('viewBox', '0 0 16 16');
        bell.setAttribute('width', '16');
        bell.setAttribute('height', '16');
        bell.setAttribute('aria-hidden', 'true');
        const path = document.createElementNS('http://www.w3.org/2000/svg', 'path');
        path.setAttribute('d', on ? 'M8 1.5a4 4 0 0 0-4 4V9L2.5 11.5h11L12 9V5.5a4 4 0 0 0-4-4zM6.5 13a1.5 1.5 0 0 0 3 0z'
                                  : 'M8 1.5a4 4 0 0 0-4 4V9L2.5 11.5h11L12 9V5.5a4 4 0 0 0-4-4zM6.5 13a1.5 1.5 0 0 0 3 0zM2 2l12 12');
        path.setAttribute('fill', on ? 'currentColor' : 'none');
        path.setAttribute('stroke', 'currentColor');
        path.setAttribute('stroke-width', '1.3');
        bell.append(path);
        setChildren(button, bell, h('span', {class: 'sr-only'}, 'Job notifications'));
        button.disabled = Notification.permission === 'denied';
    };
    button.addEventListener('click', async () => {
        if (enabled()) setWanted(false);
        else {
            const answer = Notification.permission === 'granted' ? 'granted' : await Notification.requestPermission();
            setWanted(answer === 'granted');
        }
        show();
    });
    show();
}

/** A job.updated event: a job that this page saw in another state and that is now completed
 *  or failed gets one notification. */
export function desktopNotify(job) {
    const before = seen.get(job.id);
    seen.set(job.id, job.state);
    if (!before || before === job.state || !enabled()) return;
    if (job.state !== 'completed' && job.state !== 'failed') return;
    let n;
    try {
        n = new Notification(`Job #${job.id} ${job.state}`, {
            body: job.state === 'failed' && job.error ? `${job.name}: ${readableError(job.error)}` : String(job.name ?? ''),
            tag: `farmhand-job-${job.id}`,
            icon: 'img/favicon.svg',
        });
    } catch {
        return; // Browsers that show notifications only from a service worker (Android): the toast remains.
    }
    n.onclick = () => {
        window.focus();
        location.hash = `#/jobs/${job.id}`;
    };
    window.dispatchEvent(new CustomEvent('farmhand:notified', {detail: {id: job.id, state: job.state, title: n.title}}));
}
