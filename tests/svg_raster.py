"""Test helpers: decode barcodes and QR codes, and rasterise the SVG kopilka serves.

There is no pure-Python SVG renderer in the environment (no cairosvg), so `rasterise` draws the
small vocabulary the card images use with Pillow: `<rect>` (python-barcode) and `<path>` made
of M/m/h/v/z commands, stroked one unit wide or filled (segno). Anything else raises, so a
change in what the libraries emit fails the tests instead of decoding a wrong picture.
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET

import zxingcpp
from PIL import Image, ImageDraw

_COMMAND = re.compile(r"([MmHhVvZz])([^MmHhVvZz]*)")


def decode(image: Image.Image) -> list[tuple[str, str]]:
    """(format, text) of every code zxing-cpp finds in the image."""
    return [(r.format.name, r.text) for r in zxingcpp.read_barcodes(image.convert("L"))]


def decode_png(png: bytes) -> list[tuple[str, str]]:
    return decode(Image.open(io.BytesIO(png)))


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _fill(element: ET.Element) -> str | None:
    style = dict(part.split(":", 1) for part in element.get("style", "").split(";") if part)
    return style.get("fill") or element.get("fill")


def _number(value: str, full: float) -> float:
    return full * float(value[:-1]) / 100 if value.endswith("%") else float(value)


def rasterise(svg: str, *, px_per_unit: float) -> Image.Image:
    """The SVG drawn on white at `px_per_unit` pixels per user unit of its viewBox."""
    root = ET.fromstring(svg)
    _x0, _y0, width, height = (float(v) for v in root.get("viewBox", "").split())
    image = Image.new("L", (round(width * px_per_unit), round(height * px_per_unit)), 255)
    draw = ImageDraw.Draw(image)

    def box(x: float, y: float, w: float, h: float, colour: str) -> None:
        shade = 255 if colour in ("white", "#fff", "#ffffff") else 0
        draw.rectangle([x * px_per_unit, y * px_per_unit,
                        (x + w) * px_per_unit - 1, (y + h) * px_per_unit - 1], fill=shade)

    for element in root.iter():
        tag = _local(element.tag)
        if tag == "rect":
            box(_number(element.get("x", "0"), width), _number(element.get("y", "0"), height),
                _number(element.get("width", "0"), width),
                _number(element.get("height", "0"), height), _fill(element) or "black")
        elif tag == "path":
            _path(element, box)
        elif tag not in ("svg", "g", "title", "desc"):
            raise ValueError(f"rasterise does not draw <{tag}>")
    return image


def _path(element: ET.Element, box) -> None:  # noqa: ANN001
    """segno's paths: a stroked run of horizontal lines (dark modules) or a filled box."""
    stroke, fill = element.get("stroke"), element.get("fill")
    x = y = 0.0
    corners: list[tuple[float, float]] = []
    for command, args in _COMMAND.findall(element.get("d", "")):
        numbers = [float(n) for n in args.replace(",", " ").split()]
        if command in "Mm":
            dx, dy = numbers
            x, y = (dx, dy) if command == "M" else (x + dx, y + dy)
            corners.append((x, y))
        elif command in "Hh":
            (n,) = numbers
            end = n if command == "H" else x + n
            if stroke:
                box(min(x, end), y - 0.5, abs(end - x), 1.0, stroke)
            x = end
            corners.append((x, y))
        elif command in "Vv":
            (n,) = numbers
            y = n if command == "V" else y + n
            corners.append((x, y))
        elif command in "Zz" and fill:
            xs, ys = [c[0] for c in corners], [c[1] for c in corners]
            box(min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys), fill)
        else:
            raise ValueError(f"rasterise does not draw the path command {command!r}")
