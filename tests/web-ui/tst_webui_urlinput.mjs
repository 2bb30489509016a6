#!/usr/bin/env node
// The submit form's "File by URL" in headless Chromium: a compose scenario is picked from the
// disk and its video named by URL; a real farm-server (--fetch-allow http://127.0.0.1) fetches
// it from an origin on loopback served here (node:http). The form refuses what is not an
// http(s) URL before anything is sent, shows the server's 400 for a host it does not fetch from,
// and sends the URL beside the uploaded scenario. Env: FARM_BUILD_DIR (required),
// FARM_SCREENSHOT_DIR, FARM_CHROMIUM. Exits 0 only when every check passes.

import {spawnSync} from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';

import {BUILD, CHROMIUM, DESKTOP, PHONE, assert, axeCheck, check, loadPlaywright, log, shoot, startProcess, stopAll, summary} from './harness.mjs';

let browser = null;
let origin = null;
let tmpDir = null;

async function main() {
    assert(BUILD, 'FARM_BUILD_DIR is not set');
    const {chromium} = loadPlaywright();
    tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'farm-webui-url-'));

    // The video the origin serves: 2 s of a test pattern with a tone (ffmpeg, as the video
    // benchmarks make theirs), and the scenario the form uploads.
    const clip = path.join(tmpDir, 'clip.mp4');
    const made = spawnSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=160x90:rate=10', '-f', 'lavfi',
                                      '-i', 'sine=frequency=440:sample_rate=22050', '-t', '2', '-c:v', 'libx264',
                                      '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', clip]);
    assert(made.status === 0, `ffmpeg did not make the clip: ${made.stderr}`);
    const clipBytes = fs.readFileSync(clip);
    const clipSha = crypto.createHash('sha256').update(clipBytes).digest('hex');
    const scenario = path.join(tmpDir, 'captions.json');
    fs.writeFileSync(scenario, JSON.stringify({version: '1.3', cues: [{start: 0, end: 1.5, text: 'Fetched by URL'}]}));

    const fetched = [];
    origin = http.createServer((req, res) => {
        fetched.push(req.url);
        if (req.url !== '/media/clip.mp4') {
            res.writeHead(404).end();
            return;
        }
        res.writeHead(200, {'Content-Type': 'video/mp4', 'Content-Length': clipBytes.length});
        res.end(clipBytes);
    });
    await new Promise((resolve) => origin.listen(0, '127.0.0.1', resolve));
    const originPort = origin.address().port;
    const goodUrl = `http://127.0.0.1:${originPort}/media/clip.mp4`;

    const m = await startProcess('farm-server', path.join(BUILD, 'farm-server', 'farm-server'),
                                 ['--port', '0', '--data', path.join(tmpDir, 'data'), '--fetch-allow', 'http://127.0.0.1'],
                                 /farm-server listening on (http:\/\/\S+?):(\d+)/, {cwd: tmpDir}).started;
    const base = `http://127.0.0.1:${m[2]}`;
    log(`# server at ${base}, origin at ${originPort}`);
    const jobs = async () => (await (await fetch(`${base}/api/v1/jobs`)).json()).jobs;

    browser = await chromium.launch({
        executablePath: CHROMIUM, headless: true,
        args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking'],
    });
    const context = await browser.newContext({viewport: DESKTOP});
    const page = await context.newPage();
    const consoleErrors = [];
    let allowed400 = false; // the refused host is meant to get a 400, which Chromium logs
    page.on('console', (msg) => {
        if (msg.type() !== 'error') return;
        if (allowed400 && /status of 400/.test(msg.text())) return;
        consoleErrors.push(msg.text());
    });
    page.on('pageerror', (err) => consoleErrors.push(`pageerror: ${err.message}`));
    await page.goto(base + '/', {waitUntil: 'load'});
    await page.waitForSelector('#conn[data-state="open"]', {timeout: 15000});

    const dialog = page.locator('#submit-dialog');
    const url = dialog.locator('input[name=input_url]');
    const errorBox = dialog.locator('.form-error:not(.bundle-problems)');
    const submit = async () => {
        await dialog.locator('button[type=submit]').click();
        await errorBox.waitFor({state: 'visible', timeout: 30000});
        return errorBox.innerText();
    };

    await check('a compose scenario offers "File by URL", with what the type takes beside it', async () => {
        await page.locator('#submit-open').click();
        await page.locator('#file-picker').setInputFiles(scenario);
        await dialog.locator('.file-row').first().waitFor({timeout: 5000});
        assert(await dialog.locator('select[name=type]').inputValue() === 'compose', 'a .json did not pick compose');
        await url.waitFor({state: 'visible', timeout: 5000});
        const hint = await dialog.locator('[data-job-field=url] .field-hint').innerText();
        assert(/fetches this file \(http or https\)/.test(hint) && hint.includes('.mp4'), `hint "${hint}"`);
    });

    await check('what is not an http(s) URL of a file the type takes is refused before anything is sent', async () => {
        const types = (await (await fetch(`${base}/api/v1/job-types`)).json()).job_types;
        const label = types.find((t) => t.name === 'compose').label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
        const cases = [
            ['ftp://127.0.0.1/media/clip.mp4', /only http and https URLs are fetched, not ftp:/],
            ['clip.mp4', /is not a URL/],
            [`http://user:secret@127.0.0.1:${originPort}/media/clip.mp4`, /user name or password/],
            [`http://127.0.0.1:${originPort}/media/notes.txt`, new RegExp(`must end in a file name ${label} jobs take beside the main file \\(\\.mp4, .* not "notes\\.txt"`)],
        ];
        for (const [text, re] of cases) {
            await url.fill(text);
            const shown = await submit();
            assert(re.test(shown), `for ${text} the form shows "${shown}"`);
            assert(await url.evaluate((el) => !el.validity.valid), `${text}: the field is not marked invalid`);
        }
        assert((await jobs()).length === 0, 'a job was made');
        const sha = crypto.createHash('sha256').update(fs.readFileSync(scenario)).digest('hex');
        const head = await fetch(`${base}/api/v1/files/${sha}`, {method: 'HEAD'});
        assert(head.status === 404, `the scenario was uploaded (HEAD answered ${head.status})`);
        assert(fetched.length === 0, `the origin was asked for ${fetched.join(', ')}`);
    });

    await check('a host the server does not fetch from: the server\'s 400 is shown, no job is made', async () => {
        allowed400 = true;
        const refused = `http://localhost:${originPort}/media/clip.mp4`;
        await url.fill(refused);
        const shown = await submit();
        // What the server itself says about that URL, straight from the API.
        const r = await fetch(`${base}/api/v1/jobs`, {method: 'POST', headers: {'Content-Type': 'application/json'},
            body: JSON.stringify({type: 'compose', input: {main: 'captions.json', files: [
                {path: 'captions.json', file: crypto.createHash('sha256').update(fs.readFileSync(scenario)).digest('hex')},
                {path: 'clip.mp4', url: refused}]}})});
        const body = await r.json();
        assert(r.status === 400 && body.error && body.error.message, `the server answered ${r.status}`);
        assert(shown.includes(body.error.message), `form shows "${shown}", the server said "${body.error.message}"`);
        assert((await jobs()).length === 0, 'a job was made');
        assert(fetched.length === 0, `the origin was asked for ${fetched.join(', ')}`);
        await errorBox.scrollIntoViewIfNeeded();
        await shoot(page, 'submit-url-refused');
        allowed400 = false;
    });

    await check('the scenario goes up, the video by URL: the server fetches it into the job', async () => {
        await url.fill(goodUrl);
        await dialog.locator('input[name=name]').fill('captions over a fetched clip');
        await dialog.locator('.form-error').first().evaluate((el) => { el.hidden = true; });
        await axeCheck(page, 'the submit dialog with a file by URL');
        await shoot(page, 'submit-url');
        await page.setViewportSize(PHONE);
        await url.scrollIntoViewIfNeeded();
        await axeCheck(page, 'the submit dialog with a file by URL on a phone');
        await shoot(page, 'submit-url');
        await page.setViewportSize(DESKTOP);
        const before = await page.evaluate(() => location.hash);
        await dialog.locator('button[type=submit]').click();
        await page.waitForFunction((old) => /^#\/jobs\/\d+$/.test(location.hash) && location.hash !== old,
                                   before, {timeout: 30000});
        const id = Number((await page.evaluate(() => location.hash)).split('/').pop());
        let job = null;
        const deadline = Date.now() + 30000;
        while (Date.now() < deadline) {
            job = await (await fetch(`${base}/api/v1/jobs/${id}`)).json();
            if ((job.input.files || []).some((f) => f.url && f.file)) break;
            await new Promise((r) => setTimeout(r, 200));
        }
        const files = job.input.files.map((f) => `${f.path}:${f.url || '-'}:${f.file ? 'stored' : 'pending'}`).sort().join(' ');
        assert(job.name === 'captions over a fetched clip' && job.input.main === 'captions.json', `job ${job.name} ${job.input.main}`);
        assert(files === `captions.json:-:stored clip.mp4:${goodUrl}:stored`, `files ${files}`);
        assert(job.input.files.find((f) => f.path === 'clip.mp4').file === clipSha, 'the stored clip is not the origin\'s bytes');
        assert(fetched.length === 1 && fetched[0] === '/media/clip.mp4', `the origin was asked for ${fetched.join(', ')}`);
        assert(!(await dialog.evaluate((d) => d.open)), 'the dialog stayed open');
    });

    await check('no console errors', async () => {
        assert(consoleErrors.length === 0, consoleErrors.join(' | '));
    });
}

let fatal = null;
try {
    await main();
} catch (e) {
    fatal = e;
    log(`FAIL setup: ${e && e.message ? e.message : e}`);
} finally {
    await stopAll(browser);
    if (origin) origin.close();
    if (tmpDir) fs.rmSync(tmpDir, {recursive: true, force: true});
}
process.exit(summary(fatal));
