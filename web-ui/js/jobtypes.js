// The farm's job types (GET /api/v1/job-types, docs/JOBTYPES.md): names, labels, the main-file
// extensions each takes and those of the side files beside it, whether frames apply and the
// settings schema. The server is the one source of truth; this module only fetches, caches and
// looks them up.

import {api} from './api.js';

let pending = null;
let loaded = null; // {list: [...], byName: Map} once the server answered

/** Answers {list, byName}, fetched once per page load; `fresh` asks the server again (the
 *  submit form does, so types an admin added since show up), keeping the last good list when
 *  that fails. A failure is not cached: the next caller asks again. */
export function loadJobTypes({fresh = false} = {}) {
    if (loaded && !fresh) return Promise.resolve(loaded);
    if (!pending) {
        pending = api.jobTypes().then((answer) => {
            const list = (answer && Array.isArray(answer.job_types) ? answer.job_types : [])
                .filter((t) => t && typeof t.name === 'string');
            loaded = {list, byName: new Map(list.map((t) => [t.name, t]))};
            return loaded;
        }, (e) => {
            if (loaded) return loaded;
            throw e;
        }).finally(() => {
            pending = null;
        });
    }
    return pending;
}

/** The types known so far (empty until loadJobTypes() answered), for views that draw at once. */
export function knownJobType(name) {
    return loaded ? loaded.byName.get(name) || null : null;
}

/** A type's display label, or its raw name when the client does not know it. */
export function jobTypeLabel(name) {
    const t = knownJobType(name);
    return t && t.label ? t.label : String(name ?? '–');
}

/** Lower-case extension of a path without the dot ('' when none). */
export function extensionOf(path) {
    const base = String(path).split('/').pop();
    const dot = base.lastIndexOf('.');
    return dot > 0 ? base.slice(dot + 1).toLowerCase() : '';
}

/** Types that take a main file with this path's extension, in the server's order. */
export function typesForPath(types, path) {
    const ext = extensionOf(path);
    return ext ? types.filter((t) => Array.isArray(t.extensions) && t.extensions.includes(ext)) : [];
}

/** Whether a bundle of `type` may carry this path beside its main file (the type's
 *  side_extensions; "*" takes any file). A server that does not serve the list takes any. */
export function takesSideFile(type, path) {
    const side = type && type.side_extensions;
    if (!Array.isArray(side) || side.includes('*')) return true;
    const ext = extensionOf(path);
    return ext !== '' && side.includes(ext);
}

/** Whether any type takes this path as its main file. */
export function isMainCandidate(types, path) {
    return typesForPath(types, path).length > 0;
}
