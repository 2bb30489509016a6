#!/usr/bin/env node
// The dashboard's operations in headless Chromium against a real farm-server and render-node:
// node drain/disable/enable and the node page (with a GPU node speaking /ws/node from the page,
// the only mocked part), the explain text, task runs and re-queue, a task log that follows,
// the pass viewer (16-bit depth and instance ids decoded in the page), turntable play, the jobs
// list's columns, URL, multi-select and bulk actions, toasts, file checks before upload,
// notifications, a server restart while offline, axe-core on every page and screenshots at
// 1280x800 and 390x844. Env: FARM_BUILD_DIR (required), FARM_SCREENSHOT_DIR, FARM_CHROMIUM.

import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
    assert, axeCheck, BUILD, check, CHROMIUM, DESKTOP, loadPlaywright, log, makeZip, PHONE, readPng, shoot, SHOTS, startProcess,
    stopAll, stopProcess, summary,
} from './harness.mjs';

const MODEL = '/usr/share/assimp/models/glTF2/2CylinderEngine-glTF-Binary/2CylinderEngine.glb';
const BOX = '/usr/share/assimp/models/glTF2/BoxTextured-glTF-Binary/BoxTextured.glb';
const RENDER_TIMEOUT_MS = 180000;
let browser = null;
let tmpDir = null;

async function dropFiles(page, files) {
    const payload = files.map((f) => ({name: f.name, b64: Buffer.from(f.data).toString('base64')}));
    await page.evaluate((list) => {
        const dt = new DataTransfer();
        for (const {name, b64} of list) dt.items.add(new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], name));
        document.body.dispatchEvent(new DragEvent('dragenter', {dataTransfer: dt, bubbles: true, cancelable: true}));
        document.body.dispatchEvent(new DragEvent('drop', {dataTransfer: dt, bubbles: true, cancelable: true}));
    }, payload);
}

/** The two-pane jobs list fits its pane on a 1280-px screen: no column is reached by scrolling
 *  sideways (the table's wrapper, and the page, are no wider than what shows). */
async function fitsSideways(page, what) {
    const size = page.viewportSize();
    assert(size.width === 1280, `${what}: measured at ${size.width} px, not 1280`);
    const m = await page.evaluate(() => {
        const wrap = document.querySelector('.jobs-pane .table-wrap');
        return {scroll: wrap.scrollWidth, client: wrap.clientWidth, page: document.documentElement.scrollWidth - window.innerWidth,
                detail: getComputedStyle(document.querySelector('.detail-pane')).display};
    });
    assert(m.detail !== 'none', `${what}: not the two-pane layout`);
    assert(m.scroll <= m.client, `${what}: the jobs table scrolls sideways (${m.scroll} px in ${m.client} px)`);
    assert(m.page <= 0, `${what}: the page is ${m.page} px wider than the screen`);
}

async function main() {
    assert(BUILD, 'FARM_BUILD_DIR is not set');
    const {chromium} = loadPlaywright();
    tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'farm-webui-ops-'));
    const serverBin = path.join(BUILD, 'farm-server', 'farm-server');
    const nodeBin = path.join(BUILD, 'render-node', 'render-node');
    const dataDir = path.join(tmpDir, 'data');
    const ready = /farm-server listening on (http:\/\/\S+?):(\d+)/;
    let server = startProcess('farm-server', serverBin, ['--port', '0', '--data', dataDir], ready, {cwd: tmpDir});
    const port = (await server.started)[2];
    const base = `http://127.0.0.1:${port}`;
    log(`# server at ${base}`);
    startProcess('render-node', nodeBin, ['--server', base, '--name', 'ops-node', '--cache', path.join(tmpDir, 'cache')], null,
                 {cwd: tmpDir});

    const api = async (method, url, body) => {
        const r = await fetch(base + url, {method, headers: body ? {'Content-Type': 'application/json'} : {},
                                           body: body ? JSON.stringify(body) : undefined});
        return r.status === 204 ? null : r.json();
    };
    /** Uploads a file through the chunked API unless the server has it; answers its SHA-256. */
    const upload = async (file) => {
        const data = fs.readFileSync(file);
        const hash = crypto.createHash('sha256').update(data).digest('hex');
        const up = await api('POST', '/api/v1/uploads', {name: path.basename(file), size: data.length, sha256: hash});
        if (!up.exists) {
            for (let n = 0; n < up.chunks; n++) {
                const part = data.subarray(n * up.chunk_size, (n + 1) * up.chunk_size);
                await fetch(`${base}/api/v1/uploads/${up.id}/chunks/${n}`, {method: 'PUT', body: part});
            }
            await api('POST', `/api/v1/uploads/${up.id}/complete`);
        }
        return hash;
    };
    const bytes = fs.readFileSync(MODEL);
    const sha = await upload(MODEL);
    // The engine is modelled in millimetres: its depth (1000 per scene unit) passes 65535 mm, so
    // the depth checks use the box, a model in metres.
    const boxSha = await upload(BOX);
    const input = {file: sha, name: 'engine.glb'};
    const submit = (spec) => api('POST', '/api/v1/jobs', {type: 'model', input, ...spec});
    const job = (id) => api('GET', `/api/v1/jobs/${id}`);
    const waitJob = async (id, states, ms = RENDER_TIMEOUT_MS) => {
        const until = Date.now() + ms;
        for (;;) {
            const j = await job(id);
            if (states.includes(j.state)) return j;
            assert(Date.now() < until, `job ${id} is ${j.state}, waited for ${states.join('|')}`);
            await new Promise((r) => setTimeout(r, 250));
        }
    };

    browser = await chromium.launch({executablePath: CHROMIUM, headless: true,
                                     args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking']});
    const context = await browser.newContext({viewport: DESKTOP});
    await context.grantPermissions(['notifications'], {origin: base});
    const page = await context.newPage();
    const consoleErrors = [];
    let offlinePhase = false;
    page.on('console', (msg) => {
        if (msg.type() !== 'error') return;
        // While the server is down every request fails, and Chromium says so.
        if (offlinePhase && /ERR_CONNECTION_REFUSED|WebSocket|Failed to load resource/.test(msg.text())) return;
        consoleErrors.push(`${msg.text()} (${msg.location().url || 'page'})`);
    });
    page.on('pageerror', (err) => consoleErrors.push(`pageerror: ${err.message}`));
    const noErrors = () => assert(consoleErrors.length === 0, `console errors: ${consoleErrors.join(' | ')}`);
    const phone = await context.newPage();
    await phone.setViewportSize(PHONE);
    phone.on('pageerror', (err) => consoleErrors.push(`phone pageerror: ${err.message}`));

    await page.goto(base + '/#/jobs');
    await page.waitForSelector('#conn[data-state="open"]', {timeout: 15000});

    // The passes job renders while the node checks run; notifications on before it finishes.
    await check('notifications: the header bell asks, then a finished job notifies', async () => {
        await page.locator('#notify-toggle').click();
        await page.waitForSelector('#notify-toggle[aria-pressed="true"]', {timeout: 5000});
        await page.evaluate(() => {
            window.__notified = [];
            window.addEventListener('farmhand:notified', (e) => window.__notified.push(e.detail));
        });
    });
    const passes = await submit({name: 'ops passes', frames: '1-3', chunk: 3,
                                 settings: {width: 64, height: 48, spp: 1, camera: {mode: 'turntable'},
                                            passes: ['rgb', 'normal', 'depth', 'mask', 'xyz', 'instance']}});
    assert(passes.id, `passes job refused: ${JSON.stringify(passes)}`);
    const depthJob = await api('POST', '/api/v1/jobs', {type: 'model', name: 'ops depth box', input: {file: boxSha, name: 'box.glb'},
                                                        settings: {width: 64, height: 48, spp: 1, passes: ['rgb', 'depth']}});
    assert(depthJob.id, `depth job refused: ${JSON.stringify(depthJob)}`);

    await check('nodes: drain, enable, disable from the page; a GPU node shows its load and memory', async () => {
        // A node with a GPU and no engine (so it takes no task), speaking the node protocol.
        await page.evaluate((url) => new Promise((resolve, reject) => {
            const ws = new WebSocket(url);
            window.__gpuNode = ws;
            ws.onopen = () => {
                ws.send(JSON.stringify({type: 'hello', seq: 1, data: {protocol: 1, name: 'ops-gpu', slots: 1, cores: 8, ram_mb: 16000,
                    engines: [], tags: [], running: [],
                    gpus: [{name: 'Test GPU 8G', uuid: 'GPU-0000-test', vram_mb: 8192, cc: '8.6', driver: '550.1'}]}}));
            };
            ws.onmessage = (e) => {
                const m = JSON.parse(e.data);
                if (m.type === 'welcome') {
                    ws.send(JSON.stringify({type: 'heartbeat', seq: 2, data: {running: [],
                        gpus: [{uuid: 'GPU-0000-test', utilization: 0.5, memory_used_mb: 2048, memory_total_mb: 8192}]}}));
                    resolve();
                } else if (m.type === 'error') reject(new Error(m.data.message));
            };
            ws.onerror = () => reject(new Error('node socket failed'));
        }), base.replace('http', 'ws') + '/ws/node');
        await page.goto(base + '/#/nodes');
        const gpuRow = page.locator('.nodes-table tr', {hasText: 'ops-gpu'});
        await gpuRow.locator('.gpu-util').waitFor({timeout: 10000});
        assert((await gpuRow.locator('.gpu-util').innerText()) === '50 % busy', 'GPU utilisation not shown');
        assert((await gpuRow.locator('.gpu-mem').innerText()) === '2.0 GB of 8.0 GB', `GPU memory ${await gpuRow.locator('.gpu-mem').innerText()}`);
        const row = page.locator('.nodes-table tr', {hasText: 'ops-node'});
        const nodeId = Number(await row.getAttribute('data-node-id'));
        const state = async () => (await api('GET', '/api/v1/nodes')).nodes.find((n) => n.id === nodeId).state;
        for (const [action, want] of [['drain', 'draining'], ['enable', /idle|busy/], ['disable', 'disabled'], ['enable', /idle|busy/]]) {
            await row.locator(`button[data-action="${action}"]`).click();
            await row.locator(want instanceof RegExp ? '.badge-idle, .badge-busy' : `.badge-${want}`).waitFor({timeout: 10000});
            const s = await state();
            assert(want instanceof RegExp ? want.test(s) : s === want, `after ${action} the node is ${s}`);
        }
        await axeCheck(page, 'the nodes page');
        await shoot(page, 'nodes');
        noErrors();
    });

    await check('the job page: why a queued job waits, in the server\'s words', async () => {
        const stuck = await submit({name: 'ops no node fits', settings: {width: 32, height: 24, spp: 1},
                                    requirements: {gpu: false, tags: ['no-such-tag']}});
        await page.goto(`${base}/#/jobs/${stuck.id}`);
        const box = page.locator('.explain:not([hidden])');
        await box.waitFor({timeout: 10000});
        const reasons = (await api('GET', `/api/v1/jobs/${stuck.id}/explain`)).reasons;
        const shown = await box.locator('li').allInnerTexts();
        assert(reasons.length && shown.length === reasons.length && reasons.every((r) => shown.join('\n').includes(r.split(':')[0])),
               `explain shows ${JSON.stringify(shown)}, server says ${JSON.stringify(reasons)}`);
        assert(/no-such-tag|tag/.test(shown.join(' ')), `the reasons do not name the tag: ${shown.join(' | ')}`);
        await axeCheck(page, 'a queued job');
        await shoot(page, 'job-queued');
        await api('POST', `/api/v1/jobs/${stuck.id}/cancel`);
    });

    await check('the pass viewer: groups by pass, decodes 16-bit depth and instance ids, flips and plays', async () => {
        await waitJob(passes.id, ['completed']);
        await page.goto(`${base}/#/jobs/${passes.id}`);
        const count = page.locator('.frames-count');
        await page.waitForFunction(() => document.querySelectorAll('.pass-group').length >= 6, null, {timeout: 15000});
        const header = await count.textContent();
        assert(/^\(3 frames · \d+ files\)$/.test(header), `frames header "${header}"`);
        const groups = await page.locator('.pass-group').evaluateAll((gs) => gs.map((g) => g.dataset.pass).join(','));
        assert(groups === 'rgb,normal,depth,mask,xyz,instance', `pass groups ${groups}`);
        await page.waitForFunction(() => [...document.querySelectorAll('.pass-group[data-pass="depth"] img')]
            .every((i) => i.dataset.decoded === 'yes' && i.complete && i.naturalWidth === 64), null, {timeout: 10000});
        // Task runs: each ran once.
        const runs = await page.locator('.tasks-table tbody tr td:nth-child(5)').allInnerTexts();
        assert(runs.join() === '1', `runs column ${runs.join()}`);
        await axeCheck(page, 'a job with passes');
        await shoot(page, 'job-passes');

        // Depth: the box's 16-bit millimetres in false colour, the legend and the value under the cursor.
        await waitJob(depthJob.id, ['completed']);
        await page.goto(`${base}/#/jobs/${depthJob.id}`);
        await page.locator('.pass-group[data-pass="depth"] img[data-decoded="yes"]').waitFor({timeout: 10000});
        await page.locator('.pass-group[data-pass="rgb"] .tile-img').first().click();
        let viewer = page.locator('#lightbox[open]');
        await viewer.waitFor({timeout: 5000});
        // The viewer shows the box's texture: the logo's sky blue and grass green, as the page draws it.
        const logo = await page.waitForFunction(() => {
            const img = document.querySelector('#lightbox .lightbox-img:not([hidden])');
            if (!img || !img.complete || !img.naturalWidth) return null;
            const c = document.createElement('canvas');
            [c.width, c.height] = [img.naturalWidth, img.naturalHeight];
            const g = c.getContext('2d');
            g.drawImage(img, 0, 0);
            const d = g.getImageData(0, 0, c.width, c.height).data;
            let blue = 0;
            let green = 0;
            for (let i = 0; i < d.length; i += 4) {
                const [r, gr, b] = [d[i], d[i + 1], d[i + 2]];
                if (b > 60 && b > r * 1.35 && b > gr * 1.05) blue++;
                if (gr > 50 && gr > r * 1.25 && gr > b * 1.6) green++;
            }
            return {blue: blue / (d.length / 4), green: green / (d.length / 4)};
        }, null, {timeout: 10000}).then((h) => h.jsonValue());
        assert(logo.blue > 0.02 && logo.green > 0.01, `the viewer's frame lacks the texture's colours ${JSON.stringify(logo)}`);
        await viewer.locator('.pass-btn[data-pass="depth"]').click();
        await page.waitForFunction(() => document.querySelector('#lightbox .lightbox-canvas:not([hidden])') &&
                                         document.querySelector('#lightbox .viewer-legend .legend-min'), null, {timeout: 10000});
        // The legend's range is the range of the PNG's hit samples, read here independently.
        const depthPng = readPng(Buffer.from(await (await fetch(`${base}/api/v1/jobs/${depthJob.id}/outputs/frame_0001_depth.png`)).arrayBuffer()));
        assert(depthPng.depth === 16, `depth PNG has ${depthPng.depth} bits`);
        const hits = depthPng.samples.filter((v) => v > 0);
        const lo = Math.min(...hits);
        const hi = Math.max(...hits);
        const legend = await viewer.locator('.viewer-legend').innerText();
        assert(legend.includes(`${lo} mm`) && legend.includes(`${hi} mm`), `legend "${legend}", PNG range ${lo}-${hi}`);
        // Pixels: false colour, not black; the value under the cursor is the sample there.
        const stats = await page.evaluate(() => {
            const c = document.querySelector('#lightbox .lightbox-canvas');
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            const colours = new Set();
            let bright = 0;
            for (let i = 0; i < d.length; i += 4) {
                colours.add(`${d[i]},${d[i + 1]},${d[i + 2]}`);
                if (d[i] + d[i + 1] + d[i + 2] > 150) bright++;
            }
            return {colours: colours.size, bright, w: c.width, h: c.height};
        });
        assert(stats.w === 64 && stats.colours > 8 && stats.bright > 50, `depth canvas ${JSON.stringify(stats)}`);
        const hit = depthPng.samples.findIndex((v) => v > 0 && v < hi);
        const [hx, hy] = [hit % 64, Math.floor(hit / 64)];
        const canvasBox = await viewer.locator('.lightbox-canvas').boundingBox();
        const scale = Math.min(canvasBox.width / 64, canvasBox.height / 48);
        await page.mouse.move(canvasBox.x + (canvasBox.width - 64 * scale) / 2 + (hx + 0.5) * scale,
                              canvasBox.y + (canvasBox.height - 48 * scale) / 2 + (hy + 0.5) * scale);
        const probe = await viewer.locator('.viewer-probe').innerText();
        assert(probe.includes(`(${hx}, ${hy}) depth ${depthPng.samples[hit]} mm`), `probe "${probe}" at ${hx},${hy}`);
        await shoot(page, 'viewer-depth');
        await axeCheck(page, 'the frame viewer');

        await viewer.locator('.close-btn').click();
        // Instance ids, normals, flipping and playing on the engine's three frames.
        await page.goto(`${base}/#/jobs/${passes.id}`);
        await page.locator('.pass-group[data-pass="rgb"] .tile-img').first().click();
        viewer = page.locator('#lightbox[open]');
        await viewer.waitFor({timeout: 5000});
        await viewer.locator('.pass-btn[data-pass="instance"]').click();
        await page.waitForFunction(() => document.querySelector('#lightbox').dataset.pass === 'instance' &&
                                         document.querySelector('#lightbox .viewer-legend').dataset.pass === 'instance', null, {timeout: 10000});
        const instPng = readPng(Buffer.from(await (await fetch(`${base}/api/v1/jobs/${passes.id}/outputs/frame_0001_instance.png`)).arrayBuffer()));
        const ids = new Set(instPng.samples.filter((v) => v > 0));
        assert(Number(await viewer.locator('.viewer-legend').getAttribute('data-ids')) === ids.size && ids.size >= 2,
               `legend ids ${await viewer.locator('.viewer-legend').getAttribute('data-ids')}, PNG has ${ids.size}`);
        const instColours = await page.evaluate(() => {
            const c = document.querySelector('#lightbox .lightbox-canvas');
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            const s = new Set();
            for (let i = 0; i < d.length; i += 4) s.add(`${d[i]},${d[i + 1]},${d[i + 2]}`);
            return s.size;
        });
        assert(instColours === ids.size + 1, `${instColours} colours for ${ids.size} ids and the background`);
        await shoot(page, 'viewer-instance');

        await viewer.locator('.pass-btn[data-pass="normal"]').click();
        await page.waitForFunction(() => document.querySelector('#lightbox .viewer-legend').dataset.pass === 'normal', null, {timeout: 10000});
        // Flip keeps the pass; play walks the frames.
        await viewer.locator('button[aria-label="Next frame"]').click();
        await page.waitForFunction(() => document.querySelector('#lightbox').dataset.key === '2' &&
                                         document.querySelector('#lightbox').dataset.pass === 'normal', null, {timeout: 5000});
        await viewer.locator('.play-btn').click();
        const seen = new Set();
        const until = Date.now() + 5000;
        while (seen.size < 3 && Date.now() < until) {
            seen.add(await page.evaluate(() => document.querySelector('#lightbox').dataset.key));
            await page.waitForTimeout(40);
        }
        assert(seen.size === 3, `playing showed frames ${[...seen].join(',')}`);
        await viewer.locator('.play-btn').click();
        await viewer.locator('.close-btn').click();
        assert(!(await page.locator('#lightbox').evaluate((d) => d.open)), 'the viewer did not close');
        noErrors();
    });

    await check('a finished job notified the browser', async () => {
        const got = await page.evaluate(() => window.__notified || []);
        assert(got.some((n) => n.id === passes.id && n.state === 'completed'), `notifications ${JSON.stringify(got)}`);
    });

    await check('re-queue a done task: it renders again and the job completes again', async () => {
        await page.goto(`${base}/#/jobs/${passes.id}`);
        const tasksOf = async () => (await api('GET', `/api/v1/jobs/${passes.id}/tasks`)).tasks;
        const before = (await tasksOf())[0];
        const btn = page.locator('.tasks-table tbody tr').first().locator('.requeue-btn');
        await btn.click();
        await page.locator('.tasks-table .requeue-btn', {hasText: 'Render again?'}).click();
        await page.locator('#toasts .toast', {hasText: 'is queued again'}).waitFor({timeout: 10000});
        for (const end = Date.now() + RENDER_TIMEOUT_MS; ;) {
            const t = (await tasksOf())[0];
            if (t.state === 'done' && t.finished_at !== before.finished_at) break;
            assert(t.state !== 'failed' && Date.now() < end, `the re-queued task is ${t.state} ${t.error}`);
            await page.waitForTimeout(200);
        }
        await waitJob(passes.id, ['completed']);
        await page.locator('.tasks-table tbody .badge-done').waitFor({timeout: 10000});
    });

    await check('a running task\'s log follows; a canceled job keeps its progress', async () => {
        // One task of two frames: the first frame's image lands while the task still renders.
        const long = await submit({name: 'ops long', frames: '1-2', chunk: 2, settings: {width: 160, height: 120, spp: 2048}});
        await page.goto(`${base}/#/jobs/${long.id}`);
        const running = page.locator('.tasks-table tbody tr', {has: page.locator('.badge-running')}).first();
        await running.waitFor({timeout: RENDER_TIMEOUT_MS});
        await running.locator('button', {hasText: 'Log'}).click();
        await page.locator('.log-live:not([hidden])').waitFor({timeout: 5000});
        await page.waitForFunction(() => Number(document.querySelector('.log').dataset.loads || 0) >= 3, null, {timeout: 15000});
        await shoot(page, 'job-log');
        const tasksFit = await page.evaluate(() => {
            const wrap = document.querySelector('.tasks-table').closest('.table-wrap');
            return {scroll: wrap.scrollWidth, client: wrap.clientWidth};
        });
        assert(tasksFit.scroll <= tasksFit.client, `the tasks table scrolls sideways at 1280 (${tasksFit.scroll} px in ${tasksFit.client} px)`);
        // Once frame 1 landed, cancel: the task is not done, yet the bar keeps the frame.
        for (const end = Date.now() + RENDER_TIMEOUT_MS; ;) {
            const outs = (await api('GET', `/api/v1/jobs/${long.id}/outputs`)).outputs.map((o) => o.name);
            if (outs.includes('frame_0001.png')) break;
            assert(Date.now() < end, 'frame 1 of the long job never landed');
            await page.waitForTimeout(200);
        }
        // The page of a rendering job changes under the pointer (live preview, log, frames): in
        // 2 of about 8 full runs Playwright found this button moving or redrawn for 30 s, cause
        // not found. So it is pressed as the keyboard would (focus + Enter), twice as it asks,
        // and again from the start if the page redrew it in between.
        for (let tries = 0; ; ++tries) {
            await page.locator('.detail-actions button', {hasText: 'Cancel job'}).press('Enter', {timeout: 10000});
            const armed = page.locator('.detail-actions button', {hasText: 'Really cancel?'});
            if (await armed.count()) {
                await armed.press('Enter', {timeout: 10000});
                break;
            }
            assert(tries < 3, 'the Cancel button did not ask "Really cancel?"');
        }
        await page.locator('.detail-head .badge-canceled').waitFor({timeout: 10000});
        const after = await job(long.id);
        await page.waitForFunction(() => Number(document.querySelector('.detail-progress [role=progressbar]').getAttribute('aria-valuenow')) > 0,
                                   null, {timeout: 10000}).catch(() => {});
        const pct = Number(await page.locator('.detail-progress [role=progressbar]').getAttribute('aria-valuenow'));
        const landed = (await api('GET', `/api/v1/jobs/${long.id}/outputs`)).outputs.filter((o) => /^frame_\d+\.png$/.test(o.name)).length;
        assert(after.tasks.done === 0 && landed >= 1 && pct >= 50 * landed,
               `canceled job shows ${pct}% with ${landed} of 2 frames landed (server: ${Math.round(after.progress * 100)}%, ${after.tasks.done} tasks done)`);
        await page.locator('.log-live').waitFor({state: 'hidden', timeout: 10000});
        noErrors();
    });

    await check('jobs list: columns, URL with filters, multi-select and bulk actions', async () => {
        const a = await submit({name: 'ops bulk a, whose long name the two-pane list cuts to its column', settings: {width: 32, height: 24, spp: 1}, requirements: {gpu: false, tags: ['never']}});
        const b = await submit({name: 'ops bulk b', settings: {width: 32, height: 24, spp: 1}, requirements: {gpu: false, tags: ['never']}});
        await page.goto(`${base}/#/jobs?q=ops%20bulk`);
        await page.waitForFunction(() => document.querySelectorAll('.jobs-table tbody tr').length === 2, null, {timeout: 10000});
        assert(await page.locator('input.search').inputValue() === 'ops bulk', 'search not taken from the URL');
        const head = await page.locator('.jobs-table thead th').allInnerTexts();
        for (const col of ['OWNER', 'PRIO', 'ELAPSED', 'ETA', 'PER FRAME']) assert(head.map((x) => x.toUpperCase()).includes(col), `no ${col} column: ${head.join(',')}`);
        assert((await page.locator(`tr[data-job-id="${a.id}"] .col-owner`).innerText()) === a.owner && a.owner, `owner ${a.owner}`);
        await page.locator('.check-all').check();
        await page.locator('.bulk-bar:not([hidden])').waitFor({timeout: 5000});
        const both = async (pred) => {
            const [x, y] = [await job(a.id), await job(b.id)];
            return pred(x) && pred(y);
        };
        const until = async (pred, what) => {
            const end = Date.now() + 10000;
            while (!(await both(pred))) {
                assert(Date.now() < end, `bulk ${what} did not reach both jobs`);
                await page.waitForTimeout(100);
            }
        };
        await page.locator('.bulk-bar button', {hasText: /^Pause$/}).click();
        await until((j) => j.state === 'paused', 'pause');
        await page.locator('.bulk-bar button', {hasText: /^Resume$/}).click();
        await until((j) => j.state === 'queued', 'resume');
        await page.locator('.bulk-bar input.priority-input').fill('80');
        await page.locator('.bulk-bar button', {hasText: 'Set priority'}).click();
        await until((j) => j.priority === 80, 'priority');
        await axeCheck(page, 'the jobs list with a selection');
        await fitsSideways(page, 'the jobs list with a selection');
        // The long name is cut with an ellipsis; its tooltip holds it whole, with the job's id.
        const link = page.locator(`tr[data-job-id="${a.id}"] a.job-link`);
        // Read again while live updates redraw the row (a replaced row measures 0 × 0).
        const measure = () => link.evaluate((el) => {
            const text = document.createRange();
            text.selectNodeContents(el);
            return {text: Math.round(text.getBoundingClientRect().width), shown: el.clientWidth, overflow: getComputedStyle(el).textOverflow};
        });
        let cut = await measure();
        for (const end = Date.now() + 5000; !(cut.shown > 0) && Date.now() < end;) {
            await page.waitForTimeout(100);
            cut = await measure();
        }
        assert(cut.text > cut.shown && cut.overflow === 'ellipsis', `the long name is not cut: ${JSON.stringify(cut)}`);
        assert(await link.getAttribute('title') === `#${a.id} ${a.name}`, `title "${await link.getAttribute('title')}"`);
        await shoot(page, 'jobs-bulk');
        await page.locator('.bulk-bar button', {hasText: /^Cancel$/}).click();
        await page.locator('.bulk-bar button', {hasText: 'Really cancel?'}).click();
        await until((j) => j.state === 'canceled', 'cancel');
        await page.locator('.bulk-bar button', {hasText: /^Delete$/}).click();
        await page.locator('.bulk-bar button', {hasText: 'Really delete?'}).click();
        await page.waitForFunction(() => document.querySelectorAll('.jobs-table tbody tr').length === 0, null, {timeout: 10000});
        // Filters land in the URL and come back from it.
        await page.locator('input.search').fill('');
        await page.locator('.chip[data-state="completed"]').click();
        await page.waitForFunction(() => location.hash === '#/jobs?state=completed', null, {timeout: 5000});
        await page.reload();
        await page.waitForSelector('.chip[data-state="completed"][aria-pressed="true"]', {timeout: 10000});
        const completed = (await api('GET', '/api/v1/jobs?state=completed')).total;
        await page.waitForFunction(([id, n]) => document.querySelector(`.jobs-table tr[data-job-id="${id}"]`) &&
                                                document.querySelectorAll('.jobs-table tbody tr').length === n, [passes.id, completed],
                                   {timeout: 10000});
        noErrors();
    });

    await check('toasts stack at most four, all on screen', async () => {
        await page.evaluate(async () => {
            const {toast} = await import('./js/dom.js');
            for (let i = 0; i < 12; i++) toast(`burst ${i}`, 'info', 20000);
            for (let i = 0; i < 3; i++) toast('same again', 'error', 20000);
        });
        const boxes = await page.locator('#toasts .toast').evaluateAll((ts) => ts.map((t) => {
            const r = t.getBoundingClientRect();
            return {top: r.top, bottom: r.bottom, text: t.innerText};
        }));
        assert(boxes.length === 4, `${boxes.length} toasts`);
        assert(boxes.every((b) => b.top >= 0 && b.bottom <= 800), `toasts off screen ${JSON.stringify(boxes)}`);
        assert(/same again\s*×3/.test(boxes[3].text), `repeated toast "${boxes[3].text}"`);
        await page.evaluate(() => document.getElementById('toasts').replaceChildren());
    });

    await check('files are checked before any upload: empty, no job type, picker extensions; errors without node paths', async () => {
        const uploads = [];
        const onRequest = (r) => r.url().includes('/api/v1/uploads') && uploads.push(r.url());
        page.on('request', onRequest);
        await page.goto(`${base}/#/jobs`);
        const dialog = page.locator('#submit-dialog');
        await dropFiles(page, [{name: 'empty.glb', data: Buffer.alloc(0)}]);
        await dialog.locator('.bundle-problems', {hasText: 'empty.glb is empty'}).waitFor({timeout: 5000});
        assert(await dialog.locator('button[type=submit]').isDisabled(), 'submit enabled for an empty file');
        await axeCheck(page, 'the submit dialog');
        await shoot(page, 'submit-empty');
        await dialog.locator('button.cancel-submit').click();
        await dropFiles(page, [{name: 'notes.txt', data: Buffer.from('hello')}, {name: 'noise.bin', data: crypto.randomBytes(64)}]);
        const problem = dialog.locator('.bundle-problems');
        await problem.waitFor({timeout: 5000});
        const text = await problem.innerText();
        assert(/noise\.bin, notes\.txt: no job type of this farm takes \.bin or \.txt files/.test(text) && /\.glb/.test(text),
               `no-type message "${text}"`);
        assert(await dialog.locator('button[type=submit]').isDisabled(), 'submit enabled for files no type takes');
        await dialog.locator('button.cancel-submit').click();
        // A .zip goes up whole: a file in it that its type does not take beside the main file
        // (the model type's side_extensions lack .txt) refuses it before the upload, by name.
        const zip = makeZip([{name: 'box/box.glb', data: fs.readFileSync(BOX)}, {name: 'box/readme.txt', data: Buffer.from('hi')}]);
        await dropFiles(page, [{name: 'box.zip', data: zip}]);
        await problem.waitFor({timeout: 5000});
        const zipText = await problem.innerText();
        assert(/^box\/readme\.txt in box\.zip: 3D model jobs do not take \.txt files beside box\/box\.glb \(they take \.bin/.test(zipText) &&
               /Nothing was uploaded\.$/.test(zipText), `zip message "${zipText}"`);
        assert(await dialog.locator('button[type=submit]').isDisabled(), 'submit enabled for a zip the server would refuse');
        await shoot(page, 'submit-zip-refused');
        await dialog.locator('button.cancel-submit').click();
        assert(uploads.length === 0, `uploaded: ${uploads.join(', ')}`);
        page.off('request', onRequest);
        const types = await api('GET', '/api/v1/job-types');
        const exts = [...new Set(types.job_types.flatMap((t) => t.extensions))];
        const accept = (await page.locator('#file-picker').getAttribute('accept')).split(',');
        assert(accept.length === exts.length + 1 && exts.every((x) => accept.includes(`.${x}`)) && accept.includes('.zip'),
               `accept="${accept.join(',')}", types take ${exts.join(',')}`);
        const shown = await page.evaluate(async () => {
            const {readableError} = await import('./js/dom.js');
            return readableError('cannot load /var/cache/farm/node/work/task-31/input/models/engine.glb: bad magic');
        });
        assert(shown === 'cannot load engine.glb: bad magic', `readable error "${shown}"`);
    });

    await check('a job that fails on the node shows its error without the node\'s paths', async () => {
        const noise = path.join(tmpDir, 'noise.glb');
        fs.writeFileSync(noise, crypto.randomBytes(2048));
        const noiseSha = await upload(noise);
        const bad = await api('POST', '/api/v1/jobs', {type: 'model', name: 'ops noise', input: {file: noiseSha, name: 'noise.glb'},
                                                       settings: {width: 32, height: 24, spp: 1}});
        const failed = await waitJob(bad.id, ['failed']);
        const raw = `${failed.error}`;
        assert(/\/[^\s]*\/noise\.glb/.test(raw), `the server's error names no path (nothing to hide): ${raw}`);
        await page.goto(`${base}/#/jobs/${bad.id}`);
        const line = page.locator('.job-error:not([hidden])');
        await line.waitFor({timeout: 10000});
        const shown = [await line.innerText(), ...(await page.locator('.tasks-table .task-error').allInnerTexts())].join(' | ');
        assert(shown.includes('noise.glb') && !/\/[^\s]*\/noise\.glb/.test(shown) && !shown.includes(tmpDir),
               `shown "${shown}" (the server said "${raw}")`);
        const runs = await page.locator('.tasks-table tbody tr td:nth-child(5)').allInnerTexts();
        // Bytes no importer reads fail the same way on any node: one run, not three.
        assert(runs.join() === '1', `runs of a task whose model no importer reads: ${runs.join()}`);
        assert(/not retried \(invalid_input/.test(raw), `the job's error says why it ran once: ${raw}`);
        await shoot(page, 'job-failed');
        // Retry from the page: the server queues the job again (its tasks' attempts start over),
        // and it fails again on the node, the file being noise still.
        const [retried] = await Promise.all([
            page.waitForResponse((r) => r.url().endsWith(`/api/v1/jobs/${bad.id}/retry`) && r.request().method() === 'POST'),
            page.locator('.detail-actions button', {hasText: /^Retry$/}).click()]);
        const answer = await retried.json();
        assert(retried.status() === 200 && ['queued', 'active'].includes(answer.state),
               `Retry answered ${retried.status()} ${JSON.stringify(answer)}`);
        const again = await waitJob(bad.id, ['failed']);
        const runsAgain = (await api('GET', `/api/v1/jobs/${bad.id}/tasks`)).tasks[0].attempts;
        assert(runsAgain >= 1 && again.error, `after Retry: ${JSON.stringify(again)} (attempts ${runsAgain})`);
        await api('DELETE', `/api/v1/jobs/${bad.id}`);
    });

    await check('the node page lists its recent tasks; phone layout keeps every action reachable', async () => {
        const nodes = (await api('GET', '/api/v1/nodes')).nodes;
        const node = nodes.find((n) => n.name === 'ops-node');
        const nodeTaskReads = [];
        const onNodeRequest = (r) => /\/api\/v1\/(nodes\/\d+|jobs\/\d+)\/tasks/.test(r.url()) && nodeTaskReads.push(new URL(r.url()).pathname);
        page.on('request', onNodeRequest);
        await page.goto(`${base}/#/nodes/${node.id}`);
        const recent = page.locator('.node-recent tbody tr');
        await recent.first().waitFor({timeout: 10000});
        const jobsShown = await page.locator('.node-recent tbody tr td:first-child').allInnerTexts();
        assert(jobsShown.some((t) => t.includes('ops passes')) && jobsShown.some((t) => t.includes('ops long')), `recent tasks ${jobsShown.join(' | ')}`);
        page.off('request', onNodeRequest);
        // One read of the node's own tasks, no job's task list; the rows are the API's, in its order.
        assert(nodeTaskReads.length > 0 && nodeTaskReads.every((u) => u === `/api/v1/nodes/${node.id}/tasks`),
               `the node page read ${nodeTaskReads.join(', ')}`);
        let listed = [];
        let rowIds = [];
        for (let i = 0; i < 20; i++) { // a task may start between the page's read and this one
            listed = (await api('GET', `/api/v1/nodes/${node.id}/tasks?limit=50`)).tasks;
            rowIds = await recent.evaluateAll((rows) => rows.map((r) => Number(r.dataset.taskId)));
            if (rowIds.join() === listed.map((t) => t.id).join()) break;
            await new Promise((r) => setTimeout(r, 250));
        }
        assert(listed.length > 0 && rowIds.join() === listed.map((t) => t.id).join(),
               `rows ${rowIds.join()} vs the endpoint's ${listed.map((t) => t.id).join()}`);
        assert(listed.every((t) => t.node_id === node.id && t.job_name), 'the endpoint lists tasks of another node or without a job name');
        await axeCheck(page, 'a node page');
        await shoot(page, 'node');
        await page.goto(`${base}/docs.html`);
        await page.waitForLoadState('load');
        await axeCheck(page, 'the API page');
        await shoot(page, 'api');
        await phone.goto(`${base}/docs.html`);
        await phone.waitForLoadState('load');
        await axeCheck(phone, 'the API page on a phone');
        const apiOverflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        assert(apiOverflow <= 0, `the API page is ${apiOverflow}px wider than the phone`);
        await shoot(phone, 'api');

        for (const [hash, name] of [['#/jobs', 'jobs'], [`#/jobs/${passes.id}`, 'job'], ['#/nodes', 'nodes'], [`#/nodes/${node.id}`, 'node']]) {
            await phone.goto(`${base}/${hash}`);
            await phone.waitForSelector('#conn[data-state="open"]', {timeout: 15000});
            await phone.waitForTimeout(400);
            const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
            assert(overflow <= 0, `${name}: the page is ${overflow}px wider than the phone`);
            if (name === 'job') {
                const logBtn = await phone.locator('.tasks-table tbody tr').first().locator('button', {hasText: 'Log'}).boundingBox();
                assert(logBtn && logBtn.x >= 0 && logBtn.x + logBtn.width <= PHONE.width, `Log button at ${JSON.stringify(logBtn)}`);
                await axeCheck(phone, 'the job page on a phone');
            }
            await shoot(phone, name);
            if (name === 'job') {
                // "Encode video…" and its form's buttons are reachable on the phone too.
                const encode = phone.locator('.detail-actions .encode-btn');
                const at = await encode.boundingBox();
                assert(at && at.x >= 0 && at.x + at.width <= PHONE.width, `Encode video… at ${JSON.stringify(at)}`);
                await encode.click();
                await phone.locator('#encode-dialog [name="settings.codec"]').waitFor({timeout: 10000});
                const ok = await phone.locator('#encode-dialog button[type=submit]').boundingBox();
                assert(ok && ok.x >= 0 && ok.y >= 0 && ok.x + ok.width <= PHONE.width && ok.y + ok.height <= PHONE.height,
                       `the dialog's Encode button at ${JSON.stringify(ok)}`);
                await axeCheck(phone, 'the encode dialog on a phone');
                await shoot(phone, 'encode');
                await phone.locator('#encode-dialog button', {hasText: 'Cancel'}).click();
            }
        }
        await phone.goto(`${base}/#/jobs/${depthJob.id}`);
        await phone.locator('.pass-group[data-pass="rgb"] .tile-img').first().click();
        await phone.locator('#lightbox[open] .pass-btn[data-pass="depth"]').click();
        await phone.waitForFunction(() => document.querySelector('#lightbox .viewer-legend .legend-min'), null, {timeout: 10000});
        const close = await phone.locator('#lightbox .close-btn').boundingBox();
        assert(close && close.x >= 0 && close.y >= 0 && close.x + close.width <= PHONE.width && close.y + close.height <= PHONE.height,
               `viewer Close at ${JSON.stringify(close)}`);
        await shoot(phone, 'viewer-depth');
        await phone.locator('#lightbox .close-btn').click();
        await phone.goto(`${base}/#/jobs`);
        await phone.locator('#submit-open').click();
        await phone.locator('#submit-dialog .pick-btn').first().waitFor({timeout: 5000});
        await shoot(phone, 'submit');
        await phone.locator('#submit-dialog button.cancel-submit').click();
        await page.goto(`${base}/#/jobs`);
        await page.locator('#submit-open').click();
        await page.locator('#submit-dialog .pick-btn').first().waitFor({timeout: 5000});
        await shoot(page, 'submit');
        await page.locator('#submit-dialog button.cancel-submit').click();
        await page.goto(`${base}/#/jobs`);
        await page.waitForSelector('.jobs-table tbody tr', {timeout: 10000});
        await axeCheck(page, 'the jobs list');
        await fitsSideways(page, 'the jobs list');
        await shoot(page, 'jobs');
    });

    await check('the farm page charts frames finished and slot use over the last hour and day', async () => {
        // What the charts must add up to, from the API: frames of done tasks (each task's latest run).
        const frames = (range) => range.split(',').reduce((n, item) => {
            const m = item.match(/^(\d+)(?:-(\d+)(?::(\d+))?)?$/);
            return n + Math.floor(((m[2] ? Number(m[2]) : Number(m[1])) - Number(m[1])) / (m[3] ? Number(m[3]) : 1)) + 1;
        }, 0);
        const jobs = (await api('GET', '/api/v1/jobs?limit=100')).jobs;
        let want = 0;
        for (const j of jobs) for (const t of (await api('GET', `/api/v1/jobs/${j.id}/tasks`)).tasks) if (t.state === 'done') want += frames(t.frames);
        const historyReads = [];
        const onHistory = (r) => r.url().includes('/api/v1/farm/history') && historyReads.push(new URL(r.url()).search);
        page.on('request', onHistory);
        await page.goto(`${base}/#/farm`);
        await page.waitForFunction(() => document.querySelectorAll('.chart-frames .bar').length === 60 &&
                                         document.querySelectorAll('.chart-util .bar').length === 60, null, {timeout: 15000});
        const got = await page.locator('.chart-frames .bar').evaluateAll((bars) => bars.reduce((n, b) => n + Number(b.dataset.value), 0));
        assert(want >= 4 && got === want, `the throughput chart holds ${got} frames, the tasks ${want}`);
        const util = await page.locator('.chart-util .bar').evaluateAll((bars) => bars.map((b) => Number(b.dataset.value)));
        assert(util.every((u) => u >= 0 && u <= 100) && util.some((u) => u > 0), `utilisation ${util.join(',')}`);
        await axeCheck(page, 'the farm page');
        await shoot(page, 'farm');
        await page.locator('.farm-panel .chip[data-window="day"]').click();
        await page.waitForFunction(() => document.querySelectorAll('.chart-frames .bar').length === 96, null, {timeout: 15000});
        const day = await page.locator('.chart-frames .bar').evaluateAll((bars) => bars.reduce((n, b) => n + Number(b.dataset.value), 0));
        assert(day === want, `the day chart holds ${day} frames, the tasks ${want}`);
        page.off('request', onHistory);
        assert(historyReads.includes('?window=hour') && historyReads.includes('?window=day'), `history reads ${historyReads.join(', ')}`);
        const bad = await fetch(`${base}/api/v1/farm/history?window=week`);
        assert(bad.status === 400 && (await bad.json()).error.code === 'invalid_field', `window=week answered ${bad.status}`);
        await phone.goto(`${base}/#/farm`);
        await phone.waitForFunction(() => document.querySelectorAll('.chart-frames .bar').length === 60, null, {timeout: 15000});
        const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        assert(overflow <= 0, `farm: the page is ${overflow}px wider than the phone`);
        await shoot(phone, 'farm');
        noErrors();
    });

    await check('server down: stale data greyed, actions off, a submit refused and never sent; the page recovers', async () => {
        await page.goto(`${base}/#/jobs/${passes.id}`);
        await page.waitForSelector('.gallery img.frame-img', {timeout: 10000});
        await page.evaluate(() => { window.__noReload = true; });
        const before = (await api('GET', '/api/v1/jobs?limit=1')).total;
        offlinePhase = true;
        await stopProcess(server.child);
        await page.waitForSelector('body.offline', {timeout: 10000});
        assert(await page.evaluate(() => document.getElementById('main').inert), 'actions stay usable offline');
        await shoot(page, 'offline');
        const sent = [];
        const onRequest = (r) => /\/api\/v1\/(uploads|jobs)$/.test(r.url()) && r.method() === 'POST' && sent.push(r.url());
        page.on('request', onRequest);
        await dropFiles(page, [{name: 'engine.glb', data: bytes}]);
        const dialog = page.locator('#submit-dialog');
        await dialog.locator('button[type=submit]:not([disabled])').waitFor({timeout: 10000});
        await dialog.locator('button[type=submit]').click();
        const err = dialog.locator('.form-error', {hasText: 'nothing was sent'});
        await err.waitFor({timeout: 5000});
        await dialog.locator('button.cancel-submit').click();
        assert(!(await dialog.evaluate((d) => d.open)), 'Cancel did not close the dialog');
        server = startProcess('farm-server (again)', serverBin, ['--port', port, '--data', dataDir], ready, {cwd: tmpDir});
        await server.started;
        await page.waitForSelector('#conn[data-state="open"]', {timeout: 40000});
        offlinePhase = false;
        await page.waitForFunction(() => !document.body.classList.contains('offline') && !document.getElementById('main').inert, null,
                                   {timeout: 5000});
        await page.waitForSelector('.gallery img.frame-img', {timeout: 10000});
        await page.waitForTimeout(1500);
        page.off('request', onRequest);
        assert(sent.length === 0, `sent while offline or after: ${sent.join(', ')}`);
        const after = (await api('GET', '/api/v1/jobs?limit=1')).total;
        assert(after === before, `jobs before ${before}, after ${after}`);
        assert(await page.evaluate(() => window.__noReload) === true, 'the page reloaded');
        noErrors();
    });

    log(`# screenshots in ${SHOTS}`);
}

let fatal = null;
process.on('SIGTERM', async () => {
    await stopAll(browser);
    process.exit(1);
});
try {
    await main();
} catch (e) {
    fatal = e;
    log(`FAIL setup: ${e.message}`);
} finally {
    await stopAll(browser);
    if (tmpDir) fs.rmSync(tmpDir, {recursive: true, force: true});
}
process.exit(summary(fatal));
