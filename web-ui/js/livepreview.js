// Live partial images of a job's running frames (task.partial events), one card per task,
// replaced by the finished frame in the gallery once it lands (task.preview).

import {withQuery} from './api.js';
import {h, setChildren} from './dom.js';

export class LivePreview {
    constructor() {
        this.jobId = null;
        this.cards = new Map(); // task id → {li, img, caption, frame}
        this.list = h('ul', {class: 'live-previews', 'aria-label': 'Frames rendering now'});
        this.root = h('section', {class: 'panel-section live-section', hidden: true},
                      h('h3', {}, 'Rendering now ', h('span', {class: 'live-dot', 'aria-hidden': 'true'})),
                      this.list);
    }

    /** A job was opened. Its running frames show up with their next partial image (every ~2 s);
     *  no probe for an older one, which would be a 404 for tasks that have none yet. */
    reset(jobId) {
        this.jobId = jobId;
        this.cards.clear();
        setChildren(this.list, []);
        this.update();
    }

    /** A task.partial event: {task, job, frame, samples, spp, width, height, url}. */
    show(p) {
        if (p.job !== this.jobId || !p.url) return;
        let card = this.cards.get(p.task);
        if (!card) {
            card = {img: h('img', {class: 'live-img', alt: `Partial image of task ${p.task}`, decoding: 'async'}),
                    caption: h('figcaption', {class: 'muted'})};
            card.li = h('li', {class: 'live-card', dataset: {task: String(p.task)}},
                        h('figure', {}, card.img, card.caption));
            card.img.addEventListener('load', () => { card.li.classList.add('loaded'); this.update(); });
            // The task ended between the event and the fetch: its frame is in the gallery.
            card.img.addEventListener('error', () => this.drop(p.task));
            this.cards.set(p.task, card);
            this.list.append(card.li);
        }
        card.frame = p.frame;
        card.li.dataset.frame = p.frame === null || p.frame === undefined ? '' : String(p.frame);
        card.li.dataset.samples = p.samples ? String(p.samples) : '';
        card.img.src = withQuery(p.url);
        card.caption.textContent = p.frame === null || p.frame === undefined
            ? 'Partial image'
            : `Frame ${p.frame} · ${p.samples} of ${p.spp} samples`;
        this.update();
    }

    /** The finished image of a frame landed (task.preview), or the task stopped running. */
    frameDone(taskId, frame) {
        const card = this.cards.get(taskId);
        if (card && (frame === undefined || card.frame === frame || card.frame === null)) this.drop(taskId);
    }

    drop(taskId) {
        const card = this.cards.get(taskId);
        if (!card) return;
        card.li.remove();
        this.cards.delete(taskId);
        this.update();
    }

    update() {
        this.root.hidden = ![...this.cards.values()].some((c) => c.li.classList.contains('loaded'));
    }
}
