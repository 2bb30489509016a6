#!/usr/bin/env node
// End-to-end test of the web dashboard: a real farm-server and render-node, driven through
// headless Chromium (playwright-core). Env: FARM_BUILD_DIR (required), FARM_SCREENSHOT_DIR
// (optional; default $FARM_BUILD_DIR/webui-screenshots), FARM_CHROMIUM (default /usr/bin/chromium).
// Prints one line per check and a final "N passed, M failed"; exits 0 only when all pass.

import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import {BUILD, CHROMIUM, SHOTS, assert, axeCheck, check, loadPlaywright, log, makeZip, readPng, shoot, startProcess, stopAll, summary} from './harness.mjs';

const MODEL = '/usr/share/assimp/models/glTF2/2CylinderEngine-glTF-Binary/2CylinderEngine.glb';
// A glTF with its buffer in a .bin and its base colour in a PNG (the Cesium logo: light grey,
// sky blue and grass green), the bundle the dashboard must send whole.
const BOX_DIR = '/usr/share/assimp/models/glTF2/BoxTextured-glTF';
const RENDER_TIMEOUT_MS = 180000;

let tmpDir = null;
let browser = null;

/** Stops the browser and every process, then removes the scratch folder. */
async function stopEverything() {
    await stopAll(browser);
    if (tmpDir) fs.rmSync(tmpDir, {recursive: true, force: true});
}

/** Starts a process in the scratch folder; answers the first match of readyRe in its output. */
const start = (name, cmd, args, readyRe) => startProcess(name, cmd, args, readyRe, {cwd: tmpDir}).started;

/** Shares of the image's pixels in the logo texture's blue and green; an untextured box in the
 *  grey studio has neither (r ≈ g ≈ b). */
function logoColours(img) {
    let blue = 0;
    let green = 0;
    const n = img.width * img.height;
    for (let i = 0; i < n && img.channels >= 3; i++) {
        const [r, g, b] = [img.samples[i * img.channels], img.samples[i * img.channels + 1], img.samples[i * img.channels + 2]];
        if (b > 60 && b > r * 1.35 && b > g * 1.05) blue++;
        if (g > 50 && g > r * 1.25 && g > b * 1.6) green++;
    }
    return {blue: blue / n, green: green / n};
}

/** Names and sizes of a .zip's entries, read from its central directory (no ZIP64: the
 *  archives here are small). */
function zipEntries(buf) {
    let eocd = -1;
    for (let i = buf.length - 22; i >= 0; i--) if (buf.readUInt32LE(i) === 0x06054b50) { eocd = i; break; }
    assert(eocd >= 0, 'no end of central directory: not a zip');
    const count = buf.readUInt16LE(eocd + 10);
    let p = buf.readUInt32LE(eocd + 16);
    const out = [];
    for (let i = 0; i < count; i++) {
        assert(buf.readUInt32LE(p) === 0x02014b50, 'a broken central directory');
        const size = buf.readUInt32LE(p + 24);
        const nameLen = buf.readUInt16LE(p + 28);
        out.push({name: buf.toString('utf8', p + 46, p + 46 + nameLen), size});
        p += 46 + nameLen + buf.readUInt16LE(p + 30) + buf.readUInt16LE(p + 32);
    }
    return out;
}

/** Drops files on the page through a script-made DataTransfer (files only, no folders). */
async function dropFiles(page, files) {
    const payload = files.map((f) => ({name: path.basename(f), b64: fs.readFileSync(f).toString('base64')}));
    await page.evaluate((list) => {
        const dt = new DataTransfer();
        for (const {name, b64} of list) dt.items.add(new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], name));
        document.body.dispatchEvent(new DragEvent('dragenter', {dataTransfer: dt, bubbles: true, cancelable: true}));
        document.body.dispatchEvent(new DragEvent('drop', {dataTransfer: dt, bubbles: true, cancelable: true}));
    }, payload);
}

/** Drags paths from the "desktop" onto the page the way a user does (Chromium's own drag and
 *  drop over CDP): a folder arrives as a real directory entry, walked by the page. */
async function osDrop(page, paths) {
    const cdp = await page.context().newCDPSession(page);
    const data = {items: [], files: paths, dragOperationsMask: 1};
    for (const type of ['dragEnter', 'dragOver', 'drop']) await cdp.send('Input.dispatchDragEvent', {type, x: 400, y: 300, data});
    await cdp.detach();
}

/** The textured box three ways: flat files as shipped, a folder whose texture sits in a
 *  subfolder (the glTF's image uri rewritten to match), and the box without its texture. */
function makeBoxBundles(root) {
    const flat = path.join(root, 'flat');
    const folder = path.join(root, 'box-folder');
    const bare = path.join(root, 'untextured');
    for (const d of [flat, path.join(folder, 'textures'), bare]) fs.mkdirSync(d, {recursive: true});
    for (const name of ['BoxTextured.gltf', 'BoxTextured0.bin', 'CesiumLogoFlat.png'])
        fs.copyFileSync(path.join(BOX_DIR, name), path.join(flat, name));
    const gltf = JSON.parse(fs.readFileSync(path.join(BOX_DIR, 'BoxTextured.gltf'), 'utf8'));
    assert(gltf.buffers[0].uri === 'BoxTextured0.bin' && gltf.images[0].uri === 'CesiumLogoFlat.png', 'BoxTextured changed upstream');
    fs.writeFileSync(path.join(folder, 'scene.gltf'), JSON.stringify({...gltf, images: [{uri: 'textures/logo.png'}]}));
    fs.copyFileSync(path.join(BOX_DIR, 'BoxTextured0.bin'), path.join(folder, 'BoxTextured0.bin'));
    fs.copyFileSync(path.join(BOX_DIR, 'CesiumLogoFlat.png'), path.join(folder, 'textures', 'logo.png'));
    const plain = structuredClone(gltf);
    delete plain.images;
    delete plain.textures;
    delete plain.samplers;
    delete plain.materials[0].pbrMetallicRoughness.baseColorTexture;
    fs.writeFileSync(path.join(bare, 'BoxUntextured.gltf'), JSON.stringify(plain));
    fs.copyFileSync(path.join(BOX_DIR, 'BoxTextured0.bin'), path.join(bare, 'BoxTextured0.bin'));
    // A note beside the model that no job type takes as a side file: left out of the drop.
    // Its text is unique to this run, so the server can hold it only if the page sent it.
    const notes = path.join(flat, 'notes.txt');
    fs.writeFileSync(notes, `remember the milk ${crypto.randomUUID()}\n`);
    const zip = path.join(root, 'box.zip');
    fs.writeFileSync(zip, makeZip(['scene.gltf', 'BoxTextured0.bin', 'textures/logo.png'].map((n) =>
        ({name: `box/${n}`, data: fs.readFileSync(path.join(folder, n))}))));
    return {
        zip,
        flat: ['BoxTextured.gltf', 'BoxTextured0.bin', 'CesiumLogoFlat.png'].map((n) => path.join(flat, n)),
        folder,
        bare: ['BoxUntextured.gltf', 'BoxTextured0.bin'].map((n) => path.join(bare, n)),
        gltfAlone: path.join(flat, 'BoxTextured.gltf'),
        notes,
    };
}

async function main() {
    assert(BUILD, 'FARM_BUILD_DIR is not set');
    const {chromium} = loadPlaywright();
    fs.mkdirSync(SHOTS, {recursive: true});
    tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'farm-webui-'));

    // A job type the dashboard's code has never heard of, declared the way a farm admin would.
    const typesDir = path.join(tmpDir, 'job-types');
    fs.mkdirSync(typesDir);
    fs.writeFileSync(path.join(typesDir, 'testonly.json'), JSON.stringify({
        name: 'testonly', label: 'Test only', description: 'A type declared in JSON for the dashboard test',
        engine: 'farmhand', extensions: ['glb'], frames: true, compile: 'chunks',
        schema: {type: 'object', order: ['flavour', 'strength'], properties: {
            flavour: {type: 'string', enum: ['salty', 'sweet'], default: 'sweet', label: 'Flavour'},
            strength: {type: 'integer', minimum: 1, maximum: 5, default: 3, label: 'Strength'}}},
    }));
    const box = makeBoxBundles(path.join(tmpDir, 'bundles'));

    const serverBin = path.join(BUILD, 'farm-server', 'farm-server');
    const nodeBin = path.join(BUILD, 'render-node', 'render-node');
    const m = await start('farm-server', serverBin,
                                 ['--port', '0', '--data', path.join(tmpDir, 'data'), '--job-types', typesDir],
                                 /farm-server listening on (http:\/\/\S+?):(\d+)/);
    const base = `http://127.0.0.1:${m[2]}`; // the bind address may be 0.0.0.0; loopback is trusted
    log(`# server at ${base}`);
    await start('render-node', nodeBin,
                       ['--server', base, '--name', 'webui-test-node', '--cache', path.join(tmpDir, 'cache')], null);

    browser = await chromium.launch({
        executablePath: CHROMIUM, headless: true,
        args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking'],
    });
    const context = await browser.newContext({viewport: {width: 1280, height: 800}});
    const page = await context.newPage();
    const consoleErrors = [];
    let allowedHttp = null; // expected failed requests, which Chromium logs as console errors
    page.on('console', (msg) => {
        if (msg.type() !== 'error') return;
        // The bad submission is meant to get a 400; Chromium logs every failed request.
        if (allowedHttp && allowedHttp.test(msg.text())) return;
        // A tiny frame can finish between its task.partial event and the image request: the
        // server has dropped the preview (404) and the page drops the card (livepreview.js).
        if (/status of 404/.test(msg.text()) && /\/api\/v1\/tasks\/\d+\/preview\b/.test(msg.location().url || '')) return;
        consoleErrors.push(`${msg.text()} (${msg.location().url || 'page'})`);
    });
    page.on('pageerror', (err) => consoleErrors.push(`pageerror: ${err.message}`));

    let jobId = null;

    await check('page loads, connects live, no console errors', async () => {
        const response = await page.goto(base + '/', {waitUntil: 'load'});
        assert(response && response.ok(), `GET / answered ${response && response.status()}`);
        await page.waitForSelector('#conn[data-state="open"]', {timeout: 15000});
        await page.waitForSelector('.jobs-table thead', {timeout: 5000});
        await page.waitForSelector('#farm-status .stat-nodes', {timeout: 5000});
        await page.waitForTimeout(300);
        assert(consoleErrors.length === 0, `console errors: ${consoleErrors.join(' | ')}`);
        await page.screenshot({path: path.join(SHOTS, 'empty-desktop.png')});
    });

    await check('dropping a model opens the form drawn from the job types and submits a job', async () => {
        await page.evaluate(() => { window.__noReload = 'still here'; });
        const types = await (await fetch(`${base}/api/v1/job-types`)).json();
        const model = types.job_types.find((t) => t.name === 'model');
        const templates = types.job_types.find((t) => t.name === 'templates');
        assert(model && templates, `job types ${types.job_types.map((t) => t.name).join(', ')}`);
        const passEnum = model.schema.properties.passes.items.enum;
        await dropFiles(page, [MODEL]);
        const dialog = page.locator('#submit-dialog');
        await dialog.locator('.file-row').first().waitFor({timeout: 5000});
        assert(await page.locator('#drop-overlay').isHidden(), 'drop overlay still shown after the drop');
        assert(await dialog.locator('select[name=type]').inputValue() === 'model', 'a .glb did not pick the model type');
        const options = await dialog.locator('select[name=type] option').evaluateAll((os) => os.map((o) => o.value));
        assert(options.join() === types.job_types.map((t) => t.name).join(), `type options ${options.join()}`);
        // Limits and defaults come from the schema the server serves.
        const width = dialog.locator('input[name="settings.width"]');
        assert(await width.getAttribute('min') === String(model.schema.properties.width.minimum) &&
               await width.getAttribute('max') === String(model.schema.properties.width.maximum), 'width limits not from the schema');
        assert(await width.inputValue() === String(model.schema.properties.width.default), 'width default not from the schema');
        // Pose templates: views shown, frames/chunk/camera gone, the type's default passes ticked.
        await dialog.locator('select[name=type]').selectOption('templates');
        assert(await dialog.locator('input[name="settings.views"]').isVisible(), 'views field hidden for templates');
        assert(await dialog.locator('input[name=frames]').isHidden(), 'frames field shown for templates');
        assert(await dialog.locator('input[name=chunk]').isHidden(), 'chunk field shown for templates');
        assert(await dialog.locator('[name="settings.camera.projection"]').count() === 0, 'camera shown for templates');
        const ticked = async () => (await dialog.locator('input[name="settings.passes"]:checked').evaluateAll(
            (boxes) => boxes.map((b) => b.value))).join(',');
        assert(await ticked() === templates.schema.properties.passes.default.join(','), `template passes ${await ticked()}`);
        await dialog.locator('select[name=type]').selectOption('model');
        assert(await dialog.locator('input[name="settings.views"]').count() === 0, 'views field shown for a model job');
        const boxes = await dialog.locator('input[name="settings.passes"]').evaluateAll((bs) => bs.map((b) => b.value));
        assert(boxes.join() === passEnum.join() && boxes.includes('instance'), `pass boxes ${boxes.join()}`);
        assert(await ticked() === model.schema.properties.passes.default.join(','), `model passes ${await ticked()}`);
        // visible_when: the view width shows only for an orthographic camera.
        const projection = dialog.locator('select[name="settings.camera.projection"]');
        const orthoWidth = dialog.locator('input[name="settings.camera.ortho_width"]');
        assert(await orthoWidth.isHidden(), 'view width shown for a perspective camera');
        await projection.selectOption('orthographic');
        assert(await orthoWidth.isVisible(), 'view width hidden for an orthographic camera');
        await projection.selectOption('perspective');
        assert(await orthoWidth.isHidden(), 'view width still shown after going back to perspective');
        await dialog.locator('input[name=name]').fill('webui e2e engine');
        await dialog.locator('input[name=frames]').fill('1-4');
        await dialog.locator('input[name=chunk]').fill('2');
        await dialog.locator('input[name="settings.height"]').fill('48');
        await dialog.locator('input[name="settings.spp"]').fill('1');
        await dialog.locator('select[name="settings.camera.mode"]').selectOption('turntable');
        // The schema's limits are checked before anything is uploaded.
        const uploads = [];
        const onRequest = (r) => r.url().includes('/api/v1/uploads') && uploads.push(r.url());
        page.on('request', onRequest);
        await width.fill('8');
        await dialog.locator('input[name="settings.passes"][value=rgb]').uncheck();
        await dialog.locator('button[type=submit]').click();
        const box = dialog.locator('.form-error');
        await box.waitFor({state: 'visible', timeout: 5000});
        const complaint = await box.innerText();
        assert(/Width must be between 16 and 8,?192/.test(complaint), `form says "${complaint}"`);
        assert(/at least one of Passes/.test(complaint), `no complaint about the passes: "${complaint}"`);
        assert(uploads.length === 0, `uploaded before validating: ${uploads.join(', ')}`);
        await page.screenshot({path: path.join(SHOTS, 'submit-invalid.png')});
        page.off('request', onRequest);
        await width.fill('64');
        await dialog.locator('input[name="settings.passes"][value=rgb]').check();
        await page.screenshot({path: path.join(SHOTS, 'submit-form.png')});
        await dialog.locator('button[type=submit]').click();
        await page.waitForFunction(() => /^#\/jobs\/\d+$/.test(location.hash), null, {timeout: 30000});
        jobId = Number((await page.evaluate(() => location.hash)).split('/').pop());
        assert(!(await dialog.evaluate((d) => d.open)), 'submit dialog still open after success');
        await page.waitForSelector(`.jobs-table tr[data-job-id="${jobId}"]`, {timeout: 10000});
        const job = await (await fetch(`${base}/api/v1/jobs/${jobId}`)).json();
        assert(job.type === 'model' && job.frames === '1-4' && job.chunk === 2, `job ${JSON.stringify(job).slice(0, 200)}`);
        assert(job.settings.width === 64 && job.settings.height === 48 && job.settings.spp === 1 &&
               job.settings.camera.mode === 'turntable', `settings ${JSON.stringify(job.settings)}`);
        const saved = await page.evaluate(() => JSON.parse(localStorage.getItem('farmhand.submit.v2')));
        const preset = saved && saved.types && saved.types.model;
        assert(preset && preset.frames === '1-4' && preset.chunk === 2 && preset.settings.width === 64 &&
               preset.settings.camera.mode === 'turntable', `settings not remembered: ${JSON.stringify(saved)}`);
        assert(!('format' in preset.settings), `the preset keeps a default value: ${JSON.stringify(preset.settings)}`);
    });

    await check('the job row updates live to completed', async () => {
        assert(jobId, 'no job was submitted');
        const row = page.locator(`.jobs-table tr[data-job-id="${jobId}"]`);
        await row.locator('.badge-completed').waitFor({timeout: RENDER_TIMEOUT_MS});
        const pct = await row.locator('[role=progressbar]').getAttribute('aria-valuenow');
        assert(pct === '100', `progress shows ${pct}%, expected 100`);
        assert(await page.evaluate(() => window.__noReload) === 'still here', 'the page reloaded');
        assert(/4\/|2\/2/.test(await row.locator('.col-frames').innerText()), 'frames/tasks column not updated');
    });

    await check('gallery shows 4 loaded frames; lightbox and task log work', async () => {
        assert(jobId, 'no job was submitted');
        await page.locator('.gallery').scrollIntoViewIfNeeded();
        await page.waitForFunction(() => {
            const imgs = [...document.querySelectorAll('.gallery img.frame-img')];
            return imgs.length === 4 && imgs.every((i) => i.complete && i.naturalWidth === 64 && i.naturalHeight === 48);
        }, null, {timeout: 20000});
        const labels = await page.locator('.gallery .tile-label').allInnerTexts();
        assert(labels.join(',') === 'Frame 1,Frame 2,Frame 3,Frame 4', `frame labels ${labels.join(',')}`);
        const tasksDone = await page.locator('.tasks-table tbody .badge-done').count();
        assert(tasksDone === 2, `${tasksDone} tasks done in the tasks table, expected 2`);
        await page.waitForTimeout(500); // let the tile fade-in finish for a clean screenshot
        await page.screenshot({path: path.join(SHOTS, 'job-desktop.png')});
        await page.locator('.tasks-table tbody button', {hasText: 'Log'}).first().click();
        await page.waitForFunction(() => {
            const t = document.querySelector('.log').textContent;
            return t && !/^Loading|^Choose|^Could not/.test(t) && t !== '(empty log)';
        }, null, {timeout: 10000});
        await page.locator('.gallery .tile-img').first().click();
        await page.waitForFunction(() => {
            const img = document.querySelector('#lightbox[open] .lightbox-img');
            return img && img.complete && img.naturalWidth === 64;
        }, null, {timeout: 10000});
        const href = await page.locator('#lightbox .lightbox-bar a[download]').getAttribute('href');
        assert(href && href.includes(`/api/v1/jobs/${jobId}/outputs/frame_0001.png`), `download link ${href}`);
        await page.screenshot({path: path.join(SHOTS, 'lightbox.png')});
        await page.keyboard.press('Escape');
        assert(consoleErrors.length === 0, `console errors: ${consoleErrors.join(' | ')}`);
    });

    await check('the job detail pauses, resumes, re-prioritises, cancels, re-runs and zips a job', async () => {
        // A job that waits for a paused one stays queued whatever the node does.
        const sha = crypto.createHash('sha256').update(fs.readFileSync(MODEL)).digest('hex');
        const post = async (url, body) => (await fetch(`${base}${url}`, {
            method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify(body || {})})).json();
        const spec = {type: 'model', name: 'webui actions', input: {file: sha, name: path.basename(MODEL)},
                      settings: {width: 32, height: 24, spp: 1}};
        const first = await post('/api/v1/jobs', spec);
        await post(`/api/v1/jobs/${first.id}/pause`);
        const waiting = await post('/api/v1/jobs', {...spec, depends_on: [first.id]});
        assert(waiting.state === 'queued', `the waiting job is ${waiting.state}`);
        const stateOf = async () => (await (await fetch(`${base}/api/v1/jobs/${waiting.id}`)).json());
        await page.goto(base + `/#/jobs/${waiting.id}`);
        const actions = page.locator('.detail-actions');
        await actions.locator('button', {hasText: 'Pause'}).click();
        await actions.locator('button', {hasText: 'Resume'}).waitFor({timeout: 10000});
        assert((await stateOf()).state === 'paused', 'Pause did not pause the job');
        await actions.locator('button', {hasText: 'Resume'}).click();
        await actions.locator('button', {hasText: 'Pause'}).waitFor({timeout: 10000});
        await actions.locator('input.priority-input').fill('77');
        await actions.locator('input.priority-input').dispatchEvent('change');
        await page.waitForFunction(async (u) => (await (await fetch(u)).json()).priority === 77,
                                   `/api/v1/jobs/${waiting.id}`, {timeout: 10000});
        await actions.locator('button', {hasText: 'Cancel job'}).click();
        await actions.locator('button', {hasText: 'Really cancel?'}).click();
        await actions.locator('button', {hasText: 'Re-run'}).waitFor({timeout: 10000});
        await actions.locator('button', {hasText: 'Re-run'}).click();
        await actions.locator('button', {hasText: 'Pause'}).waitFor({timeout: 10000});
        assert((await stateOf()).state === 'queued', 'Re-run did not queue the job again');
        await post(`/api/v1/jobs/${first.id}/cancel`); // the waiting job fails with it
        assert((await stateOf()).state === 'failed', 'the waiting job did not fail with its dependency');

        // A job with frames offers all of them as one zip.
        await page.goto(base + `/#/jobs/${jobId}`);
        const zip = page.locator('.detail-actions a.archive-link');
        await zip.waitFor({timeout: 10000});
        const href = await zip.getAttribute('href');
        const answer = await page.evaluate(async (u) => {
            const r = await fetch(u);
            const bytes = new Uint8Array(await r.arrayBuffer());
            return {status: r.status, type: r.headers.get('content-type'), magic: String.fromCharCode(bytes[0], bytes[1])};
        }, href);
        assert(answer.status === 200 && answer.type === 'application/zip' && answer.magic === 'PK',
               `archive answered ${JSON.stringify(answer)}`);
        // Its contents: every output of the job, each at its size, nothing else.
        const entries = zipEntries(Buffer.from(await (await fetch(base + href)).arrayBuffer()));
        const outputs = (await (await fetch(`${base}/api/v1/jobs/${jobId}/outputs`)).json()).outputs;
        const listing = (list) => list.map((e) => `${e.name}:${e.size}`).sort().join(',');
        assert(outputs.length >= 4 && listing(entries) === listing(outputs),
               `archive holds ${listing(entries)}, the job's outputs are ${listing(outputs)}`);
        for (const id of [waiting.id, first.id]) // the list checks below count the jobs by state
            assert((await fetch(`${base}/api/v1/jobs/${id}`, {method: 'DELETE'})).status === 204, `job ${id} not deleted`);
        assert(consoleErrors.length === 0, `console errors: ${consoleErrors.join(' | ')}`);
    });

    await check('a bad submission shows the server error message', async () => {
        allowedHttp = /status of 400/;
        // What the server itself says about frames "9-1", straight from the API.
        const expected = await page.evaluate(async (jid) => {
            const job = await (await fetch(`/api/v1/jobs/${jid}`)).json();
            const r = await fetch('/api/v1/jobs', {method: 'POST', headers: {'Content-Type': 'application/json'},
                                                   body: JSON.stringify({type: 'model', input: job.input, frames: '9-1'})});
            return {status: r.status, body: await r.json()};
        }, jobId);
        assert(expected.status === 400 && expected.body.error && expected.body.error.message,
               `server answered ${expected.status} to frames 9-1`);
        await page.locator('#submit-open').click();
        const dialog = page.locator('#submit-dialog');
        await page.locator('#file-picker').setInputFiles(MODEL);
        await dialog.locator('.file-row').first().waitFor({timeout: 5000});
        assert(await dialog.locator('input[name=frames]').inputValue() === '1-4', 'remembered frames not restored');
        await dialog.locator('input[name=frames]').fill('9-1');
        await dialog.locator('button[type=submit]').click();
        const box = dialog.locator('.form-error');
        await box.waitFor({state: 'visible', timeout: 30000});
        const text = await box.innerText();
        assert(text.includes(expected.body.error.message), `form shows "${text}", server said "${expected.body.error.message}"`);
        assert(await dialog.evaluate((d) => d.open), 'dialog closed on error');
        await page.screenshot({path: path.join(SHOTS, 'submit-error.png')});
        await dialog.locator('button', {hasText: 'Cancel'}).click();
        allowedHttp = null;
    });

    /** Submits the open form as a small still frame; answers the job once it completed. */
    async function submitStill(name) {
        const dialog = page.locator('#submit-dialog');
        await dialog.locator('input[name=name]').fill(name);
        await dialog.locator('input[name=frames]').fill('1');
        await dialog.locator('input[name=chunk]').fill('1');
        await dialog.locator('input[name="settings.width"]').fill('96');
        await dialog.locator('input[name="settings.height"]').fill('72');
        await dialog.locator('input[name="settings.spp"]').fill('4');
        await dialog.locator('select[name="settings.camera.mode"]').selectOption('still');
        const before = await page.evaluate(() => location.hash);
        await dialog.locator('button[type=submit]').click();
        await page.waitForFunction((old) => /^#\/jobs\/\d+$/.test(location.hash) && location.hash !== old,
                                   before, {timeout: 30000});
        const id = Number((await page.evaluate(() => location.hash)).split('/').pop());
        await page.locator(`.jobs-table tr[data-job-id="${id}"] .badge-completed`).waitFor({timeout: RENDER_TIMEOUT_MS}).catch(async (e) => {
            // Which side is behind: the server's job, or the row drawn for it?
            const job = await (await fetch(`${base}/api/v1/jobs/${id}`)).json();
            const row = await page.locator(`.jobs-table tr[data-job-id="${id}"] .badge`).allInnerTexts();
            throw new Error(`job ${id} is ${job.state} on the server (${job.error || 'no error'}), its row says ${row.join(',') || 'nothing'}\n${e.message}`);
        });
        return (await fetch(`${base}/api/v1/jobs/${id}`)).json();
    }

    const frameColours = async (id) =>
        logoColours(readPng(Buffer.from(await (await fetch(`${base}/api/v1/jobs/${id}/outputs/frame_0001.png`)).arrayBuffer())));
    const bundlePaths = (job) => (job.input.files || []).map((f) => f.path).sort().join(',');
    let untextured = null;

    await check('the untextured box renders without the logo colours (the control)', async () => {
        await page.goto(base + '/#/jobs');
        await dropFiles(page, box.bare);
        await page.locator('#submit-dialog .file-row').nth(1).waitFor({timeout: 5000});
        const job = await submitStill('webui untextured box');
        untextured = await frameColours(job.id);
        assert(untextured.blue < 0.005 && untextured.green < 0.005, `untextured frame ${JSON.stringify(untextured)}`);
    });

    await check('several dropped files become one job that renders with its texture; a note beside them is left out', async () => {
        await dropFiles(page, [...box.flat, box.notes]);
        const dialog = page.locator('#submit-dialog');
        await dialog.locator('.file-row').nth(3).waitFor({timeout: 5000});
        assert(await dialog.locator('.file-row').count() === 4, 'not one list of four files');
        assert(await dialog.locator('select[name=type]').inputValue() === 'model', 'a .gltf did not pick the model type');
        const main = await dialog.locator('.file-row:has(.main-badge:not([hidden])) .file-name').innerText();
        assert(main === 'BoxTextured.gltf', `main file ${main}`);
        // The model type's side_extensions (served by the server) do not hold .txt: the note is
        // marked, named with the rule, and not sent; the others are not marked.
        const left = await dialog.locator('.file-row.left-out').evaluateAll((rows) => rows.map((r) => r.dataset.path).join(','));
        assert(left === 'notes.txt', `rows marked left out: "${left}"`);
        assert(await dialog.locator('.file-row[data-path="notes.txt"] .left-out-badge').isVisible(), 'no "left out" badge');
        const types = (await (await fetch(`${base}/api/v1/job-types`)).json()).job_types;
        const side = types.find((t) => t.name === 'model').side_extensions;
        assert(side.includes('bin') && side.includes('png') && !side.includes('txt'), `model side_extensions ${side}`);
        const note = await dialog.locator('.bundle-note').innerText();
        assert(/^notes\.txt: 3D model jobs do not take \.txt files beside BoxTextured\.gltf \(they take \.bin, \.mtl, \.png/.test(note) &&
               /Left out: it is not uploaded\.$/.test(note), `note "${note}"`);
        assert(!(await dialog.locator('button[type=submit]').isDisabled()), 'a left-out file blocks the submit');
        await axeCheck(page, 'the submit dialog with a file left out');
        await shoot(page, 'submit-left-out');
        const job = await submitStill('webui textured files');
        assert(job.input.main === 'BoxTextured.gltf', `main ${job.input.main}`);
        assert(bundlePaths(job) === 'BoxTextured.gltf,BoxTextured0.bin,CesiumLogoFlat.png', `bundle ${bundlePaths(job)}`);
        const notesSha = crypto.createHash('sha256').update(fs.readFileSync(box.notes)).digest('hex');
        const head = await fetch(`${base}/api/v1/files/${notesSha}`, {method: 'HEAD'});
        assert(head.status === 404, `the left-out note reached the server (HEAD /files answered ${head.status})`);
        const c = await frameColours(job.id);
        log(`# logo colours: textured ${JSON.stringify(c)}, untextured ${JSON.stringify(untextured)}`);
        assert(c.blue > 0.03 && c.green > 0.02, `frame lacks the texture's blue and green: ${JSON.stringify(c)} ` +
               `(untextured ${JSON.stringify(untextured)})`);
        // The frame viewer shows the texture's colours too: its picture, read back from the page.
        await page.locator('.gallery .tile-img').first().click();
        await page.waitForFunction(() => {
            const img = document.querySelector('#lightbox[open] .lightbox-img');
            return img && img.complete && img.naturalWidth === 96;
        }, null, {timeout: 10000});
        const shown = await page.evaluate(() => {
            const img = document.querySelector('#lightbox .lightbox-img');
            const canvas = document.createElement('canvas');
            canvas.width = img.naturalWidth;
            canvas.height = img.naturalHeight;
            const g = canvas.getContext('2d');
            g.drawImage(img, 0, 0);
            return {width: canvas.width, height: canvas.height, channels: 4, samples: Array.from(g.getImageData(0, 0, canvas.width, canvas.height).data)};
        });
        const v = logoColours(shown);
        assert(v.blue > 0.03 && v.green > 0.02, `the frame viewer lacks the texture's colours: ${JSON.stringify(v)}`);
        await page.keyboard.press('Escape');
        // The detail lists the bundle's files, each a download of what was sent.
        const files = page.locator('.bundle-files .bundle-list li');
        await files.nth(2).waitFor({timeout: 10000});
        assert(await files.count() === 3, `${await files.count()} files listed in the job detail`);
        const href = await page.locator('.bundle-files li[data-path="CesiumLogoFlat.png"] a').getAttribute('href');
        const png = Buffer.from(await (await fetch(base + href)).arrayBuffer());
        assert(png.equals(fs.readFileSync(path.join(BOX_DIR, 'CesiumLogoFlat.png'))), 'the texture download differs');
        await page.locator('.bundle-files').scrollIntoViewIfNeeded();
        await page.screenshot({path: path.join(SHOTS, 'job-bundle.png')});
    });

    await check('switching jobs shows the selected job\'s frames, never the previous job\'s', async () => {
        // Both jobs have a frame_0001.png: the gallery must not keep the other job's tile.
        const jobs = (await (await fetch(`${base}/api/v1/jobs?state=completed`)).json()).jobs;
        const ids = jobs.filter((j) => j.name.startsWith('webui ') && j.name.includes('box') ||
                                       j.name === 'webui textured files').map((j) => j.id);
        assert(ids.length >= 2, `two finished jobs to switch between, got ${ids}`);
        for (const id of [ids[0], ids[1], ids[0]]) {
            await page.locator(`.jobs-table tr[data-job-id="${id}"]`).click();
            await page.waitForFunction((want) => {
                const imgs = [...document.querySelectorAll('.gallery img.frame-img')];
                return imgs.length === 1 && imgs.every((i) => i.getAttribute('src').includes(`/jobs/${want}/`));
            }, id, {timeout: 10000}).catch(async () => {
                const srcs = await page.evaluate(() =>
                    [...document.querySelectorAll('.gallery img.frame-img')].map((i) => i.getAttribute('src')));
                throw new Error(`job ${id} shows ${srcs.join(', ')}`);
            });
        }
    });

    await check('"Encode video…" on a finished job: a form from the encode schema, a new job whose video plays', async () => {
        const jobs = (await (await fetch(`${base}/api/v1/jobs?state=completed`)).json()).jobs;
        const source = jobs.find((j) => j.name === 'webui textured files');
        assert(source, 'the textured job to encode');
        await page.goto(`${base}/#/jobs/${source.id}`);
        await page.locator('.detail-actions .encode-btn').click();
        const dialog = page.locator('#encode-dialog');
        await dialog.locator('[name="settings.fps"]').waitFor({timeout: 10000});
        // Every field of the encode type's schema as the server serves it, in its order, each
        // starting at the schema's default (the page holds no copy of them).
        const types = (await (await fetch(`${base}/api/v1/job-types`)).json()).job_types;
        const schema = types.find((t) => t.name === 'encode').schema;
        const keys = await dialog.locator('[data-key]').evaluateAll((els) => [...new Set(els.map((e) => e.dataset.key))].join(','));
        assert(keys === schema.order.join(','), `form fields ${keys}, schema ${schema.order}`);
        for (const key of schema.order) {
            const spec = schema.properties[key];
            const control = dialog.locator(`[name="settings.${key}"]`);
            const value = spec.type === 'boolean' ? await control.isChecked() : await control.inputValue();
            assert(String(value) === String(spec.default), `${key} starts at ${value}, the schema says ${spec.default}`);
        }
        const codecs = await dialog.locator('select[name="settings.codec"] option').evaluateAll((os) => os.map((o) => o.value).join(','));
        assert(codecs === schema.properties.codec.enum.join(','), `codec choices ${codecs}`);
        // A value out of the schema's range is named before anything is sent.
        await dialog.locator('[name="settings.fps"]').fill(String(schema.properties.fps.maximum + 1));
        await dialog.locator('button[type=submit]').click();
        const err = dialog.locator('.form-error');
        await err.waitFor({state: 'visible', timeout: 5000});
        assert(/Frame rate/.test(await err.innerText()), `error "${await err.innerText()}"`);
        await dialog.locator('[name="settings.fps"]').fill('2');
        await dialog.locator('[name="settings.output"]').fill('again.mp4');
        await axeCheck(page, 'the encode dialog');
        await shoot(page, 'encode');
        const before = await page.evaluate(() => location.hash);
        await dialog.locator('button[type=submit]').click();
        await page.waitForFunction((old) => /^#\/jobs\/\d+/.test(location.hash) && location.hash !== old, before, {timeout: 30000});
        assert(!(await dialog.evaluate((d) => d.open)), 'the dialog stayed open');
        const id = Number((await page.evaluate(() => location.hash)).match(/^#\/jobs\/(\d+)/)[1]);
        const job = await (await fetch(`${base}/api/v1/jobs/${id}`)).json();
        assert(job.type === 'encode' && job.settings.fps === 2 && job.settings.output === 'again.mp4' &&
               job.settings.codec === schema.properties.codec.default, `encode job ${JSON.stringify(job)}`);
        // Nothing rendered again: the source job's tasks ran once each.
        const srcTasks = (await (await fetch(`${base}/api/v1/jobs/${source.id}/tasks`)).json()).tasks;
        assert(srcTasks.every((t) => (t.attempts ?? 1) <= 1) && (await (await fetch(`${base}/api/v1/jobs/${source.id}`)).json()).state === 'completed',
               `the source job changed: ${JSON.stringify(srcTasks)}`);
        await page.locator(`.jobs-table tr[data-job-id="${id}"] .badge-completed`).waitFor({timeout: RENDER_TIMEOUT_MS});
        const video = page.locator('.videos figure[data-name="again.mp4"] video.video-player');
        await video.waitFor({timeout: 10000});
        // Decoded by the browser: its first picture is there, at the frames' size and the asked rate.
        await page.waitForFunction(() => {
            const v = document.querySelector('.videos video');
            return v && (v.error || v.readyState >= 2);
        }, null, {timeout: 20000});
        const state = await video.evaluate((v) => ({error: v.error && v.error.code, ready: v.readyState,
                                                    w: v.videoWidth, h: v.videoHeight, d: v.duration}));
        assert(!state.error && state.w === 96 && state.h === 72 && Math.abs(state.d - 0.5) < 0.01,
               `video ${JSON.stringify(state)}`);
        assert(await page.locator('.gallery img.frame-img').count() === 0, 'the video shown as an image tile');
        await page.locator('.videos').scrollIntoViewIfNeeded();
        await page.screenshot({path: path.join(SHOTS, 'job-video.png')});
    });

    await check('a dropped folder becomes one job with its relative paths', async () => {
        await osDrop(page, [box.folder]);
        const dialog = page.locator('#submit-dialog');
        await dialog.locator('.file-row').nth(2).waitFor({timeout: 10000});
        const listed = await dialog.locator('.file-row').evaluateAll((rows) => rows.map((r) => r.dataset.path).join(','));
        assert(listed === 'BoxTextured0.bin,scene.gltf,textures/logo.png', `listed ${listed} (the folder's own name must go)`);
        await page.screenshot({path: path.join(SHOTS, 'submit-folder.png')});
        const job = await submitStill('webui textured folder');
        assert(job.input.main === 'scene.gltf', `main ${job.input.main}`);
        assert(bundlePaths(job) === 'BoxTextured0.bin,scene.gltf,textures/logo.png', `bundle ${bundlePaths(job)}`);
        const c = await frameColours(job.id);
        assert(c.blue > 0.03 && c.green > 0.02, `frame lacks the texture's colours: ${JSON.stringify(c)}`);
    });

    await check('the folder picker sends the folder the same way', async () => {
        await page.locator('#submit-open').click();
        const dialog = page.locator('#submit-dialog');
        await dialog.locator('.pick-btn', {hasText: 'Choose folder'}).waitFor({timeout: 5000});
        await page.locator('#folder-picker').setInputFiles(box.folder);
        await dialog.locator('.file-row').nth(2).waitFor({timeout: 10000});
        const listed = await dialog.locator('.file-row').evaluateAll((rows) => rows.map((r) => r.dataset.path).join(','));
        assert(listed === 'BoxTextured0.bin,scene.gltf,textures/logo.png', `listed ${listed}`);
        await dialog.locator('button', {hasText: 'Cancel'}).click();
    });

    await check('a page of the list that left before a job finished does not draw it unfinished', async () => {
        // The job waits (its node disabled) while the list asks for a page; that page is held
        // until the job has finished and its last events have come, then delivered as it was.
        // Drawn as sent, the row would stay "queued": no event follows a finished job's.
        const sha = crypto.createHash('sha256').update(fs.readFileSync(MODEL)).digest('hex');
        const post = async (url, body) => fetch(`${base}${url}`, {
            method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify(body || {})});
        const nodeId = (await (await fetch(`${base}/api/v1/nodes`)).json()).nodes[0].id;
        await page.goto(base + '/#/jobs');
        await page.locator('.jobs-table tr.job-row').first().waitFor({timeout: 10000});
        assert((await post(`/api/v1/nodes/${nodeId}/disable`)).ok, 'could not disable the node');
        let jobId = null;
        let held = null;
        const stateOf = async (id) => (await (await fetch(`${base}/api/v1/jobs/${id}`)).json()).state;
        await page.route(/\/api\/v1\/jobs\?/, async (route) => {
            const response = await route.fetch();
            const body = await response.text();
            const listed = jobId !== null && (JSON.parse(body).jobs || []).find((j) => j.id === jobId);
            if (held || !listed || listed.state !== 'queued') return route.fulfill({response, body});
            held = (async () => {
                assert((await post(`/api/v1/nodes/${nodeId}/enable`)).ok, 'could not enable the node');
                const until = Date.now() + RENDER_TIMEOUT_MS;
                while (await stateOf(jobId) !== 'completed' && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
                await new Promise((r) => setTimeout(r, 1000)); // its events reach the page meanwhile
                await route.fulfill({response, body});
            })();
        });
        try {
            const created = await (await post('/api/v1/jobs', {type: 'model', name: 'webui late page', input: {file: sha, name: path.basename(MODEL)},
                                                                settings: {width: 32, height: 24, spp: 1}})).json();
            jobId = created.id;
            assert(jobId, `job not accepted: ${JSON.stringify(created)}`);
            const until = Date.now() + 20000;
            while (!held && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
            assert(held, 'the list never asked for a page with the queued job');
            await held;
            assert(await stateOf(jobId) === 'completed', `the job is ${await stateOf(jobId)}`);
            await page.locator(`.jobs-table tr[data-job-id="${jobId}"] .badge-completed`).waitFor({timeout: 10000});
        } finally {
            await page.unroute(/\/api\/v1\/jobs\?/);
            await post(`/api/v1/nodes/${nodeId}/enable`);
        }
    });

    await check('a dropped .zip goes up whole and renders with its texture', async () => {
        await dropFiles(page, [box.zip]);
        const dialog = page.locator('#submit-dialog');
        await dialog.locator('.file-row').nth(2).waitFor({timeout: 10000});
        const head = await dialog.locator('.bundle-head').innerText();
        assert(/box\.zip/.test(head) && /archive/.test(head) && /3 files inside/.test(head), `bundle head "${head}"`);
        const main = await dialog.locator('.file-row:has(.main-badge:not([hidden]))').getAttribute('data-path');
        assert(main === 'box/scene.gltf', `main file ${main}`);
        const job = await submitStill('webui textured zip');
        assert(job.input.main === 'box/scene.gltf', `main ${job.input.main}`);
        assert(bundlePaths(job) === 'box/BoxTextured0.bin,box/scene.gltf,box/textures/logo.png', `bundle ${bundlePaths(job)}`);
        const c = await frameColours(job.id);
        assert(c.blue > 0.03 && c.green > 0.02, `frame lacks the texture's colours: ${JSON.stringify(c)}`);
    });

    await check('with several main files the form asks which one to render', async () => {
        await dropFiles(page, [...box.flat, MODEL]);
        const dialog = page.locator('#submit-dialog');
        const select = dialog.locator('select[name=main]');
        await select.waitFor({timeout: 5000});
        const choices = await select.locator('option').evaluateAll((os) => os.map((o) => o.value).join(','));
        assert(choices === '2CylinderEngine.glb,BoxTextured.gltf', `main choices ${choices}`);
        await select.selectOption('BoxTextured.gltf');
        const marked = await dialog.locator('.file-row:has(.main-badge:not([hidden]))').getAttribute('data-path');
        assert(marked === 'BoxTextured.gltf', `marked ${marked}`);
        assert(await dialog.locator('input[name=name]').getAttribute('placeholder') === 'BoxTextured', 'the name does not follow the main file');
        await dialog.locator('button', {hasText: 'Cancel'}).click();
    });

    await check('a .gltf sent without its .bin shows the server\'s missing_file message', async () => {
        allowedHttp = /status of 400/;
        await page.locator('#submit-open').click();
        const dialog = page.locator('#submit-dialog');
        await page.locator('#file-picker').setInputFiles(box.gltfAlone);
        await dialog.locator('.file-row').first().waitFor({timeout: 5000});
        await dialog.locator('button[type=submit]').click();
        const errorBox = dialog.locator('.form-error');
        await errorBox.waitFor({state: 'visible', timeout: 30000});
        const text = await errorBox.innerText();
        // What the server says about the same bundle, straight from the API.
        const sha = crypto.createHash('sha256').update(fs.readFileSync(box.gltfAlone)).digest('hex');
        const r = await fetch(`${base}/api/v1/jobs`, {method: 'POST', headers: {'Content-Type': 'application/json'},
            body: JSON.stringify({type: 'model', input: {main: 'BoxTextured.gltf', files: [{path: 'BoxTextured.gltf', file: sha}]}})});
        const body = await r.json();
        assert(r.status === 400 && body.error.code === 'missing_file', `server answered ${r.status} ${JSON.stringify(body)}`);
        assert(text.includes(body.error.message) && text.includes('BoxTextured0.bin'), `form shows "${text}", server said "${body.error.message}"`);
        assert(await dialog.evaluate((d) => d.open), 'dialog closed on error');
        await page.screenshot({path: path.join(SHOTS, 'submit-missing-file.png')});
        await dialog.locator('button', {hasText: 'Cancel'}).click();
        allowedHttp = null;
        assert(consoleErrors.length === 0, `console errors: ${consoleErrors.join(' | ')}`);
    });

    await check('nodes view lists the render node', async () => {
        await page.goto(base + '/#/nodes');
        await page.waitForSelector('.nodes-table tbody tr', {timeout: 10000});
        const state = await page.locator('.nodes-table tbody tr .badge').first().innerText();
        assert(/idle|busy/i.test(state), `node state ${state}`);
        await page.screenshot({path: path.join(SHOTS, 'nodes-desktop.png')});
    });

    await check('narrow layout renders the list and the job detail', async () => {
        const narrow = await context.newPage();
        await narrow.setViewportSize({width: 390, height: 844});
        const errors = [];
        narrow.on('console', (msg) => msg.type() === 'error' && errors.push(msg.text()));
        narrow.on('pageerror', (err) => errors.push(err.message));
        await narrow.goto(base + '/#/jobs');
        await narrow.waitForSelector(`.jobs-table tr[data-job-id="${jobId}"] .badge-completed`, {timeout: 10000});
        await narrow.screenshot({path: path.join(SHOTS, 'jobs-narrow.png'), fullPage: true});
        await narrow.locator(`.jobs-table tr[data-job-id="${jobId}"] a.job-link`).click();
        await narrow.waitForFunction(() => document.querySelectorAll('.gallery img.frame-img').length === 4, null, {timeout: 10000});
        assert(await narrow.locator('#jobs-pane').isHidden(), 'list still shown beside the detail on a narrow screen');
        const overflow = await narrow.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        assert(overflow <= 0, `page is ${overflow}px wider than the screen`);
        await narrow.waitForTimeout(500);
        await narrow.screenshot({path: path.join(SHOTS, 'job-narrow.png'), fullPage: true});
        assert(errors.length === 0, `console errors: ${errors.join(' | ')}`);
        await narrow.close();
    });

    await check('state filter and search narrow the list', async () => {
        await page.goto(base + '/#/jobs');
        const row = page.locator(`.jobs-table tr[data-job-id="${jobId}"]`);
        await row.waitFor({timeout: 10000});
        await page.locator('.chip[data-state="failed"]').click();
        await row.waitFor({state: 'detached', timeout: 10000});
        await page.locator('.empty-state', {hasText: 'No jobs match'}).waitFor({timeout: 10000});
        await page.locator('.chip[data-state="completed"]').click(); // failed + completed
        await row.waitFor({timeout: 10000});
        await page.locator('.chip', {hasText: 'all'}).click();
        await page.locator('input.search').fill('no such job name');
        await row.waitFor({state: 'detached', timeout: 10000});
        await page.locator('input.search').fill('e2e eng');
        await row.waitFor({timeout: 10000});
        await page.locator('input.search').fill('');
    });

    await check('deleting the finished job removes it live', async () => {
        await page.goto(base + `/#/jobs/${jobId}`);
        const del = page.locator('.detail-actions button', {hasText: 'Delete'});
        await del.click();
        await page.locator('.detail-actions button', {hasText: 'Really delete?'}).click();
        await page.locator(`.jobs-table tr[data-job-id="${jobId}"]`).waitFor({state: 'detached', timeout: 10000});
        await page.waitForFunction(() => location.hash === '#/jobs', null, {timeout: 5000});
        allowedHttp = /status of 404/;
        const r = await page.evaluate(async (id) => (await fetch(`/api/v1/jobs/${id}`)).status, jobId);
        allowedHttp = null;
        assert(r === 404, `GET of the deleted job answered ${r}`);
        assert(consoleErrors.length === 0, `console errors: ${consoleErrors.join(' | ')}`);
    });

    /** Uploads a local file through the chunked API unless the server holds it; answers its SHA-256. */
    async function ensureUploaded(file) {
        const bytes = fs.readFileSync(file);
        const sha = crypto.createHash('sha256').update(bytes).digest('hex');
        const created = await (await fetch(`${base}/api/v1/uploads`, {
            method: 'POST', headers: {'Content-Type': 'application/json'},
            body: JSON.stringify({name: path.basename(file), size: bytes.length, sha256: sha})})).json();
        if (created.exists) return sha;
        for (let i = 0, at = 0; at < bytes.length; ++i, at += created.chunk_size)
            await fetch(`${base}/api/v1/uploads/${created.id}/chunks/${i}`, {
                method: 'PUT', headers: {'Content-Type': 'application/octet-stream'},
                body: bytes.subarray(at, at + created.chunk_size)});
        const done = await (await fetch(`${base}/api/v1/uploads/${created.id}/complete`, {method: 'POST'})).json();
        assert(done.file === sha, `upload of ${file} failed: ${JSON.stringify(done)}`);
        return sha;
    }

    await check('a template set shows its images and lists its data files', async () => {
        // Deleting the drop test's job deleted its input too (no other job used it): upload it again.
        const sha = await ensureUploaded(MODEL);
        const input = {file: sha, name: path.basename(MODEL)};
        const id = await page.evaluate(async (inp) => {
            const r = await fetch('/api/v1/jobs', {method: 'POST', headers: {'Content-Type': 'application/json'},
                                                   body: JSON.stringify({type: 'templates', name: 'webui templates', input: inp,
                                                                         settings: {width: 64, height: 48, spp: 1, views: 3}})});
            return r.status === 201 ? (await r.json()).id : null;
        }, input);
        assert(id, 'templates job not accepted');
        await page.goto(base + `/#/jobs/${id}`);
        // 3 views × rgb, mask and the xyz preview PNG are images; .npy/.json are download links.
        await page.waitForFunction(() => {
            const imgs = [...document.querySelectorAll('.gallery img.frame-img')];
            return imgs.length === 9 && imgs.every((i) => i.complete && i.naturalWidth === 64);
        }, null, {timeout: RENDER_TIMEOUT_MS});
        await page.waitForFunction(() => document.querySelectorAll('.file-links a').length === 6, null, {timeout: 20000});
        const links = await page.locator('.file-links a').allInnerTexts();
        for (const name of ['cameras.json', 'poses.npy', 'intrinsics.npy', 'xyz_0.npy', 'xyz_2.npy'])
            assert(links.includes(name), `no download link for ${name}: ${links.join(', ')}`);
        const href = await page.locator('.file-links a', {hasText: 'cameras.json'}).getAttribute('href');
        const views = await page.evaluate(async (u) => (await (await fetch(u)).json()).views.length, href);
        assert(views === 3, `cameras.json holds ${views} views`);
        assert((await page.locator('.kv', {hasText: 'Views'}).innerText()).includes('3'), 'job summary does not show the views');
        await page.screenshot({path: path.join(SHOTS, 'templates-job.png')});
    });

    await check('a running frame shows its live partial image, then the finished frame', async () => {
        const sha = crypto.createHash('sha256').update(fs.readFileSync(MODEL)).digest('hex');
        const input = {file: sha, name: path.basename(MODEL)};
        // Enough samples to take seconds: the node sends partial images while it renders.
        const id = await page.evaluate(async (inp) => {
            const r = await fetch('/api/v1/jobs', {method: 'POST', headers: {'Content-Type': 'application/json'},
                                                   body: JSON.stringify({type: 'model', name: 'webui live preview', input: inp,
                                                                         settings: {width: 320, height: 240, spp: 768}})});
            return r.status === 201 ? (await r.json()).id : null;
        }, input);
        assert(id, 'preview job not accepted');
        await page.goto(base + `/#/jobs/${id}`);
        await page.waitForFunction(() => {
            const img = document.querySelector('.live-section:not([hidden]) .live-card.loaded img.live-img');
            return img && img.complete && img.naturalWidth === 320 && img.naturalHeight === 240;
        }, null, {timeout: RENDER_TIMEOUT_MS});
        const caption = await page.locator('.live-card.loaded figcaption').first().innerText();
        assert(/^Frame 1 · \d+ of 768 samples$|^Partial image$/.test(caption), `live caption "${caption}"`);
        const samples = Number(await page.locator('.live-card.loaded').first().getAttribute('data-samples') || '0');
        assert(caption === 'Partial image' || (samples >= 1 && samples < 768), `live samples ${samples}`);
        assert(await page.locator('.gallery img.frame-img').count() === 0, 'the frame is already finished');
        await page.locator('.live-section').scrollIntoViewIfNeeded();
        await page.screenshot({path: path.join(SHOTS, 'live-preview.png')});
        // The finished frame lands in the gallery and the live card goes.
        await page.waitForFunction(() => {
            const imgs = [...document.querySelectorAll('.gallery img.frame-img')];
            return imgs.length === 1 && imgs[0].complete && imgs[0].naturalWidth === 320;
        }, null, {timeout: RENDER_TIMEOUT_MS});
        await page.waitForFunction(() => document.querySelector('.live-section').hidden &&
                                         !document.querySelector('.live-card'), null, {timeout: 10000});
        assert(consoleErrors.length === 0, `console errors: ${consoleErrors.join(' | ')}`);
    });

    let testonlyId = null;

    await check('a job type declared in JSON on the server gets its own form', async () => {
        await page.goto(base + '/#/jobs');
        await page.locator('#submit-open').click();
        const dialog = page.locator('#submit-dialog');
        await page.locator('#file-picker').setInputFiles(MODEL);
        await dialog.locator('.file-row').first().waitFor({timeout: 5000});
        await dialog.locator('select[name=type]').selectOption('testonly');
        const flavour = dialog.locator('select[name="settings.flavour"]');
        const strength = dialog.locator('input[name="settings.strength"]');
        await flavour.waitFor({timeout: 5000});
        const flavourField = dialog.locator('[data-field="flavour"]');
        assert((await flavourField.locator('.field-label').innerText()) === 'Flavour', 'no "Flavour" label');
        const values = await flavour.locator('option').evaluateAll((os) => os.map((o) => o.value).join(','));
        assert(values === 'salty,sweet' && await flavour.inputValue() === 'sweet', `flavour options ${values}`);
        assert((await dialog.locator('[data-field="strength"] .field-label').innerText()) === 'Strength', 'no "Strength" label');
        assert(await strength.getAttribute('type') === 'number' && await strength.getAttribute('min') === '1' &&
               await strength.getAttribute('max') === '5' && await strength.inputValue() === '3', 'strength is not a 1–5 number input at 3');
        assert(await dialog.locator('[name^="settings."]').count() === 2, 'fields of another type left in the form');
        assert(await dialog.locator('input[name=frames]').isVisible(), 'frames hidden for a type with frames');
        await strength.fill('9');
        await dialog.locator('button[type=submit]').click();
        await dialog.locator('.form-error', {hasText: 'Strength must be between 1 and 5'}).waitFor({timeout: 5000});
        await flavour.selectOption('salty');
        await strength.fill('5');
        await dialog.locator('input[name=name]').fill('webui test-only type');
        await page.screenshot({path: path.join(SHOTS, 'submit-testonly.png')});
        const before = await page.evaluate(() => location.hash);
        await dialog.locator('button[type=submit]').click();
        await page.waitForFunction((old) => /^#\/jobs\/\d+$/.test(location.hash) && location.hash !== old, before, {timeout: 30000});
        testonlyId = Number((await page.evaluate(() => location.hash)).split('/').pop());
        const job = await (await fetch(`${base}/api/v1/jobs/${testonlyId}`)).json();
        assert(job.type === 'testonly' && job.settings.flavour === 'salty' && job.settings.strength === 5,
               `job ${JSON.stringify(job).slice(0, 300)}`);
    });

    await check('jobs of a type the page does not know still show in the list and the detail', async () => {
        assert(testonlyId, 'no test-only job');
        // A page whose list of job types lacks the type: an older tab, a type added since.
        const p = await context.newPage();
        const errors = [];
        p.on('console', (msg) => msg.type() === 'error' && errors.push(msg.text()));
        p.on('pageerror', (err) => errors.push(err.message));
        await p.route('**/api/v1/job-types', async (route) => {
            const answer = await route.fetch();
            const body = await answer.json();
            body.job_types = body.job_types.filter((t) => t.name !== 'testonly');
            await route.fulfill({response: answer, json: body});
        });
        await p.goto(base + `/#/jobs/${testonlyId}`);
        const row = p.locator(`.jobs-table tr[data-job-id="${testonlyId}"]`);
        await row.waitFor({timeout: 10000});
        assert((await row.locator('.col-name .sub').innerText()).includes('testonly'), 'the row does not name the raw type');
        await p.locator('.summary .kv-raw[data-setting="flavour"]').waitFor({timeout: 10000});
        const raw = await p.locator('.summary .kv-raw').evaluateAll((kvs) => kvs.map((kv) => kv.innerText.replace(/\s+/g, ' ').trim()));
        assert(raw.includes('flavour salty') && raw.includes('strength 5'), `raw settings ${raw.join(' | ')}`);
        assert((await p.locator('.summary .kv', {hasText: 'Type'}).first().innerText()).includes('testonly'), 'type not shown raw');
        assert(await p.locator('.jobs-table tbody tr').count() >= 5, 'the other jobs are missing from the list');
        await p.screenshot({path: path.join(SHOTS, 'job-unknown-type.png')});
        assert(errors.length === 0, `console errors: ${errors.join(' | ')}`);
        await p.close();
        await fetch(`${base}/api/v1/jobs/${testonlyId}/cancel`, {method: 'POST'}); // spare the node; may already be final
    });

    await check('optional settings left empty are not sent (the blender type keeps the scene\'s values)', async () => {
        const types = await (await fetch(`${base}/api/v1/job-types`)).json();
        const blender = types.job_types.find((t) => t.name === 'blender');
        assert(blender, 'no blender job type');
        const props = blender.schema.properties;
        const optional = Object.keys(props).filter((k) => !('default' in props[k]));
        const numeric = optional.find((k) => props[k].type === 'integer' && !props[k].enum);
        assert(optional.length >= 2 && numeric, `blender fields without defaults: ${optional.join(', ')}`);
        await page.goto(base + '/#/jobs');
        await page.locator('#submit-open').click();
        const dialog = page.locator('#submit-dialog');
        await page.locator('#file-picker').setInputFiles(MODEL);
        await dialog.locator('.file-row').first().waitFor({timeout: 5000});
        await dialog.locator('select[name=type]').selectOption('blender');
        const input = dialog.locator(`input[name="settings.${numeric}"]`);
        assert(await input.inputValue() === '' && await input.getAttribute('placeholder') === 'from the scene',
               `${numeric} does not start empty with its placeholder`);
        const value = Math.max(props[numeric].minimum ?? 1, 2);
        await input.fill(String(value));
        await page.screenshot({path: path.join(SHOTS, 'submit-blender.png')});
        // Watch what the page sends; the server may take or refuse a .glb for Blender.
        allowedHttp = /status of 400/;
        const sent = page.waitForRequest((r) => r.method() === 'POST' && r.url().endsWith('/api/v1/jobs'), {timeout: 30000});
        await dialog.locator('button[type=submit]').click();
        const body = JSON.parse((await sent).postData());
        const expected = {[numeric]: value};
        for (const [k, f] of Object.entries(props)) {
            if ('default' in f) expected[k] = f.default;
            if (!f.properties) continue;
            // A group of fields (settings.video) is sent with its defaults, less the fields its
            // own switches hide (visible_when), as the form shows them.
            const defaults = Object.fromEntries(Object.entries(f.properties).filter(([, sf]) => 'default' in sf)
                                                    .map(([sk, sf]) => [sk, sf.default]));
            expected[k] = Object.fromEntries(Object.entries(defaults).filter(([sk]) =>
                Object.entries(f.properties[sk].visible_when ?? {}).every(([dk, vals]) => vals.includes(defaults[dk]))));
        }
        const sorted = (o) => JSON.stringify(Object.keys(o).sort().map((k) => [k, o[k]]));
        assert(body.type === 'blender' && sorted(body.settings) === sorted(expected),
               `sent ${JSON.stringify(body.settings)}, expected ${JSON.stringify(expected)}`);
        await page.waitForFunction(() => !document.querySelector('#submit-dialog').open ||
                                         !document.querySelector('#submit-dialog .form-error').hidden, null, {timeout: 30000});
        if (await dialog.evaluate((d) => d.open)) await dialog.locator('button', {hasText: 'Cancel'}).click();
        const id = Number((await page.evaluate(() => location.hash)).split('/').pop());
        if (id) await fetch(`${base}/api/v1/jobs/${id}/cancel`, {method: 'POST'});
        allowedHttp = null;
    });

    await check('a farm that needs a token asks for it, then works', async () => {
        const token = 'webui-test-token';
        const m2 = await start('farm-server (token)', serverBin,
                                      ['--port', '0', '--data', path.join(tmpDir, 'data-token'), '--no-trust-loopback',
                                       '--token', token],
                                      /farm-server listening on (http:\/\/\S+?):(\d+)/);
        const locked = `http://127.0.0.1:${m2[2]}`;
        const p = await context.newPage();
        const errors = [];
        p.on('console', (msg) => {
            // The 401 answers (and the refused WebSocket) before the token is known are the point.
            if (msg.type() === 'error' && !/401|WebSocket/.test(msg.text())) errors.push(msg.text());
        });
        p.on('pageerror', (err) => errors.push(err.message));
        await p.goto(locked + '/');
        const dialog = p.locator('#token-dialog[open]');
        await dialog.waitFor({timeout: 10000});
        await dialog.locator('input[name=token]').fill(token);
        await Promise.all([p.waitForEvent('load'), dialog.locator('button[type=submit]').click()]);
        await p.waitForSelector('#conn[data-state="open"]', {timeout: 15000});
        await p.waitForSelector('#farm-status .stat-nodes', {timeout: 5000});
        assert(await p.locator('#token-dialog[open]').count() === 0, 'token prompt shown again after saving');
        assert(errors.length === 0, `console errors: ${errors.join(' | ')}`);
        await p.close();
    });

    log(`# screenshots in ${SHOTS}`);
}

let fatal = null;
const onSignal = async () => {
    await stopEverything();
    process.exit(1);
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);
try {
    await main();
} catch (e) {
    fatal = e;
    log(`FAIL setup: ${e.message}`);
} finally {
    await stopEverything();
}
process.exit(summary(fatal));
