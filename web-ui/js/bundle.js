// Input bundles (docs/JOBTYPES.md "Input bundles"): the files of one job with their relative
// paths, gathered from a drop (files, or a folder walked with webkitGetAsEntry), from the file
// or folder picker, or one .zip sent whole as an archive (its listing read here only to offer
// the main file and pick the job type).

import {extensionOf} from './jobtypes.js';

/** Files a desktop leaves in folders that no job wants. */
const JUNK = /(^|\/)(\.DS_Store|Thumbs\.db|desktop\.ini)$|(^|\/)__MACOSX\//i;
// The path rules the server applies (docs/JOBTYPES.md), checked here so a bad name is named
// before anything is hashed or uploaded.
const BAD_SEGMENT = /[\\:\u0000-\u001f\u007f]/;

/** Why the server would refuse this relative path, or '' when it is fine. */
export function pathProblem(path) {
    if (!path) return 'an empty path';
    for (const seg of path.split('/')) {
        if (!seg || seg === '.' || seg === '..') return `${path}: empty, "." or ".." folder names are not allowed`;
        if (BAD_SEGMENT.test(seg)) return `${path}: names may not hold \\, : or control characters`;
    }
    return '';
}

const fileOf = (entry) => new Promise((resolve, reject) => entry.file(resolve, reject));

/** Every child of a directory entry: readEntries answers in batches until an empty one. */
function childrenOf(dirEntry) {
    const reader = dirEntry.createReader();
    const all = [];
    return new Promise((resolve, reject) => {
        const next = () => reader.readEntries((batch) => {
            if (!batch.length) return resolve(all);
            all.push(...batch);
            next();
        }, reject);
        next();
    });
}

async function walk(entry, prefix, out) {
    if (entry.isFile) {
        out.push({path: prefix + entry.name, file: await fileOf(entry)});
    } else if (entry.isDirectory) {
        for (const child of await childrenOf(entry)) await walk(child, `${prefix}${entry.name}/`, out);
    }
}

/** The files of a drop as [{path, file}]. Must be called inside the drop event: the browser
 *  hands out the items only while it runs; reading folders goes on afterwards. A single dropped
 *  folder is the bundle's root (its own name is not part of the paths); several dropped items
 *  keep their names. */
export function filesFromDrop(dataTransfer) {
    const items = Array.from(dataTransfer.items || []).filter((i) => i.kind === 'file');
    const roots = items.length
        ? items.map((i) => ({entry: typeof i.webkitGetAsEntry === 'function' ? i.webkitGetAsEntry() : null,
                              file: i.getAsFile()}))
        : Array.from(dataTransfer.files || []).map((file) => ({entry: null, file}));
    return (async () => {
        const out = [];
        const oneFolder = roots.length === 1 && roots[0].entry && roots[0].entry.isDirectory;
        for (const {entry, file} of roots) {
            if (entry && entry.isDirectory) {
                const base = oneFolder ? '' : `${entry.name}/`;
                for (const child of await childrenOf(entry)) await walk(child, base, out);
            } else if (file) {
                out.push({path: file.name, file});
            } else if (entry && entry.isFile) {
                out.push({path: entry.name, file: await fileOf(entry)});
            }
        }
        return out;
    })();
}

/** The files of the file or folder picker. A folder pick names each file under the folder
 *  (webkitRelativePath "Folder/sub/a.png"); the folder itself is the root. */
export function filesFromPicker(fileList) {
    return Array.from(fileList || []).map((file) => {
        const rel = file.webkitRelativePath || '';
        return {path: rel.includes('/') ? rel.slice(rel.indexOf('/') + 1) : file.name, file};
    });
}

/** Names and sizes of a .zip's entries from its central directory (ZIP64 too), or null when
 *  it cannot be read; the server unpacks and checks the archive itself. */
export async function listZip(file) {
    try {
        const tailLen = Math.min(file.size, 0xffff + 22);
        const tail = new DataView(await file.slice(file.size - tailLen).arrayBuffer());
        let eocd = -1;
        for (let i = tailLen - 22; i >= 0; i--) {
            if (tail.getUint32(i, true) === 0x06054b50) {
                eocd = i;
                break;
            }
        }
        if (eocd < 0) return null;
        let count = tail.getUint16(eocd + 10, true);
        let cdSize = tail.getUint32(eocd + 12, true);
        let cdOffset = tail.getUint32(eocd + 16, true);
        if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
            const loc = eocd - 20; // ZIP64 end of central directory locator
            if (loc < 0 || tail.getUint32(loc, true) !== 0x07064b50) return null;
            const at = Number(tail.getBigUint64(loc + 8, true));
            const z = new DataView(await file.slice(at, at + 56).arrayBuffer());
            if (z.byteLength < 56 || z.getUint32(0, true) !== 0x06064b50) return null;
            count = Number(z.getBigUint64(32, true));
            cdSize = Number(z.getBigUint64(40, true));
            cdOffset = Number(z.getBigUint64(48, true));
        }
        if (cdOffset + cdSize > file.size) return null;
        const cd = new DataView(await file.slice(cdOffset, cdOffset + cdSize).arrayBuffer());
        const utf8 = new TextDecoder();
        const entries = [];
        let p = 0;
        for (let i = 0; i < count; i++) {
            if (p + 46 > cd.byteLength || cd.getUint32(p, true) !== 0x02014b50) return null;
            const size = cd.getUint32(p + 24, true);
            const nameLen = cd.getUint16(p + 28, true);
            const skip = cd.getUint16(p + 30, true) + cd.getUint16(p + 32, true);
            const path = utf8.decode(new Uint8Array(cd.buffer, cd.byteOffset + p + 46, nameLen));
            if (!path.endsWith('/') && !JUNK.test(path)) entries.push({path, size: size === 0xffffffff ? NaN : size});
            p += 46 + nameLen + skip;
        }
        return entries;
    } catch {
        return null;
    }
}

/** One job's input: loose files with relative paths, or a single .zip archive. */
export class Bundle {
    /** entries: [{path, file}] from filesFromDrop / filesFromPicker. */
    constructor(entries) {
        const kept = (entries || []).filter((e) => e && e.file && !JUNK.test(e.path));
        this.archive = kept.length === 1 && extensionOf(kept[0].path) === 'zip' ? kept[0].file : null;
        this.archiveEntries = null; // filled by readArchive()
        this.files = this.archive ? [] : kept.sort((a, b) => a.path.localeCompare(b.path));
        this.problems = [];
        const seen = new Set();
        for (const {path} of this.files) {
            const why = pathProblem(path);
            if (why) this.problems.push(why);
            if (seen.has(path)) this.problems.push(`${path} is there twice`);
            seen.add(path);
        }
    }

    get empty() {
        return !this.archive && !this.files.length;
    }

    /** Reads the archive's listing (once); the dialog shows it and offers its main files. */
    async readArchive() {
        if (this.archive && !this.archiveEntries) this.archiveEntries = (await listZip(this.archive)) || [];
        return this.archiveEntries;
    }

    /** Paths shown in the form: the loose files, or the archive's entries. */
    get listed() {
        if (this.archive) return (this.archiveEntries || []).map((e) => ({path: e.path, size: e.size}));
        return this.files.map((e) => ({path: e.path, size: e.file.size}));
    }

    /** Bytes that go up (each distinct file once is decided after hashing; this is the upper bound). */
    get size() {
        return this.archive ? this.archive.size : this.files.reduce((n, e) => n + e.file.size, 0);
    }

    /** A name for the job when the user gives none: the main file's, without folders or extension. */
    static jobName(main, fallback) {
        const base = String(main || fallback || '').split('/').pop();
        return base.replace(/\.[^.]+$/, '') || base;
    }
}
