// PNG decoding in the browser, for the pass images a browser cannot show as they are: 16-bit
// depth (millimetres) and instance ids (0 = background, k = the k-th instance) look black in an
// <img>, because it scales 16-bit samples to 8 bits and the values are small. Here the bytes are
// fetched, inflated with the browser's own DecompressionStream ('deflate' = the zlib stream of
// IDAT chunks) and unfiltered, and the samples are kept at full depth for the frame viewer's
// false colours and the value under the cursor. Grey, grey+alpha, RGB, RGBA and palette images
// of 1-16 bits are read; interlaced (Adam7) images are refused (the renderer never writes them).

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4};

async function inflate(chunks) {
    const stream = new Blob(chunks).stream().pipeThrough(new DecompressionStream('deflate'));
    return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** {width, height, channels, depth, palette, data} with data a Uint16Array (16-bit) or
 *  Uint8Array of width × height × channels samples (palette images: indices). */
export async function decodePng(buffer) {
    const bytes = new Uint8Array(buffer);
    if (bytes.length < 8 || SIGNATURE.some((b, i) => bytes[i] !== b)) throw new Error('not a PNG file');
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let off = 8;
    let head = null;
    let palette = null;
    const idat = [];
    while (off + 8 <= bytes.length) {
        const len = view.getUint32(off);
        const type = String.fromCharCode(...bytes.subarray(off + 4, off + 8));
        const data = bytes.subarray(off + 8, off + 8 + len);
        if (type === 'IHDR') {
            head = {width: view.getUint32(off + 8), height: view.getUint32(off + 12), depth: data[8], color: data[9],
                    interlace: data[12]};
        } else if (type === 'PLTE') {
            palette = data.slice();
        } else if (type === 'IDAT') {
            idat.push(data);
        } else if (type === 'IEND') {
            break;
        }
        off += 12 + len;
    }
    if (!head || !(head.color in CHANNELS)) throw new Error('a PNG without a readable header');
    if (head.interlace) throw new Error('interlaced PNG images are not read here');
    const channels = CHANNELS[head.color];
    const bitsPerPixel = channels * head.depth;
    const bpp = Math.max(1, bitsPerPixel >> 3); // bytes to the left neighbour for the filters
    const stride = Math.ceil((head.width * bitsPerPixel) / 8);
    const raw = await inflate(idat);
    if (raw.length < (stride + 1) * head.height) throw new Error('the PNG data is cut short');
    const lines = new Uint8Array(stride * head.height);
    for (let y = 0; y < head.height; y++) {
        const filter = raw[y * (stride + 1)];
        const src = y * (stride + 1) + 1;
        const dst = y * stride;
        for (let x = 0; x < stride; x++) {
            const a = x >= bpp ? lines[dst + x - bpp] : 0;
            const b = y > 0 ? lines[dst - stride + x] : 0;
            const c = x >= bpp && y > 0 ? lines[dst - stride + x - bpp] : 0;
            let v = raw[src + x];
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
            lines[dst + x] = v & 255;
        }
    }
    const n = head.width * head.height * channels;
    let data;
    if (head.depth === 16) {
        data = new Uint16Array(n);
        for (let i = 0; i < n; i++) data[i] = (lines[2 * i] << 8) | lines[2 * i + 1];
    } else if (head.depth === 8) {
        data = lines;
    } else {
        data = new Uint8Array(n); // 1, 2 or 4 bits: unpacked per row
        const perByte = 8 / head.depth;
        const mask = (1 << head.depth) - 1;
        for (let y = 0; y < head.height; y++) {
            for (let i = 0; i < head.width * channels; i++) {
                const byte = lines[y * stride + Math.floor(i / perByte)];
                data[y * head.width * channels + i] = (byte >> (8 - head.depth * (1 + (i % perByte)))) & mask;
            }
        }
    }
    return {width: head.width, height: head.height, channels, depth: head.depth, palette: head.color === 3 ? palette : null, data};
}

/** Google's Turbo colour map as its published polynomial fit: t in 0..1 → [r, g, b] 0..255. */
export function turbo(t) {
    t = Math.min(1, Math.max(0, t));
    const t2 = t * t, t3 = t2 * t, t4 = t3 * t, t5 = t4 * t;
    const r = 0.13572138 + 4.6153926 * t - 42.66032258 * t2 + 132.13108234 * t3 - 152.94239396 * t4 + 59.28637943 * t5;
    const g = 0.09140261 + 2.19418839 * t + 4.84296658 * t2 - 14.18503333 * t3 + 4.27729857 * t4 + 2.82956604 * t5;
    const b = 0.1066733 + 12.64194608 * t - 60.58204836 * t2 + 110.36276771 * t3 - 89.90310912 * t4 + 27.34824973 * t5;
    const c = (v) => Math.round(255 * Math.min(1, Math.max(0, v)));
    return [c(r), c(g), c(b)];
}

/** A distinct, stable colour per instance id (golden-ratio hues); id 0 (background) is black. */
export function idColour(id) {
    if (!id) return [0, 0, 0];
    const hue = (id * 0.618033988749895) % 1;
    const s = 0.65 + 0.3 * ((id >> 3) % 2);
    const l = 0.5 + 0.12 * ((id >> 4) % 2);
    const f = (n) => {
        const k = (n + hue * 12) % 12;
        const a = s * Math.min(l, 1 - l);
        return Math.round(255 * (l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1))));
    };
    return [f(0), f(8), f(4)];
}
