"""Draw static/img/favicon.ico (16, 32 and 48 px) from the shapes of static/img/favicon.svg:
a dark rounded square with white scissors and a pink pivot. Standard library only (no image
library is a dependency): each pixel is supersampled 4 × 4 against the shapes' distances, the
sizes are written as PNGs inside one ICO. Run it again after changing the SVG's shapes."""

import math
import struct
import zlib
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "static" / "img" / "favicon.ico"
DARK, WHITE, PINK = (0x21, 0x25, 0x29), (0xFF, 0xFF, 0xFF), (0xE8, 0x3E, 0x8C)
STROKE = 2.5 / 2
RINGS = [(10, 23, 4), (22, 23, 4)]
BLADES = [((12.3, 19.7), (22, 5)), ((19.7, 19.7), (10, 5))]
PIVOT = (16, 14.9, 1.4)


def _segment(x, y, a, b):
    (ax, ay), (bx, by) = a, b
    dx, dy = bx - ax, by - ay
    t = max(0.0, min(1.0, ((x - ax) * dx + (y - ay) * dy) / (dx * dx + dy * dy)))
    return math.hypot(x - ax - t * dx, y - ay - t * dy)


def _inside_square(x, y, r=7.0):
    cx, cy = min(max(x, r), 32 - r), min(max(y, r), 32 - r)
    return 0 <= x <= 32 and 0 <= y <= 32 and math.hypot(x - cx, y - cy) <= r


def _colour(x, y):
    """The colour at (x, y) in the SVG's 32 × 32 units, or None outside the square."""
    if not _inside_square(x, y):
        return None
    if math.hypot(x - PIVOT[0], y - PIVOT[1]) <= PIVOT[2]:
        return PINK
    if any(abs(math.hypot(x - cx, y - cy) - r) <= STROKE for cx, cy, r in RINGS):
        return WHITE
    if any(_segment(x, y, a, b) <= STROKE for a, b in BLADES):
        return WHITE
    return DARK


def _pixels(size, samples=4):
    rows = []
    for py in range(size):
        row = bytearray([0])  # PNG filter type: none
        for px in range(size):
            r = g = b = a = 0
            for sy in range(samples):
                for sx in range(samples):
                    x = (px + (sx + 0.5) / samples) * 32 / size
                    y = (py + (sy + 0.5) / samples) * 32 / size
                    c = _colour(x, y)
                    if c:
                        r, g, b, a = r + c[0], g + c[1], b + c[2], a + 1
            n = samples * samples
            row += bytes([r // a, g // a, b // a, 255 * a // n] if a else [0, 0, 0, 0])
        rows.append(bytes(row))
    return b"".join(rows)


def _png(size):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(_pixels(size), 9))
        + chunk(b"IEND", b"")
    )


def main():
    images = [(size, _png(size)) for size in (16, 32, 48)]
    offset = 6 + 16 * len(images)
    directory, data = b"", b""
    for size, png in images:
        directory += struct.pack("<BBBBHHII", size, size, 0, 0, 1, 32, len(png), offset + len(data))
        data += png
    OUT.write_bytes(struct.pack("<HHH", 0, 1, len(images)) + directory + data)
    print(f"{OUT}: {OUT.stat().st_size} bytes")


if __name__ == "__main__":
    main()
