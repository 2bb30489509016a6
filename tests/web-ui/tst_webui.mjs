#!/usr/bin/env node
// End-to-end test of the web dashboard: a real farm-server and render-node, driven through
// headless Chromium (playwright-core). Env: FARM_BUILD_DIR (required), FARM_SCREENSHOT_DIR
// (optional; default $FARM_BUILD_DIR/webui-screenshots), FARM_CHROMIUM (default /usr/bin/chromium).
// Prints one line per check and a final "N passed, M failed"; exits 0 only when all pass.

import {spawn, spawnSync} from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {createRequire} from 'node:module';
import {fileURLToPath} from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const BUILD = process.env.FARM_BUILD_DIR;
const MODEL = '/usr/share/assimp/models/glTF2/2CylinderEngine-glTF-Binary/2CylinderEngine.glb';
const CHROMIUM = process.env.FARM_CHROMIUM || '/usr/bin/chromium';
const SHOTS = process.env.FARM_SCREENSHOT_DIR || path.join(BUILD || os.tmpdir(), 'webui-screenshots');
const RENDER_TIMEOUT_MS = 180000;

const children = [];
let tmpDir = null;
let browser = null;
const results = [];

function log(line) {
    process.stdout.write(line + '\n');
}

function ensurePlaywright() {
    if (fs.existsSync(path.join(HERE, 'node_modules', 'playwright-core'))) return;
    log('# installing playwright-core (npm install)');
    const r = spawnSync('npm', ['install', '--no-audit', '--no-fund'], {cwd: HERE, stdio: 'inherit'});
    if (r.status !== 0) throw new Error('npm install failed; install playwright-core into tests/web-ui by hand');
}

/** Starts a process, mirrors its output with a prefix, answers the first regex match in its output. */
function startProcess(name, cmd, args, readyRe, timeoutMs = 30000) {
    if (!fs.existsSync(cmd)) throw new Error(`${name} not found at ${cmd} (is FARM_BUILD_DIR right and the target built?)`);
    const child = spawn(cmd, args, {cwd: tmpDir, stdio: ['ignore', 'pipe', 'pipe']});
    children.push(child);
    return new Promise((resolve, reject) => {
        let done = !readyRe;
        const timer = readyRe ? setTimeout(() => !done && reject(new Error(`${name} did not start within ${timeoutMs} ms`)), timeoutMs) : null;
        const onData = (buf) => {
            for (const line of buf.toString().split('\n')) {
                if (!line.trim()) continue;
                if (process.env.FARM_TEST_VERBOSE) log(`# [${name}] ${line}`);
                const m = !done && readyRe && line.match(readyRe);
                if (m) {
                    done = true;
                    clearTimeout(timer);
                    resolve(m);
                }
            }
        };
        child.stdout.on('data', onData);
        child.stderr.on('data', onData);
        child.on('exit', (code, signal) => {
            if (!done) {
                done = true;
                clearTimeout(timer);
                reject(new Error(`${name} exited early (code ${code}, signal ${signal})`));
            }
        });
        if (!readyRe) resolve(null);
    });
}

async function stopAll() {
    if (browser) await browser.close().catch(() => {});
    await Promise.all(children.map((child) => new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const kill = setTimeout(() => child.kill('SIGKILL'), 4000);
        child.once('exit', () => {
            clearTimeout(kill);
            resolve();
        });
        child.kill('SIGTERM');
    })));
    if (tmpDir) fs.rmSync(tmpDir, {recursive: true, force: true});
}

async function check(name, fn) {
    try {
        await fn();
        results.push(true);
        log(`PASS ${name}`);
    } catch (e) {
        results.push(false);
        log(`FAIL ${name}: ${e && e.message ? e.message.split('\n')[0] : e}`);
    }
}

function assert(cond, message) {
    if (!cond) throw new Error(message);
}

async function main() {
    assert(BUILD, 'FARM_BUILD_DIR is not set');
    ensurePlaywright();
    const require = createRequire(path.join(HERE, 'package.json'));
    const {chromium} = require('playwright-core');
    fs.mkdirSync(SHOTS, {recursive: true});
    tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'farm-webui-'));

    const serverBin = path.join(BUILD, 'farm-server', 'farm-server');
    const nodeBin = path.join(BUILD, 'render-node', 'render-node');
    const m = await startProcess('farm-server', serverBin, ['--port', '0', '--data', path.join(tmpDir, 'data')],
                                 /farm-server listening on (http:\/\/\S+?):(\d+)/);
    const base = `http://127.0.0.1:${m[2]}`; // the bind address may be 0.0.0.0; loopback is trusted
    log(`# server at ${base}`);
    await startProcess('render-node', nodeBin,
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

    await check('dropping a model opens the form and submits a job', async () => {
        await page.evaluate(() => { window.__noReload = 'still here'; });
        const bytes = fs.readFileSync(MODEL).toString('base64');
        await page.evaluate(({b64, name}) => {
            const raw = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
            const dt = new DataTransfer();
            dt.items.add(new File([raw], name, {type: 'model/gltf-binary'}));
            document.body.dispatchEvent(new DragEvent('dragenter', {dataTransfer: dt, bubbles: true, cancelable: true}));
            document.body.dispatchEvent(new DragEvent('drop', {dataTransfer: dt, bubbles: true, cancelable: true}));
        }, {b64: bytes, name: path.basename(MODEL)});
        const dialog = page.locator('#submit-dialog');
        await dialog.locator('.file-row').first().waitFor({timeout: 5000});
        assert(await page.locator('#drop-overlay').isHidden(), 'drop overlay still shown after the drop');
        // Pose templates: views shown, frames/chunk/turntable hidden, template passes ticked.
        await dialog.locator('select[name=type]').selectOption('templates');
        assert(await dialog.locator('input[name=views]').isVisible(), 'views field hidden for templates');
        assert(await dialog.locator('input[name=frames]').isHidden(), 'frames field shown for templates');
        assert(await dialog.locator('input[name=orthographic]').isHidden(), 'orthographic shown for templates');
        const ticked = async () => (await dialog.locator('input[name=pass]:checked').evaluateAll(
            (boxes) => boxes.map((b) => b.value))).join(',');
        assert(await ticked() === 'rgb,mask,xyz', `template passes ${await ticked()}`);
        await dialog.locator('select[name=type]').selectOption('model');
        assert(await dialog.locator('input[name=views]').isHidden(), 'views field shown for a model job');
        assert(await dialog.locator('input[name=orthographic]').isVisible(), 'orthographic hidden for a model job');
        assert(await dialog.locator('input[name=pass][value=instance]').count() === 1, 'no instance pass');
        assert(await ticked() === 'rgb', `model passes ${await ticked()}`);
        await dialog.locator('input[name=name]').fill('webui e2e engine');
        await dialog.locator('input[name=frames]').fill('1-4');
        await dialog.locator('input[name=chunk]').fill('2');
        await dialog.locator('input[name=width]').fill('64');
        await dialog.locator('input[name=height]').fill('48');
        await dialog.locator('input[name=spp]').fill('1');
        await dialog.locator('input[name=turntable]').setChecked(true);
        await page.screenshot({path: path.join(SHOTS, 'submit-form.png')});
        await dialog.locator('button[type=submit]').click();
        await page.waitForFunction(() => /^#\/jobs\/\d+$/.test(location.hash), null, {timeout: 30000});
        jobId = Number((await page.evaluate(() => location.hash)).split('/').pop());
        assert(!(await dialog.evaluate((d) => d.open)), 'submit dialog still open after success');
        await page.waitForSelector(`.jobs-table tr[data-job-id="${jobId}"]`, {timeout: 10000});
        const saved = await page.evaluate(() => JSON.parse(localStorage.getItem('farmhand.submit.v1')));
        assert(saved && saved.frames === '1-4' && saved.width === 64 && saved.turntable === true, 'settings not remembered');
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

    await check('a template set shows its images and lists its data files', async () => {
        // The model uploaded by the drop test is still on the server (deleting a job keeps inputs).
        const sha = crypto.createHash('sha256').update(fs.readFileSync(MODEL)).digest('hex');
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

    await check('a farm that needs a token asks for it, then works', async () => {
        const token = 'webui-test-token';
        const m2 = await startProcess('farm-server (token)', serverBin,
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
    await stopAll();
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
    await stopAll();
}
const passed = results.filter(Boolean).length;
const failed = results.length - passed + (fatal ? 1 : 0);
log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
