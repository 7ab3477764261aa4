#!/usr/bin/env python3
"""Prints pixel statistics of a PNG as JSON, for the HTML report's screenshot test (stdlib only).

usage: png_stats.py FILE [#rrggbb ...]
stdout: {"width", "height", "non_white", "distinct", "colors": {"#rrggbb": pixels within 24 per channel}}
Handles 8-bit greyscale, RGB and RGBA, non-interlaced (what Chromium writes).
"""
import json
import struct
import sys
import zlib


def read_png(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        sys.exit(f"{path}: not a PNG")
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, color, _, _, interlace = header
    channels = {0: 1, 2: 3, 6: 4}.get(color)
    if depth != 8 or channels is None or interlace:
        sys.exit(f"{path}: unsupported PNG (depth {depth}, colour type {color}, interlace {interlace})")
    raw = zlib.decompress(idat)
    stride = width * channels
    rows, previous, pos = [], bytearray(stride), 0
    for _ in range(height):
        kind, line = raw[pos], bytearray(raw[pos + 1:pos + 1 + stride])
        pos += 1 + stride
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            corner = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                predictor = left if pa <= pb and pa <= pc else (up if pb <= pc else corner)
                line[i] = (line[i] + predictor) & 0xFF
        rows.append(line)
        previous = line
    return width, height, channels, rows


def main():
    path, wanted = sys.argv[1], sys.argv[2:]
    width, height, channels, rows = read_png(path)
    targets = {w: tuple(int(w[i:i + 2], 16) for i in (1, 3, 5)) for w in wanted}
    counts = {w: 0 for w in wanted}
    non_white, distinct = 0, set()
    for line in rows:
        for x in range(width):
            px = line[x * channels:x * channels + channels]
            rgb = (px[0], px[0], px[0]) if channels == 1 else (px[0], px[1], px[2])
            distinct.add(rgb)
            if min(rgb) < 245:
                non_white += 1
            for w, t in targets.items():
                if all(abs(a - b) <= 24 for a, b in zip(rgb, t)):
                    counts[w] += 1
    json.dump({"width": width, "height": height, "non_white": non_white, "distinct": len(distinct), "colors": counts},
              sys.stdout, sort_keys=True)


if __name__ == "__main__":
    main()
