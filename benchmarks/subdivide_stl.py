#!/usr/bin/env python3
"""Writes a larger binary STL by splitting every triangle of a binary STL into four (midpoints),
LEVELS times (16x the triangles for 2 levels): the ~1M-triangle mesh of the template benchmarks
comes from occt-misc's TR12J_OCC64K.stl (67,498 triangles -> 1,079,968), as bench_rays builds
it in memory. Needs python3-numpy.
Usage: subdivide_stl.py IN.stl OUT.stl [LEVELS]"""
import sys

import numpy as np


def read_binary_stl(path):
    data = open(path, 'rb').read()
    count = int(np.frombuffer(data, dtype='<u4', count=1, offset=80)[0])
    if 84 + 50 * count != len(data):
        sys.exit(f'{path}: not a binary STL')
    rec = np.dtype([('n', '<f4', 3), ('v', '<f4', (3, 3)), ('attr', '<u2')])
    return np.frombuffer(data, dtype=rec, count=count, offset=84)['v'].astype(np.float64)


def split(tris):
    a, b, c = tris[:, 0], tris[:, 1], tris[:, 2]
    ab, bc, ca = (a + b) / 2, (b + c) / 2, (c + a) / 2
    return np.concatenate([np.stack(t, axis=1) for t in
                           ((a, ab, ca), (ab, b, bc), (ca, bc, c), (ab, bc, ca))])


def write_binary_stl(path, tris):
    rec = np.zeros(len(tris), dtype=[('n', '<f4', 3), ('v', '<f4', (3, 3)), ('attr', '<u2')])
    n = np.cross(tris[:, 1] - tris[:, 0], tris[:, 2] - tris[:, 0])
    length = np.linalg.norm(n, axis=1, keepdims=True)
    rec['n'] = np.divide(n, length, out=np.zeros_like(n), where=length > 0)
    rec['v'] = tris
    with open(path, 'wb') as f:
        f.write(b'subdivided by farmhand benchmarks/subdivide_stl.py'.ljust(80, b' '))
        f.write(np.uint32(len(tris)).tobytes())
        f.write(rec.tobytes())


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    tris = read_binary_stl(sys.argv[1])
    for _ in range(int(sys.argv[3]) if len(sys.argv) > 3 else 2):
        tris = split(tris)
    write_binary_stl(sys.argv[2], tris)
    print(f'{sys.argv[2]}: {len(tris)} triangles')


if __name__ == '__main__':
    main()
