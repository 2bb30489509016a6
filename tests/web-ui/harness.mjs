// Shared pieces of the dashboard's Chromium tests: real processes, checks that print PASS/FAIL,
// axe-core runs, screenshots at the desktop and phone sizes, PNG reading (8 and 16 bit).

import {spawn, spawnSync} from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {createRequire} from 'node:module';
import {fileURLToPath} from 'node:url';
import zlib from 'node:zlib';

export const HERE = path.dirname(fileURLToPath(import.meta.url));
export const BUILD = process.env.FARM_BUILD_DIR;
export const CHROMIUM = process.env.FARM_CHROMIUM || '/usr/bin/chromium';
export const SHOTS = process.env.FARM_SCREENSHOT_DIR || path.join(BUILD || '/tmp', 'webui-screenshots');
export const DESKTOP = {width: 1280, height: 800};
export const PHONE = {width: 390, height: 844};

const children = [];
const results = [];

export function log(line) {
    process.stdout.write(line + '\n');
}

export function assert(cond, message) {
    if (!cond) throw new Error(message);
}

/** node_modules from the committed lock file (npm ci), as scripts/setup-deps.sh --test does. */
export function loadPlaywright() {
    const need = ['playwright-core', 'axe-core'];
    if (need.some((m) => !fs.existsSync(path.join(HERE, 'node_modules', m)))) {
        log('# installing the test modules (npm ci, from the committed package-lock.json)');
        const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], {cwd: HERE, stdio: 'inherit'});
        if (r.status !== 0) throw new Error('npm ci failed; run it in tests/web-ui by hand');
    }
    const require = createRequire(path.join(HERE, 'package.json'));
    return require('playwright-core');
}

/** Starts a process; answers the first match of readyRe in its output (null without one). */
export function startProcess(name, cmd, args, readyRe, {cwd, timeoutMs = 30000} = {}) {
    if (!fs.existsSync(cmd)) throw new Error(`${name} not found at ${cmd} (is FARM_BUILD_DIR right and the target built?)`);
    const child = spawn(cmd, args, {cwd, stdio: ['ignore', 'pipe', 'pipe']});
    children.push(child);
    const started = new Promise((resolve, reject) => {
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
        child.on('error', (e) => {
            log(`# ${name} could not start: ${e.message}`);
            if (done) return;
            done = true;
            clearTimeout(timer);
            reject(new Error(`${name} could not start: ${e.message}`));
        });
        child.on('exit', (code, signal) => {
            if (done) return;
            done = true;
            clearTimeout(timer);
            reject(new Error(`${name} exited early (code ${code}, signal ${signal})`));
        });
        if (!readyRe) resolve(null);
    });
    return {child, started};
}

/** Ends one process (SIGTERM, SIGKILL after 4 s) and waits for it. */
export function stopProcess(child) {
    return new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const kill = setTimeout(() => child.kill('SIGKILL'), 4000);
        child.once('exit', () => {
            clearTimeout(kill);
            resolve();
        });
        child.kill('SIGTERM');
    });
}

export async function stopAll(browser) {
    if (browser) await browser.close().catch(() => {});
    await Promise.all(children.map(stopProcess));
}

export async function check(name, fn) {
    try {
        await fn();
        results.push(true);
        log(`PASS ${name}`);
    } catch (e) {
        results.push(false);
        // The first line, then Playwright's call log (what it waited for), at most 12 lines.
        const lines = e && e.message ? e.message.split('\n').filter((l) => l.trim()) : [String(e)];
        log(`FAIL ${name}: ${lines[0]}`);
        for (const l of lines.slice(1, 13)) log(`    ${l.trim()}`);
    }
}

/** Prints the closing line and answers the exit status. */
export function summary(fatal) {
    const passed = results.filter(Boolean).length;
    const failed = results.length - passed + (fatal ? 1 : 0);
    log(`${passed} passed, ${failed} failed`);
    return failed === 0 && passed > 0 ? 0 : 1;
}

const AXE = path.join(HERE, 'node_modules', 'axe-core', 'axe.min.js');

/** axe-core over the page as it is now: throws on any serious or critical violation. */
export async function axeCheck(page, what) {
    // Fades (a toast leaving, a tile arriving) are half-transparent for 0.3 s: axe would measure
    // their contrast mid-way. With reduced motion the page has none (css/app.css).
    await page.emulateMedia({reducedMotion: 'reduce'});
    await page.waitForFunction(() => !document.querySelector('.toast-out'), null, {timeout: 2000}).catch(() => {});
    if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.addScriptTag({path: AXE});
    const violations = await page.evaluate(async () => {
        const r = await window.axe.run(document, {resultTypes: ['violations']});
        return r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => ({
            id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 3).map((n) => `${n.target.join(' ')}${n.failureSummary ? ` (${n.failureSummary.split('\n').slice(1).join(' ').trim()})` : ''}`),
        }));
    });
    assert(violations.length === 0, `axe on ${what}: ` +
           violations.map((v) => `${v.impact} ${v.id} "${v.help}" at ${v.nodes.join(' | ')}`).join('; '));
}

/** A screenshot of the viewport as it is, <shots>/pages/<name>-<desktop|phone>.png (the set
 *  docs/screenshots/web/ is copied from). */
export async function shoot(page, name) {
    const size = page.viewportSize();
    const dir = path.join(SHOTS, 'pages');
    fs.mkdirSync(dir, {recursive: true});
    await page.screenshot({path: path.join(dir, `${name}-${size && size.width < 600 ? 'phone' : 'desktop'}.png`)});
}

/** Pixels of a non-interlaced PNG of 8 or 16 bits (grey, grey+alpha, RGB, RGBA):
 *  {width, height, channels, depth, samples: number[]}. */
export function readPng(buf) {
    assert(buf.length > 8 && buf.readUInt32BE(0) === 0x89504e47, 'not a PNG');
    let off = 8;
    let ihdr = null;
    const idat = [];
    while (off + 8 <= buf.length) {
        const len = buf.readUInt32BE(off);
        const type = buf.toString('latin1', off + 4, off + 8);
        const data = buf.subarray(off + 8, off + 8 + len);
        if (type === 'IHDR') ihdr = {width: data.readUInt32BE(0), height: data.readUInt32BE(4), depth: data[8], color: data[9], interlace: data[12]};
        else if (type === 'IDAT') idat.push(data);
        else if (type === 'IEND') break;
        off += 12 + len;
    }
    const channels = ihdr && {0: 1, 2: 3, 4: 2, 6: 4}[ihdr.color];
    assert(ihdr && (ihdr.depth === 8 || ihdr.depth === 16) && channels && !ihdr.interlace, `unexpected PNG kind ${JSON.stringify(ihdr)}`);
    const bytesPer = ihdr.depth / 8;
    const bpp = channels * bytesPer;
    const raw = zlib.inflateSync(Buffer.concat(idat));
    const stride = ihdr.width * bpp;
    const px = Buffer.alloc(stride * ihdr.height);
    for (let y = 0; y < ihdr.height; y++) {
        const filter = raw[y * (stride + 1)];
        const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
        for (let x = 0; x < stride; x++) {
            const a = x >= bpp ? px[y * stride + x - bpp] : 0;
            const b = y > 0 ? px[(y - 1) * stride + x] : 0;
            const c = x >= bpp && y > 0 ? px[(y - 1) * stride + x - bpp] : 0;
            let v = line[x];
            if (filter === 1) v += a;
            else if (filter === 2) v += b;
            else if (filter === 3) v += (a + b) >> 1;
            else if (filter === 4) {
                const p = a + b - c;
                const pa = Math.abs(p - a);
                const pb = Math.abs(p - b);
                const pc = Math.abs(p - c);
                v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
            }
            px[y * stride + x] = v & 255;
        }
    }
    const samples = [];
    for (let i = 0; i < px.length; i += bytesPer) samples.push(bytesPer === 2 ? px.readUInt16BE(i) : px[i]);
    return {width: ihdr.width, height: ihdr.height, channels, depth: ihdr.depth, samples};
}

const CRC_TABLE = Array.from({length: 256}, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
});
const crc32 = (buf) => {
    let c = 0xffffffff;
    for (const b of buf) c = CRC_TABLE[(c ^ b) & 255] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
};

/** A .zip of [{name, data}] with deflated entries, as an archiver writes it. */
export function makeZip(entries) {
    const locals = [];
    const centrals = [];
    let offset = 0;
    for (const {name, data} of entries) {
        const packed = zlib.deflateRawSync(data);
        const fname = Buffer.from(name, 'utf8');
        const head = Buffer.alloc(30);
        head.writeUInt32LE(0x04034b50, 0);
        head.writeUInt16LE(20, 4);
        head.writeUInt16LE(0x0800, 6); // UTF-8 names
        head.writeUInt16LE(8, 8); // deflate
        head.writeUInt32LE(crc32(data), 14);
        head.writeUInt32LE(packed.length, 18);
        head.writeUInt32LE(data.length, 22);
        head.writeUInt16LE(fname.length, 26);
        const central = Buffer.alloc(46);
        central.writeUInt32LE(0x02014b50, 0);
        central.writeUInt16LE(20, 4);
        central.writeUInt16LE(20, 6);
        central.writeUInt16LE(0x0800, 8);
        central.writeUInt16LE(8, 10);
        central.writeUInt32LE(crc32(data), 16);
        central.writeUInt32LE(packed.length, 20);
        central.writeUInt32LE(data.length, 24);
        central.writeUInt16LE(fname.length, 28);
        central.writeUInt32LE(offset, 42);
        locals.push(head, fname, packed);
        centrals.push(central, fname);
        offset += head.length + fname.length + packed.length;
    }
    const cd = Buffer.concat(centrals);
    const end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0);
    end.writeUInt16LE(entries.length, 8);
    end.writeUInt16LE(entries.length, 10);
    end.writeUInt32LE(cd.length, 12);
    end.writeUInt32LE(offset, 16);
    return Buffer.concat([...locals, cd, end]);
}
