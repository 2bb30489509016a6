#!/usr/bin/env node
// The dashboard and the API page behind a reverse proxy under /farm/, in headless Chromium: a
// real farm-server (--base-path /farm --trusted-proxies 127.0.0.1 --token) and a small proxy
// written here (node:http, WebSocket upgrades piped through). Env: FARM_BUILD_DIR (required),
// FARM_CHROMIUM (default /usr/bin/chromium). Exits 0 only when every check passes.

import {spawn, spawnSync} from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {createRequire} from 'node:module';
import {fileURLToPath} from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const BUILD = process.env.FARM_BUILD_DIR;
const CHROMIUM = process.env.FARM_CHROMIUM || '/usr/bin/chromium';
const TOKEN = 'proxy-test-admin-token';
let failed = 0;

function check(ok, what) {
    process.stdout.write(`${ok ? 'PASS' : 'FAIL'} ${what}\n`);
    if (!ok) failed++;
}

if (!fs.existsSync(path.join(HERE, 'node_modules', 'playwright-core'))) {
    const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], {cwd: HERE, stdio: 'inherit'});
    if (r.status !== 0) throw new Error('npm ci failed in tests/web-ui');
}
const {chromium} = createRequire(import.meta.url)(path.join(HERE, 'node_modules', 'playwright-core'));

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'farm-proxy-'));
const server = spawn(path.join(BUILD, 'farm-server', 'farm-server'),
                     ['--port', '0', '--data', path.join(tmp, 'data'), '--base-path', '/farm',
                      '--trusted-proxies', '127.0.0.1', '--token', TOKEN], {stdio: ['ignore', 'pipe', 'inherit']});
const port = await new Promise((resolve, reject) => {
    server.stdout.on('data', (b) => {
        const m = b.toString().match(/listening on http:\/\/\S+?:(\d+)/);
        if (m) resolve(Number(m[1]));
    });
    server.on('exit', (code) => reject(new Error(`farm-server exited (${code})`)));
});

// The proxy keeps the /farm prefix (the server takes it off) and names the client.
const forwarded = (req) => ({...req.headers, host: `127.0.0.1:${port}`,
                             'x-forwarded-for': '198.51.100.23', 'x-forwarded-proto': 'https'});
const proxy = http.createServer((req, res) => {
    const up = http.request({host: '127.0.0.1', port, method: req.method, path: req.url, headers: forwarded(req)}, (r) => {
        res.writeHead(r.statusCode, r.headers);
        r.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
});
proxy.on('upgrade', (req, socket, head) => {
    const up = net.connect(port, '127.0.0.1', () => {
        let text = `${req.method} ${req.url} HTTP/1.1\r\n`;
        for (const [k, v] of Object.entries(forwarded(req))) text += `${k}: ${v}\r\n`;
        up.write(text + '\r\n');
        up.write(head);
        up.pipe(socket);
        socket.pipe(up);
    });
    up.on('error', () => socket.destroy());
    socket.on('error', () => up.destroy());
});
await new Promise((resolve) => proxy.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${proxy.address().port}`;

const browser = await chromium.launch({executablePath: CHROMIUM, headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking']});
try {
    const context = await browser.newContext();
    await context.addInitScript((t) => localStorage.setItem('farmhand.token.v1', t), TOKEN);
    const page = await context.newPage();
    const outside = [];
    const bad = [];
    page.on('request', (r) => { if (!r.url().startsWith(base + '/farm/')) outside.push(r.url()); });
    page.on('response', (r) => { if (r.status() >= 400) bad.push(`${r.status()} ${r.url()}`); });
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));

    const redirect = await fetch(base + '/farm', {redirect: 'manual'});
    check(redirect.status === 308 && redirect.headers.get('location') === '/farm/', '/farm redirects to /farm/');

    await page.goto(base + '/farm/', {waitUntil: 'load'});
    let live = true;
    try {
        await page.waitForSelector('#conn[data-state="open"]', {timeout: 15000});
        await page.waitForSelector('.jobs-table thead', {timeout: 5000});
    } catch {
        live = false;
    }
    check(live, 'the dashboard loads under /farm/ and its event stream connects through the proxy');
    check(outside.length === 0, `every request stays under /farm/ ${outside.join(' ')}`);
    check(bad.length === 0, `no failed request ${bad.join(' ')}`);
    const me = await page.evaluate(async () => (await fetch('api/v1/me', {
        headers: {Authorization: `Bearer ${localStorage.getItem('farmhand.token.v1')}`}})).json());
    check(me.address === '198.51.100.23' && me.scheme === 'https' && me.role === 'admin',
          `the server sees the forwarded client ${JSON.stringify(me)}`);

    await page.goto(base + '/farm/docs.html', {waitUntil: 'load'});
    let ops = 0;
    try {
        await page.waitForSelector('details.op', {timeout: 10000});
        ops = await page.locator('details.op').count();
    } catch { /* counted as 0 */ }
    check(ops >= 40, `the API page renders every operation (${ops})`);
    const jobsOp = await page.locator('details.op summary', {hasText: '/api/v1/jobs'}).count();
    check(jobsOp > 0, 'the API page lists /api/v1/jobs');
    const wsTypes = await page.locator('h2', {hasText: 'WebSocket /ws/events'}).count();
    check(wsTypes === 1, 'the API page lists the WebSocket messages');
    check(errors.length === 0, `no page errors ${errors.join(' | ')}`);
} finally {
    await browser.close();
    proxy.close();
    server.kill('SIGTERM');
    fs.rmSync(tmp, {recursive: true, force: true});
}
process.stdout.write(`${failed === 0 ? 'all passed' : `${failed} failed`}\n`);
process.exit(failed === 0 ? 0 : 1);
