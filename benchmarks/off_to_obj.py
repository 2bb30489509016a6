#!/usr/bin/env python3
"""Converts an OFF mesh (e.g. the scanned meshes of Debian's libcgal-demo data: bunny00.off,
armadillo.off) to OBJ, so that Blender, which reads no OFF, and our renderer load the same
file. Faces with more than three corners are kept as they are (both importers triangulate).
Usage: off_to_obj.py IN.off OUT.obj"""
import sys


def main(src, dst):
    words = []
    with open(src, encoding="ascii") as f:
        for line in f:
            line = line.split("#", 1)[0].split()
            words.extend(line)
    if not words or words[0] != "OFF":
        sys.exit(f"{src}: not an OFF file")
    nv, nf = int(words[1]), int(words[2])
    pos = 4
    with open(dst, "w", encoding="ascii") as out:
        for _ in range(nv):
            out.write("v {} {} {}\n".format(*words[pos:pos + 3]))
            pos += 3
        for _ in range(nf):
            n = int(words[pos])
            corners = words[pos + 1:pos + 1 + n]
            out.write("f " + " ".join(str(int(c) + 1) for c in corners) + "\n")
            pos += 1 + n
    print(f"{dst}: {nv} vertices, {nf} faces")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
