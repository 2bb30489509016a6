// Hashing and resumable chunked upload of one file (POST /uploads → PUT chunks → complete).
// Each chunk carries its SHA-256 (docs/API.md), hashed with sha256.js: crypto.subtle is missing
// on plain-http LAN addresses. Progress callbacks get {phase: 'hash'|'upload'|'complete', done,
// total} in bytes.

import {api, ApiError, authHeaders, request, underBase} from './api.js';
import {Sha256} from './sha256.js';

/** crypto.subtle reads the whole file into memory at once: only below this size. */
export const SUBTLE_LIMIT = 1024 * 1024 * 1024;
const SLICE = 4 * 1024 * 1024;
const MAX_TRIES = 5;
const RESUME_KEY = 'farmhand.uploads.v1';
// Upload limits (429/507): waiting a few seconds frees nothing, so they are not retried.
const FINAL_CODES = new Set(['too_many_uploads', 'insufficient_storage']);

const hashCache = new WeakMap(); // File → hex, so a resubmit after an error does not rehash.

/** SHA-256 of a File as lowercase hex. Native digest when allowed, sliced JS otherwise. */
export async function hashFile(file, onProgress = () => {}, signal) {
    if (hashCache.has(file)) return hashCache.get(file);
    let hex;
    if (globalThis.crypto && crypto.subtle && file.size <= SUBTLE_LIMIT) {
        onProgress({phase: 'hash', done: 0, total: file.size});
        const digest = await crypto.subtle.digest('SHA-256', await file.arrayBuffer());
        hex = Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
    } else {
        const sha = new Sha256();
        for (let off = 0; off < file.size; off += SLICE) {
            if (signal && signal.aborted) throw new DOMException('Upload canceled', 'AbortError');
            sha.update(new Uint8Array(await file.slice(off, off + SLICE).arrayBuffer()));
            onProgress({phase: 'hash', done: Math.min(file.size, off + SLICE), total: file.size});
        }
        hex = sha.hex();
    }
    onProgress({phase: 'hash', done: file.size, total: file.size});
    hashCache.set(file, hex);
    return hex;
}

function loadResume() {
    try {
        return JSON.parse(localStorage.getItem(RESUME_KEY)) || {};
    } catch {
        return {};
    }
}

function saveResume(sha, id) {
    const all = loadResume();
    if (id) all[sha] = id;
    else delete all[sha];
    try {
        localStorage.setItem(RESUME_KEY, JSON.stringify(all));
    } catch {
        // Private mode or full storage: resuming across reloads is a nicety only.
    }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** PUT one chunk (bytes: Uint8Array) with XHR, because fetch cannot report upload progress. */
function putChunk(session, index, bytes, onBytes, signal) {
    const id = session.id;
    const sha = new Sha256().update(bytes).hex();
    return new Promise((resolve, reject) => {
        const xhr = new XMLHttpRequest();
        xhr.open('PUT', underBase(`/api/v1/uploads/${encodeURIComponent(id)}/chunks/${index}`));
        xhr.setRequestHeader('Content-Type', 'application/octet-stream');
        // The header's name is the server's (every upload object carries it).
        xhr.setRequestHeader(session.chunk_checksum_header, sha);
        for (const [k, v] of Object.entries(authHeaders())) xhr.setRequestHeader(k, v);
        xhr.upload.onprogress = (e) => onBytes(e.loaded);
        xhr.onload = () => {
            let body = null;
            try {
                body = JSON.parse(xhr.responseText);
            } catch {
                body = null;
            }
            if (xhr.status >= 200 && xhr.status < 300) return resolve(body || {});
            const err = body && body.error ? body.error : {};
            reject(new ApiError(xhr.status, err.code || `http_${xhr.status}`, err.message || `Chunk ${index} failed (${xhr.status})`));
        };
        xhr.onerror = () => reject(new ApiError(0, 'network', 'Network error while uploading'));
        xhr.onabort = () => reject(new DOMException('Upload canceled', 'AbortError'));
        if (signal) signal.addEventListener('abort', () => xhr.abort(), {once: true});
        xhr.send(bytes);
    });
}

async function withRetry(fn, signal) {
    for (let attempt = 1; ; attempt++) {
        try {
            return await fn();
        } catch (e) {
            // chunk_checksum: the chunk was damaged on the way; sent again it goes through.
            const retry = e instanceof ApiError &&
                (e.code === 'chunk_checksum' || (e.retryable && !FINAL_CODES.has(e.code)));
            if (e.name === 'AbortError' || !retry || attempt >= MAX_TRIES) throw e;
            await sleep(500 * 2 ** (attempt - 1));
            if (signal && signal.aborted) throw new DOMException('Upload canceled', 'AbortError');
        }
    }
}

async function openSession(file, sha) {
    const saved = loadResume()[sha];
    if (saved) {
        try {
            const status = await api.upload(saved);
            if (status && status.size === file.size) return status;
        } catch {
            // Expired or unknown session: start a fresh one below.
        }
    }
    return withRetry(() => api.createUpload(file.name, file.size, sha));
}

/** Uploads file unless the server already has it; answers the file's sha256. */
export async function uploadFile(file, onProgress = () => {}, signal) {
    const sha = await hashFile(file, onProgress, signal);
    const session = await openSession(file, sha);
    if (session.exists) {
        onProgress({phase: 'upload', done: file.size, total: file.size});
        return session.file || sha;
    }
    saveResume(sha, session.id);
    const chunkSize = session.chunk_size;
    const chunks = session.chunks;
    const received = new Set(session.received || []);
    const chunkBytes = (n) => Math.min(chunkSize, file.size - n * chunkSize);
    let doneBytes = 0;
    for (const n of received) doneBytes += chunkBytes(n);
    onProgress({phase: 'upload', done: doneBytes, total: file.size});

    try {
        for (let n = 0; n < chunks; n++) {
            if (received.has(n)) continue;
            const blob = file.slice(n * chunkSize, n * chunkSize + chunkBytes(n));
            const answer = await withRetry(
                async () => putChunk(session, n, new Uint8Array(await blob.arrayBuffer()),
                                     (loaded) => onProgress({phase: 'upload', done: doneBytes + loaded, total: file.size}),
                                     signal),
                signal);
            for (const r of answer.received || [n]) received.add(r);
            doneBytes += chunkBytes(n);
            onProgress({phase: 'upload', done: doneBytes, total: file.size});
        }
    } catch (e) {
        if (e.name === 'AbortError') {
            // Canceled: give the session up so the server frees the bytes it reserved.
            saveResume(sha, null);
            request('DELETE', `/api/v1/uploads/${encodeURIComponent(session.id)}`).catch(() => {});
        }
        throw e;
    }
    onProgress({phase: 'complete', done: file.size, total: file.size});
    try {
        const done = await withRetry(() => api.completeUpload(session.id));
        return done.file || sha;
    } finally {
        saveResume(sha, null); // Finished or rejected (hash_mismatch): never resume this one.
    }
}
