// Settings form drawn from a job type's schema (docs/JOBTYPES.md "The settings schema"): fields
// in the schema's order, grouped into fieldsets by `group`, nested objects as one group, enums as
// selects (arrays of them as checkboxes), `visible_when` applied, limits checked before upload.
// Nothing here knows a job type; keywords it does not know are ignored.

import {h} from './dom.js';

/** Shown in an empty field without a default: the job leaves the key out and the engine keeps
 *  the file's own value (a Blender scene's samples, camera, …). */
const UNSET = 'from the scene';
/** Units written after a number input for the schema's `subtype` hints. */
const UNITS = {pixels: 'px', seconds: 's', percent: '%', degrees: '°'};

const isObj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const hasDefault = (spec) => Object.prototype.hasOwnProperty.call(spec, 'default');
const isNumeric = (spec) => spec.type === 'integer' || spec.type === 'number';

/** Keys of an object schema: `order` first, then any property it does not name. */
export function orderedKeys(objSpec) {
    const props = isObj(objSpec && objSpec.properties) ? objSpec.properties : {};
    const order = Array.isArray(objSpec && objSpec.order) ? objSpec.order.filter((k) => isObj(props[k])) : [];
    return [...new Set([...order, ...Object.keys(props).filter((k) => isObj(props[k]))])];
}

/** 'ortho_width' → 'Ortho width', for fields without a label. */
export function humanize(key) {
    const s = String(key).replace(/[_-]+/g, ' ').trim();
    return s ? s[0].toUpperCase() + s.slice(1) : String(key);
}

export const fieldLabel = (key, spec) => (spec && typeof spec.label === 'string' && spec.label) || humanize(key);

const num = (n) => (Math.abs(n) >= 1e6 && Number.isInteger(Math.log10(Math.abs(n))) ? n.toExponential().replace('e+', 'e')
                                                                                      : n.toLocaleString('en'));

/** '16–8192', '≥ 0', '≤ 5' or '' from minimum/maximum. */
function rangeText(spec) {
    const lo = Number.isFinite(spec.minimum) ? spec.minimum : null;
    const hi = Number.isFinite(spec.maximum) ? spec.maximum : null;
    if (lo !== null && hi !== null) return `${num(lo)}–${num(hi)}`;
    if (lo !== null) return `≥ ${num(lo)}`;
    if (hi !== null) return `≤ ${num(hi)}`;
    return '';
}

function compilePattern(p) {
    for (const flags of ['u', '']) {
        try {
            return new RegExp(`^(?:${p})$`, flags);
        } catch {
            // Not a JS regular expression with these flags: try the next, else leave it to the server.
        }
    }
    return null;
}

/** Why `value` breaks the field's schema (a sentence naming the field), or ''. */
export function checkValue(spec, value, label) {
    switch (spec.type) {
    case 'integer':
        if (!Number.isInteger(value)) return `${label} must be a whole number.`;
        break;
    case 'number':
        if (typeof value !== 'number' || !Number.isFinite(value)) return `${label} must be a number.`;
        break;
    case 'boolean':
        if (typeof value !== 'boolean') return `${label} must be on or off.`;
        break;
    case 'string':
        if (typeof value !== 'string') return `${label} must be text.`;
        break;
    case 'array':
        if (!Array.isArray(value)) return `${label} must be a list.`;
        break;
    case 'object':
        if (!isObj(value)) return `${label} must be a group of settings.`;
        break;
    default:
        break;
    }
    if (Array.isArray(spec.enum) && !Array.isArray(value) && !spec.enum.some((v) => v === value))
        return `${label} must be one of ${spec.enum.join(', ')}.`;
    if (typeof value === 'number') {
        const range = rangeText(spec);
        if ((Number.isFinite(spec.minimum) && value < spec.minimum) || (Number.isFinite(spec.maximum) && value > spec.maximum))
            return `${label} must be ${/–/.test(range) ? `between ${range.replace('–', ' and ')}` : range.replace('≥', 'at least').replace('≤', 'at most')}.`;
    }
    if (typeof value === 'string') {
        if (Number.isFinite(spec.maxLength) && value.length > spec.maxLength)
            return `${label} takes at most ${spec.maxLength} characters.`;
        if (typeof spec.pattern === 'string' && value !== '') {
            const re = compilePattern(spec.pattern);
            if (re && !re.test(value)) return `${label} must match ${spec.pattern}.`;
        }
    }
    if (Array.isArray(value)) {
        const items = isObj(spec.items) ? spec.items : {};
        if (Number.isFinite(spec.minItems) && value.length < spec.minItems)
            return spec.minItems === 1 ? `Choose at least one of ${label}.` : `Choose at least ${spec.minItems} of ${label}.`;
        if (Number.isFinite(spec.maxItems) && value.length > spec.maxItems) return `Choose at most ${spec.maxItems} of ${label}.`;
        if (spec.uniqueItems && new Set(value.map((v) => JSON.stringify(v))).size !== value.length)
            return `${label} lists an item twice.`;
        for (const item of value) {
            const why = checkValue(items, item, `Each of ${label}`);
            if (why) return why;
        }
    }
    if (isObj(value) && isObj(spec.properties)) {
        for (const [k, v] of Object.entries(value)) {
            if (isObj(spec.properties[k])) {
                const why = checkValue(spec.properties[k], v, `${label} · ${fieldLabel(k, spec.properties[k])}`);
                if (why) return why;
            }
        }
    }
    return '';
}

/** Whether two setting values are the same (arrays and objects by content). */
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

/** The part of `settings` that differs from the schema's defaults: what a preset remembers, so
 *  a default the server changes later still reaches users who never touched that field. */
export function withoutDefaults(objSpec, settings) {
    const out = {};
    if (!isObj(settings)) return out;
    const props = isObj(objSpec && objSpec.properties) ? objSpec.properties : {};
    for (const [k, v] of Object.entries(settings)) {
        const spec = props[k];
        if (isObj(spec) && spec.type === 'object' && isObj(v)) {
            const inner = withoutDefaults(spec, v);
            if (Object.keys(inner).length) out[k] = inner;
        } else if (!isObj(spec) || !hasDefault(spec) || !same(spec.default, v)) {
            out[k] = v;
        }
    }
    return out;
}

/** Fields of one object: twice, so a `visible_when` may name a sibling that comes after it. */
function applyVisibility(fields, parentVisible) {
    for (let pass = 0; pass < 2; pass++) for (const f of fields) f.applyVisibility(fields, parentVisible);
}

/** One field of the form: its control, how to read it and when it shows. */
class Field {
    constructor(key, spec, path, preset, form) {
        this.key = key;
        this.spec = spec;
        this.path = path;
        this.label = fieldLabel(key, spec);
        this.name = `settings.${path.join('.')}`;
        this.form = form;
        this.children = null;
        this.controls = [];
        const start = preset !== undefined && !checkValue(spec, preset, this.label) ? preset
            : hasDefault(spec) ? spec.default : undefined;
        this.el = this.build(start, preset);
    }

    /** The hint line: the description, plus the limits for numbers. */
    hint() {
        const d = typeof this.spec.description === 'string' ? this.spec.description : '';
        return d ? h('span', {class: 'field-hint'}, d) : null;
    }

    head() {
        const range = isNumeric(this.spec) && !Array.isArray(this.spec.enum) ? rangeText(this.spec) : '';
        return h('span', {class: 'field-head'},
                 h('span', {class: 'field-label'}, this.label),
                 range ? h('span', {class: 'field-range', title: 'Allowed range'}, range) : null);
    }

    build(start, preset) {
        const spec = this.spec;
        const optional = !hasDefault(spec);
        const attrs = {name: this.name, 'data-key': this.path.join('.')};
        if (spec.type === 'object' && isObj(spec.properties)) return this.buildObject(isObj(preset) ? preset : {});
        if (spec.type === 'array' && isObj(spec.items) && Array.isArray(spec.items.enum)) {
            const chosen = Array.isArray(start) ? start : [];
            this.controls = spec.items.enum.map((v) => h('input', {type: 'checkbox', ...attrs, value: String(v),
                                                                  checked: chosen.some((c) => c === v)}));
            this.read = () => {
                const value = spec.items.enum.filter((v, i) => this.controls[i].checked);
                return !value.length && optional ? undefined : value;
            };
            return h('fieldset', {class: 'field field-choices', 'data-field': this.path.join('.')},
                     h('legend', {class: 'field-label'}, this.label),
                     h('div', {class: 'choices'}, spec.items.enum.map((v, i) =>
                         h('label', {class: 'choice'}, this.controls[i], h('span', {}, String(v))))),
                     this.hint());
        }
        let control;
        if (Array.isArray(spec.enum) && spec.type !== 'array') {
            control = h('select', attrs,
                        optional ? h('option', {value: ''}, UNSET) : null,
                        spec.enum.map((v) => h('option', {value: String(v), selected: start !== undefined && v === start}, String(v))));
            this.read = () => (control.value === '' ? undefined : spec.enum.find((v) => String(v) === control.value));
        } else if (spec.type === 'boolean' && !optional) {
            control = h('input', {type: 'checkbox', ...attrs, checked: start === true});
            this.read = () => control.checked;
            this.controls = [control];
            return h('label', {class: 'field field-bool', 'data-field': this.path.join('.')},
                     h('span', {class: 'bool-line'}, control, h('span', {class: 'field-label'}, this.label)), this.hint());
        } else if (spec.type === 'boolean') {
            control = h('select', attrs, h('option', {value: ''}, UNSET),
                        h('option', {value: 'true', selected: start === true}, 'on'),
                        h('option', {value: 'false', selected: start === false}, 'off'));
            this.read = () => (control.value === '' ? undefined : control.value === 'true');
        } else if (isNumeric(spec)) {
            control = h('input', {type: 'number', ...attrs, inputmode: spec.type === 'integer' ? 'numeric' : 'decimal',
                                  step: spec.type === 'integer' ? '1' : 'any',
                                  min: Number.isFinite(spec.minimum) ? String(spec.minimum) : null,
                                  max: Number.isFinite(spec.maximum) ? String(spec.maximum) : null,
                                  required: !optional, placeholder: optional ? UNSET : null,
                                  value: start === undefined ? '' : String(start)});
            this.read = () => {
                if (control.validity.badInput) return NaN;
                return control.value.trim() === '' ? undefined : Number(control.value);
            };
        } else if (spec.type === 'string') {
            const color = spec.subtype === 'color' && typeof start === 'string' && /^#[0-9a-f]{6}$/i.test(start);
            control = h('input', {type: color ? 'color' : 'text', ...attrs, autocomplete: 'off', spellcheck: 'false',
                                  maxlength: Number.isFinite(spec.maxLength) ? String(spec.maxLength) : null,
                                  placeholder: optional ? UNSET : null, value: start === undefined ? '' : String(start)});
            this.read = () => (control.value === '' && optional ? undefined : control.value);
        } else if (spec.type === 'array') {
            // A free list (no enum): comma separated, numbers when the items are numbers.
            const numeric = isObj(spec.items) && isNumeric(spec.items);
            control = h('input', {type: 'text', ...attrs, autocomplete: 'off', spellcheck: 'false',
                                  placeholder: optional ? UNSET : 'comma separated',
                                  value: Array.isArray(start) ? start.join(', ') : ''});
            this.read = () => {
                const items = control.value.split(',').map((s) => s.trim()).filter(Boolean);
                if (!items.length && optional) return undefined;
                return numeric ? items.map(Number) : items;
            };
        } else {
            // A type this client does not draw: JSON text, checked by the server.
            control = h('textarea', {...attrs, rows: 2, spellcheck: 'false', placeholder: optional ? UNSET : 'JSON',
                                     class: 'json-input'}, start === undefined ? '' : JSON.stringify(start));
            this.read = () => {
                if (!control.value.trim()) return undefined;
                try {
                    return JSON.parse(control.value);
                } catch {
                    return Symbol.for('invalid-json');
                }
            };
        }
        this.controls = [control];
        const unit = UNITS[spec.subtype];
        return h('label', {class: 'field', 'data-field': this.path.join('.')},
                 this.head(),
                 unit && isNumeric(spec) ? h('span', {class: 'input-unit'}, control, h('span', {class: 'unit'}, unit)) : control,
                 this.hint());
    }

    buildObject(preset) {
        this.children = orderedKeys(this.spec).map((k) =>
            new Field(k, this.spec.properties[k], [...this.path, k], preset[k], this.form));
        this.read = () => {
            const out = {};
            for (const child of this.children) {
                if (!child.visible) continue;
                const v = child.read();
                if (v !== undefined) out[child.key] = v;
            }
            return Object.keys(out).length ? out : undefined;
        };
        this.grid = h('div', {class: 'form-grid'}, this.children.map((c) => c.el));
        return h('fieldset', {class: 'field field-object', 'data-field': this.path.join('.')},
                 h('legend', {class: 'field-label'}, this.label), this.hint(), this.grid);
    }

    /** Shows or hides this field (and its children) by `visible_when` against its siblings. */
    applyVisibility(siblings, parentVisible) {
        let visible = parentVisible;
        const when = this.spec.visible_when;
        if (visible && isObj(when)) {
            for (const [key, values] of Object.entries(when)) {
                const other = siblings.find((s) => s.key === key);
                if (!other || !other.visible || !Array.isArray(values) || !values.some((v) => same(v, other.read()))) {
                    visible = false;
                    break;
                }
            }
        }
        this.visible = visible;
        this.el.hidden = !visible;
        // Hidden controls are disabled: not validated by the browser and not sent.
        for (const c of this.controls) c.disabled = !visible || this.form.disabled;
        if (this.children) applyVisibility(this.children, visible);
    }

    /** Collects [{message, control}] for this visible field and its children. */
    collectErrors(out) {
        if (!this.visible) return;
        if (this.children) {
            for (const c of this.children) c.collectErrors(out);
            return;
        }
        const value = this.read();
        let message = '';
        if (value === Symbol.for('invalid-json')) message = `${this.label} is not valid JSON.`;
        else if (typeof value === 'number' && Number.isNaN(value)) message = `${this.label} must be a number.`;
        else if (value === undefined && hasDefault(this.spec)) message = `${this.label} needs a value.`;
        else if (value !== undefined) message = checkValue(this.spec, value, this.label);
        if (message) out.push({message, control: this.controls[0]});
    }
}

/** The settings part of the submit form for one job type. */
export class SchemaForm {
    /** schema: the type's object schema; preset: remembered settings (any shape; values that
     *  no longer fit the schema fall back to its defaults). */
    constructor(schema, preset) {
        this.schema = isObj(schema) ? schema : {};
        this.disabled = false;
        const values = isObj(preset) ? preset : {};
        const props = isObj(this.schema.properties) ? this.schema.properties : {};
        this.fields = orderedKeys(this.schema).map((k) => new Field(k, props[k], [k], values[k], this));
        this.root = h('div', {class: 'schema-form'}, this.layout());
        for (const type of ['input', 'change']) {
            this.root.addEventListener(type, () => {
                // A changed value may fix any earlier complaint (a pass box, a field it shows).
                for (const c of this.root.querySelectorAll('input, select, textarea')) c.setCustomValidity('');
                this.refresh();
            });
        }
        this.refresh();
    }

    /** Fieldsets by `group` in the order groups first appear. A group of one field that carries
     *  the group's own name (Passes, Camera) shows that name once, as the group's legend. */
    layout() {
        const groups = new Map();
        for (const f of this.fields) {
            const g = typeof f.spec.group === 'string' && f.spec.group ? f.spec.group : '';
            if (!groups.has(g)) groups.set(g, []);
            groups.get(g).push(f);
        }
        const named = [...groups.keys()].some((g) => g);
        return [...groups].map(([group, fields]) => {
            const legend = group || (named ? 'Other settings' : 'Settings');
            if (fields.length === 1 && fields[0].label === legend && fields[0].el.tagName === 'FIELDSET') {
                fields[0].el.classList.add('form-group');
                fields[0].el.querySelector(':scope > legend').classList.add('group-legend');
                return fields[0].el;
            }
            return h('fieldset', {class: 'form-group', 'data-group': legend},
                     h('legend', {class: 'group-legend'}, legend),
                     h('div', {class: 'form-grid'}, fields.map((f) => f.el)));
        });
    }

    refresh() {
        applyVisibility(this.fields, true);
    }

    setDisabled(disabled) {
        this.disabled = disabled;
        this.refresh();
    }

    /** The settings to send: visible fields that hold a value (defaults included, empty optional
     *  fields left out), nested objects as objects. */
    values() {
        const out = {};
        for (const f of this.fields) {
            if (!f.visible) continue;
            const v = f.read();
            if (v !== undefined) out[f.key] = v;
        }
        return out;
    }

    /** [{message, control}] for every field that breaks its schema; marks the controls for the
     *  browser's own validation bubble. */
    errors() {
        const out = [];
        for (const f of this.fields) f.collectErrors(out);
        for (const {message, control} of out) if (control && control.setCustomValidity) control.setCustomValidity(message);
        return out;
    }
}
