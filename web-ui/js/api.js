// REST client for the farm-server API (docs/API.md). Same origin, relative URLs only.

const enc = encodeURIComponent;

/** An API failure carrying the server's {"error": {code, message}} or a network problem. */
export class ApiError extends Error {
    constructor(status, code, message) {
        super(message);
        this.name = 'ApiError';
        this.status = status;
        this.code = code;
    }

    /** Network failures and server-side trouble are worth retrying; 4xx answers are not. */
    get retryable() {
        return this.status === 0 || this.status >= 500 || this.status === 408 || this.status === 429;
    }
}

async function errorFrom(response) {
    let code = 'http_' + response.status;
    let message = `${response.status} ${response.statusText || 'error'}`;
    try {
        const body = await response.json();
        if (body && body.error) {
            code = body.error.code || code;
            message = body.error.message || message;
        }
    } catch {
        // Not JSON (a proxy page, an empty body): keep the status line.
    }
    return new ApiError(response.status, code, message);
}

const TOKEN_KEY = 'farmhand.token.v1';

/** The API token for farms that do not trust this browser's address (kept in localStorage). */
export function getToken() {
    try {
        return localStorage.getItem(TOKEN_KEY) || '';
    } catch {
        return '';
    }
}

export function setToken(token) {
    try {
        if (token) localStorage.setItem(TOKEN_KEY, token);
        else localStorage.removeItem(TOKEN_KEY);
    } catch {
        // Storage disabled: the token lasts until the page reloads.
    }
}

/** An API path ('/api/v1/jobs') under the page's own folder ('/farm/api/v1/jobs' when the UI is
 *  served at https://host/farm/ behind a reverse proxy, '/api/v1/jobs' at http://host:8420/). */
export function underBase(path) {
    const url = new URL(path.replace(/^\/+/, ''), document.baseURI);
    return url.pathname + url.search;
}

/** Adds query parameters, plus ?token= where a token is set: <img>, links and WebSockets
 *  cannot carry an Authorization header. */
export function withQuery(url, params = {}) {
    const q = queryString({...params, token: getToken()});
    url = underBase(url);
    return q ? `${url}${url.includes('?') ? '&' : '?'}${q}` : url;
}

/** Percent-encoded query. Not URLSearchParams: Qt reads '+' as a plus rather than a space.
 *  Commas stay literal because list values such as state=queued,active split on them. */
function queryString(params) {
    return Object.entries(params)
        .filter(([, v]) => v !== undefined && v !== null && v !== '')
        .map(([k, v]) => `${enc(k)}=${enc(String(v)).replace(/%2C/gi, ',')}`)
        .join('&');
}

export function authHeaders() {
    const token = getToken();
    return token ? {Authorization: `Bearer ${token}`} : {};
}

/** Sends one request; answers parsed JSON, text for text/plain, or null for 204. */
export async function request(method, path, {json, body, headers = {}, signal} = {}) {
    const init = {method, headers: {...authHeaders(), ...headers}, signal};
    if (json !== undefined) {
        init.headers['Content-Type'] = 'application/json';
        init.body = JSON.stringify(json);
    } else if (body !== undefined) {
        init.body = body;
    }
    let response;
    try {
        response = await fetch(underBase(path), init);
    } catch (e) {
        if (e.name === 'AbortError') throw e;
        throw new ApiError(0, 'network', 'The farm server cannot be reached. Check that it is running.');
    }
    if (!response.ok) {
        const error = await errorFrom(response);
        if (response.status === 401) window.dispatchEvent(new CustomEvent('farmhand:unauthorized', {detail: error}));
        throw error;
    }
    if (response.status === 204) return null;
    const type = response.headers.get('Content-Type') || '';
    if (type.includes('application/json')) return response.json();
    return response.text();
}

export const api = {
    status: () => request('GET', '/api/v1/status'),

    /** params: {state: [..], q, limit, offset, sort, order} */
    jobs(params = {}) {
        const {state, ...rest} = params;
        return request('GET', `/api/v1/jobs?${queryString({state: (state || []).join(','), ...rest})}`);
    },
    job: (id) => request('GET', `/api/v1/jobs/${enc(id)}`),
    submitJob: (spec) => request('POST', '/api/v1/jobs', {json: spec}),
    cancelJob: (id) => request('POST', `/api/v1/jobs/${enc(id)}/cancel`),
    pauseJob: (id) => request('POST', `/api/v1/jobs/${enc(id)}/pause`),
    resumeJob: (id) => request('POST', `/api/v1/jobs/${enc(id)}/resume`),
    retryJob: (id) => request('POST', `/api/v1/jobs/${enc(id)}/retry`),
    rerunJob: (id) => request('POST', `/api/v1/jobs/${enc(id)}/rerun`, {json: {}}),
    setPriority: (id, priority) => request('POST', `/api/v1/jobs/${enc(id)}/priority`, {json: {priority}}),
    deleteJob: (id) => request('DELETE', `/api/v1/jobs/${enc(id)}`),
    /** body: {settings, name, priority} (all optional); answers the new encode job. */
    encodeJob: (id, body = {}) => request('POST', `/api/v1/jobs/${enc(id)}/encode`, {json: body}),
    tasks: (jobId) => request('GET', `/api/v1/jobs/${enc(jobId)}/tasks`),
    outputs: (jobId) => request('GET', `/api/v1/jobs/${enc(jobId)}/outputs`),
    taskLog: (taskId, tail) => request('GET', `/api/v1/tasks/${enc(taskId)}/log${tail ? `?tail=${tail}` : ''}`),
    requeueTask: (taskId) => request('POST', `/api/v1/tasks/${enc(taskId)}/requeue`),
    explain: (jobId) => request('GET', `/api/v1/jobs/${enc(jobId)}/explain`),
    nodes: () => request('GET', '/api/v1/nodes'),
    /** action: 'drain' | 'enable' | 'disable'; answers the node. */
    nodeAction: (id, action) => request('POST', `/api/v1/nodes/${enc(id)}/${enc(action)}`),
    nodeTasks: (id, limit = 50) => request('GET', `/api/v1/nodes/${enc(id)}/tasks?limit=${enc(limit)}`),
    farmHistory: (window) => request('GET', `/api/v1/farm/history?window=${enc(window)}`),
    metrics: () => request('GET', '/metrics'),
    jobTypes: () => request('GET', '/api/v1/job-types'),

    createUpload: (name, size, sha256) => request('POST', '/api/v1/uploads', {json: {name, size, sha256}}),
    upload: (id) => request('GET', `/api/v1/uploads/${enc(id)}`),
    completeUpload: (id) => request('POST', `/api/v1/uploads/${enc(id)}/complete`),
};

/** URL of a job output; `version` busts the browser cache when a frame is rendered again. */
export function outputUrl(jobId, name, version) {
    return withQuery(`/api/v1/jobs/${enc(jobId)}/outputs/${enc(name)}`, {v: version});
}

/** Every output of a job as one zip. */
export function archiveUrl(jobId) {
    return withQuery(`/api/v1/jobs/${enc(jobId)}/archive`);
}

export function fileUrl(sha256) {
    return withQuery(`/api/v1/files/${enc(sha256)}`);
}
