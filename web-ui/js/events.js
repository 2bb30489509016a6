// Live event stream from /ws/events with automatic reconnect (exponential backoff + jitter).
// Emits 'state' (detail: {state, retryIn}) and 'event' (detail: {type, data}).

const MIN_DELAY_MS = 1000;
const MAX_DELAY_MS = 30000;

import {withQuery} from './api.js';

export class EventStream extends EventTarget {
    constructor(url = null) {
        super();
        this.url = url;
        this.state = 'idle';
        this.socket = null;
        this.attempt = 0;
        this.retryTimer = null;
    }

    static defaultUrl() {
        // Beside the page, so that a proxy's base path (/farm/ws/events) is kept.
        const url = new URL(withQuery('/ws/events'), document.baseURI);
        url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
        return url.href;
    }

    connect() {
        clearTimeout(this.retryTimer);
        this.setState('connecting');
        let socket;
        try {
            socket = new WebSocket(this.url || EventStream.defaultUrl());
        } catch {
            this.scheduleReconnect();
            return;
        }
        this.socket = socket;
        socket.addEventListener('open', () => {
            this.attempt = 0;
            this.setState('open');
        });
        socket.addEventListener('message', (e) => this.handleMessage(e.data));
        // 'close' always follows 'error', so reconnecting there alone is enough.
        socket.addEventListener('close', () => {
            if (this.socket !== socket) return;
            this.socket = null;
            this.scheduleReconnect();
        });
    }

    /** Reconnect now (the user clicked the indicator). */
    retryNow() {
        if (this.state === 'open' || this.state === 'connecting') return;
        this.attempt = 0;
        this.connect();
    }

    handleMessage(text) {
        let msg;
        try {
            msg = JSON.parse(text);
        } catch {
            return; // A frame we cannot read is not worth breaking the dashboard for.
        }
        if (!msg || typeof msg.type !== 'string') return;
        this.dispatchEvent(new CustomEvent('event', {detail: {type: msg.type, data: msg.data || {}}}));
    }

    scheduleReconnect() {
        const base = Math.min(MAX_DELAY_MS, MIN_DELAY_MS * 2 ** this.attempt);
        const delay = Math.round(base * (0.75 + Math.random() * 0.5));
        this.attempt++;
        this.setState('closed', delay);
        this.retryTimer = setTimeout(() => this.connect(), delay);
    }

    setState(state, retryIn = 0) {
        this.state = state;
        this.dispatchEvent(new CustomEvent('state', {detail: {state, retryIn}}));
    }
}
