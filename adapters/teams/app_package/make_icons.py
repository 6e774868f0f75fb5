"""Draw the Teams app icons with the standard library only.

Run ``python adapters/teams/app_package/make_icons.py``; it writes next to itself:

color.png (192×192): a white speech bubble with a teal cross on the accent colour.
outline.png (32×32): the same bubble and cross in white on a transparent background (Teams' rule).
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).parent
ACCENT = (0x0E, 0x7C, 0x86)  # manifest accentColor #0E7C86
WHITE = (0xFF, 0xFF, 0xFF)
SUB = 4  # sub-samples per axis: anti-aliased edges

Shape = Callable[[float, float], bool]  # (x, y) in 0..1 → inside?


def rounded_rect(x0: float, y0: float, x1: float, y1: float, r: float) -> Shape:
    """A rectangle with rounded corners."""

    def inside(x: float, y: float) -> bool:
        if not (x0 <= x <= x1 and y0 <= y <= y1):
            return False
        cx = min(max(x, x0 + r), x1 - r)
        cy = min(max(y, y0 + r), y1 - r)
        return (x - cx) ** 2 + (y - cy) ** 2 <= r * r

    return inside


def triangle(a: tuple[float, float], b: tuple[float, float], c: tuple[float, float]) -> Shape:
    """A filled triangle."""

    def side(p: tuple[float, float], q: tuple[float, float], x: float, y: float) -> float:
        return (q[0] - p[0]) * (y - p[1]) - (q[1] - p[1]) * (x - p[0])

    def inside(x: float, y: float) -> bool:
        s1, s2, s3 = side(a, b, x, y), side(b, c, x, y), side(c, a, x, y)
        return (s1 >= 0 and s2 >= 0 and s3 >= 0) or (s1 <= 0 and s2 <= 0 and s3 <= 0)

    return inside


def union(*shapes: Shape) -> Shape:
    """Inside any of ``shapes``."""
    return lambda x, y: any(s(x, y) for s in shapes)


def minus(shape: Shape, hole: Shape) -> Shape:
    """Inside ``shape`` but not ``hole``."""
    return lambda x, y: shape(x, y) and not hole(x, y)


BUBBLE = union(rounded_rect(0.16, 0.18, 0.84, 0.70, 0.12), triangle((0.28, 0.66), (0.46, 0.66), (0.26, 0.86)))
CROSS = union(rounded_rect(0.44, 0.27, 0.56, 0.61, 0.02), rounded_rect(0.33, 0.38, 0.67, 0.50, 0.02))
SMALL_CROSS = union(rounded_rect(0.45, 0.33, 0.55, 0.55, 0.01), rounded_rect(0.39, 0.39, 0.61, 0.49, 0.01))


def coverage(shape: Shape, px: int, py: int, size: int) -> float:
    """How much of pixel (px, py) the shape covers, 0..1."""
    hits = 0
    for sy in range(SUB):
        for sx in range(SUB):
            if shape((px + (sx + 0.5) / SUB) / size, (py + (sy + 0.5) / SUB) / size):
                hits += 1
    return hits / (SUB * SUB)


def png(size: int, pixel: Callable[[int, int], tuple[int, int, int, int]]) -> bytes:
    """An 8-bit RGBA PNG of ``size``×``size`` pixels."""
    rows = b"".join(b"\x00" + b"".join(bytes(pixel(x, y)) for x in range(size)) for y in range(size))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


def mix(a: tuple[int, int, int], b: tuple[int, int, int], t: float) -> tuple[int, int, int]:
    """``a`` blended towards ``b`` by ``t``."""
    return tuple(round(a[i] * (1 - t) + b[i] * t) for i in range(3))  # type: ignore[return-value]


def color_pixel(x: int, y: int) -> tuple[int, int, int, int]:
    """A pixel of color.png."""
    size = 192
    bubble = coverage(minus(BUBBLE, CROSS), x, y, size)
    return (*mix(ACCENT, WHITE, bubble), 255)


def outline_pixel(x: int, y: int) -> tuple[int, int, int, int]:
    """A pixel of outline.png: white, alpha = coverage."""
    size = 32
    ring = minus(BUBBLE, rounded_rect(0.24, 0.26, 0.76, 0.62, 0.06))
    alpha = coverage(union(ring, SMALL_CROSS), x, y, size)
    return (255, 255, 255, round(alpha * 255))


def main() -> None:
    """Write both icons next to this script."""
    (HERE / "color.png").write_bytes(png(192, color_pixel))
    (HERE / "outline.png").write_bytes(png(32, outline_pixel))
    print(f"wrote {HERE / 'color.png'} and {HERE / 'outline.png'}")


if __name__ == "__main__":
    main()
