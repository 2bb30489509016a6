// The API reference page: renders the server's own OpenAPI document (/api/v1/openapi.json),
// the one description of every route and message, with no library of its own.
import {h} from './dom.js';
import {request} from './api.js';

let doc = null;

/** The schema a {$ref: '#/components/schemas/X'} points to, and X. */
function resolve(schema) {
    if (schema && schema.$ref) {
        const name = schema.$ref.split('/').pop();
        return [doc.components.schemas[name] || {}, name];
    }
    return [schema || {}, null];
}

function typeText(schema) {
    const [s, name] = resolve(schema);
    if (name) return h('a', {href: `#schema-${name}`}, name);
    if (s.const !== undefined) return JSON.stringify(s.const);
    if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(' | ');
    if (s.oneOf) return h('span', {}, ...s.oneOf.flatMap((x, i) => (i ? [' or ', typeText(x)] : [typeText(x)])));
    const type = Array.isArray(s.type) ? s.type.join(' | ') : (s.type || 'any');
    if (type === 'array') return h('span', {}, 'array of ', typeText(s.items));
    return type + (s.format ? ` (${s.format})` : '');
}

/** An object schema's properties as a nested list; other schemas as their type. */
function schemaView(schema, depth = 0) {
    const [s, name] = resolve(schema);
    if (name && depth > 0) return h('span', {}, typeText(schema));
    if (s.type !== 'object' || !s.properties) return h('span', {}, typeText(schema));
    const required = new Set(s.required || []);
    return h('ul', {class: 'schema'}, ...Object.entries(s.properties).map(([key, sub]) => {
        const [inner] = resolve(sub);
        const nested = !sub.$ref && inner.type === 'object' && inner.properties;
        return h('li', {},
            h('span', {class: required.has(key) ? 'req' : ''}, key), required.has(key) ? '' : '?', ': ',
            nested ? schemaView(sub, depth + 1) : typeText(sub),
            inner.description ? h('span', {class: 'muted'}, ` — ${inner.description}`) : '');
    }));
}

function contentView(content) {
    return Object.entries(content || {}).map(([type, media]) =>
        h('div', {}, h('code', {class: 'muted'}, type), media.schema ? schemaView(media.schema) : ''));
}

function operationView(path, method, op) {
    const open = op.security && op.security.length === 0 ? 'no token' : 'token';
    const params = op.parameters || [];
    return h('details', {class: 'op', id: `${method}-${path}`},
        h('summary', {}, h('span', {class: 'method'}, method), h('span', {class: 'path'}, path),
            h('span', {class: 'muted'}, op.summary || '')),
        h('div', {},
            op.description ? h('p', {}, op.description) : '',
            h('p', {class: 'muted'}, `Access: ${open}`),
            params.length ? h('table', {},
                h('tr', {}, h('th', {}, 'parameter'), h('th', {}, 'in'), h('th', {}, 'type'), h('th', {}, 'example')),
                ...params.map((p) => h('tr', {}, h('td', {}, h('code', {}, p.name)), h('td', {}, p.in),
                    h('td', {}, typeText(p.schema)), h('td', {}, h('code', {}, JSON.stringify(p.example)))))) : '',
            op.requestBody ? h('div', {}, h('h4', {}, 'Request body'), ...contentView(op.requestBody.content)) : '',
            h('h4', {}, 'Responses'),
            ...Object.entries(op.responses || {}).map(([status, r]) =>
                h('div', {}, h('strong', {}, status), ' ', r.description || '', ...contentView(r.content)))));
}

function render(main) {
    main.replaceChildren(h('h1', {}, doc.info.title), h('p', {}, doc.info.description || ''));
    for (const tag of doc.tags.map((t) => t.name)) {
        const ops = [];
        for (const [path, item] of Object.entries(doc.paths))
            for (const [method, op] of Object.entries(item))
                if ((op.tags || []).includes(tag)) ops.push(operationView(path, method, op));
        if (ops.length) main.append(h('h2', {id: `tag-${tag}`}, tag), ...ops);
    }
    main.append(h('h2', {}, 'Webhooks'), ...Object.entries(doc.webhooks || {}).map(([name, item]) =>
        operationView(name, 'post', item.post)));
    const sockets = doc['x-websocket-messages'] || {};
    for (const [path, types] of Object.entries(sockets)) {
        if (typeof types !== 'object') continue;
        main.append(h('h2', {}, `WebSocket ${path}`), h('table', {},
            h('tr', {}, h('th', {}, 'type'), h('th', {}, 'data')),
            ...Object.entries(types).map(([type, schema]) =>
                h('tr', {}, h('td', {}, h('code', {}, type)), h('td', {}, typeText(schema))))));
    }
    main.append(h('h2', {}, 'Messages (schemas)'), ...Object.entries(doc.components.schemas).map(([name, s]) =>
        h('div', {id: `schema-${name}`}, h('h3', {}, name), s.description ? h('p', {class: 'muted'}, s.description) : '',
            schemaView({$ref: `#/components/schemas/${name}`}))));
    if (location.hash) document.getElementById(decodeURIComponent(location.hash.slice(1)))?.scrollIntoView();
}

async function start() {
    const main = document.getElementById('main');
    try {
        doc = await request('GET', '/api/v1/openapi.json');
        render(main);
    } catch (e) {
        main.replaceChildren(h('p', {role: 'alert'}, `The API description could not be loaded: ${e.message}`));
    }
}

start();
