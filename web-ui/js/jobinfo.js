// Reading jobs leniently: a job's input in either wire form (a bundle {main, files} or an
// archive, or the older {file, name}), and its settings as rows labelled by the type's schema
// where the client knows the type, raw key = value rows where it does not.

import {fieldLabel, orderedKeys} from './schemaform.js';

const isObj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

/** {main, files: [{path, file}], archive} from any input form; never throws. */
export function inputOf(input) {
    if (!isObj(input)) return {main: '', files: [], archive: ''};
    const archive = typeof input.archive === 'string' ? input.archive : '';
    if (Array.isArray(input.files)) {
        const files = input.files.filter(isObj).map((f) => ({path: String(f.path ?? f.name ?? ''), file: String(f.file ?? '')}));
        return {main: String(input.main ?? files[0]?.path ?? ''), files, archive};
    }
    if (typeof input.file === 'string') {
        const path = String(input.name || input.file.slice(0, 12));
        return {main: path, files: [{path, file: input.file}], archive};
    }
    return {main: String(input.main ?? ''), files: [], archive};
}

/** The sha256 of the bundle's main file ('' when unknown). */
export function mainFileSha(info) {
    const f = info.files.find((x) => x.path === info.main);
    return f ? f.file : '';
}

/** A value as one line: lists joined, objects and nested lists as JSON. */
export function plainValue(v) {
    if (v === null || v === undefined) return '–';
    if (typeof v === 'boolean') return v ? 'on' : 'off';
    if (Array.isArray(v) && v.every((x) => !isObj(x) && !Array.isArray(x))) return v.join(', ') || '–';
    if (typeof v === 'object') return JSON.stringify(v);
    return String(v);
}

function visible(spec, siblings) {
    if (!isObj(spec.visible_when)) return true;
    return Object.entries(spec.visible_when).every(([k, values]) =>
        Array.isArray(values) && values.some((x) => JSON.stringify(x) === JSON.stringify(siblings[k])));
}

/** A nested object on one line: its enum and text values as they are, others with their label. */
function objectLine(spec, value) {
    const parts = [];
    for (const k of orderedKeys(spec)) {
        if (!(k in value)) continue;
        const child = spec.properties[k];
        if (!visible(child, value)) continue;
        const v = value[k];
        parts.push(Array.isArray(child.enum) || typeof v === 'string' ? plainValue(v) : `${fieldLabel(k, child).toLowerCase()} ${plainValue(v)}`);
    }
    for (const k of Object.keys(value)) if (!isObj(spec.properties[k])) parts.push(`${k} = ${plainValue(value[k])}`);
    return parts.join(' · ') || '–';
}

/** [{key, label, value, known}] for a job's settings: the schema's fields first, in its order
 *  and with its labels (fields hidden by visible_when left out), then every other key raw. */
export function settingRows(settings, schema) {
    if (!isObj(settings)) return [];
    const props = isObj(schema) && isObj(schema.properties) ? schema.properties : {};
    const rows = [];
    for (const k of orderedKeys(schema || {})) {
        if (!(k in settings) || !visible(props[k], settings)) continue;
        const spec = props[k];
        const v = settings[k];
        const value = spec.type === 'object' && isObj(spec.properties) && isObj(v) ? objectLine(spec, v) : plainValue(v);
        rows.push({key: k, label: fieldLabel(k, spec), value, known: true});
    }
    for (const [k, v] of Object.entries(settings)) {
        if (!isObj(props[k])) rows.push({key: k, label: k, value: plainValue(v), known: false});
    }
    return rows;
}
