"""Draw SemEdit's icons with Pillow: the app icon and the .semedit document icon.

    python packaging/make_icons.py [--out core/resources/icons]

The design: a face outline on a rounded square, cut into coloured chunks (hair, eyes,
mouth and cheeks) with gaps between them, as SemEdit cuts a portrait. Writes

    icons/semedit.png                                   256 px, the window icon
    icons/hicolor/NxN/apps/semedit.png                  N = 16 32 48 64 128 256 512
    icons/hicolor/NxN/mimetypes/application-x-semedit.png

Each size is drawn at 8x (at least 1024 px) and scaled down, so edges are smooth; sizes
up to 32 px use thicker strokes and leave out the small features.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageFilter

SIZES = (16, 32, 48, 64, 128, 256, 512)
APP_ICON_SIZE = 256
ROOT = Path(__file__).resolve().parent.parent

BACKGROUND_TOP = (67, 56, 202)  # indigo
BACKGROUND_BOTTOM = (30, 27, 75)
HAIR = (251, 146, 60)  # orange
EYES = (56, 189, 248)  # sky blue
MOUTH = (244, 114, 182)  # pink
CHEEK_LEFT = (167, 139, 250)  # violet
CHEEK_RIGHT = (52, 211, 153)  # green
INK = (30, 27, 75)
WHITE = (255, 255, 255)


def _vertical_gradient(size: int, top: tuple, bottom: tuple) -> Image.Image:
    column = Image.new("RGB", (1, 256))
    for y in range(256):
        t = y / 255
        colour = tuple(round(a + (b - a) * t) for a, b in zip(top, bottom, strict=True))
        column.putpixel((0, y), colour)
    return column.resize((size, size), Image.Resampling.BICUBIC)


def _ellipse_mask(s: int, box: tuple[float, float, float, float]) -> Image.Image:
    mask = Image.new("L", (s, s), 0)
    ImageDraw.Draw(mask).ellipse([v * s for v in box], fill=255)
    return mask


def _face(s: int, box: tuple[float, float, float, float], small: bool) -> Image.Image:
    """The chunked face (RGBA, s x s) inside the ellipse `box` (fractions of s)."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    face = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    draw = ImageDraw.Draw(face)

    def y(f: float) -> float:
        return (y0 + f * h) * s

    def x(f: float) -> float:
        return (x0 + f * w) * s

    # The chunks, as bands of the face, drawn over the whole width and clipped below.
    hair_line = 0.35
    eye_line = 0.58
    draw.rectangle([0, 0, s, y(hair_line)], fill=HAIR)
    draw.rectangle([0, y(hair_line), s, y(eye_line)], fill=EYES)
    draw.rectangle([0, y(eye_line), x(0.5), s], fill=CHEEK_LEFT)
    draw.rectangle([x(0.5), y(eye_line), s, s], fill=CHEEK_RIGHT)

    # Gaps between the chunks: the cut lines.
    gap = max(1, round(s * (0.035 if small else 0.02)))
    draw.line([0, y(hair_line), s, y(hair_line)], fill=(0, 0, 0, 0), width=gap)
    draw.line([0, y(eye_line), s, y(eye_line)], fill=(0, 0, 0, 0), width=gap)
    draw.line([x(0.5), y(eye_line), x(0.5), s], fill=(0, 0, 0, 0), width=gap)
    if not small:  # the mouth chunk sits across both cheeks, cut out of them
        mouth = [x(0.27), y(0.69), x(0.73), y(0.89)]
        draw.ellipse(mouth, fill=(0, 0, 0, 0))
        draw.ellipse([mouth[0] + gap, mouth[1] + gap, mouth[2] - gap, mouth[3] - gap],
                     fill=MOUTH)

    # Features: eyes and a smile.
    eye_w, eye_h = (0.12, 0.08) if not small else (0.16, 0.1)
    for cx in (0.32, 0.68):
        draw.ellipse([x(cx - eye_w / 2), y(0.465 - eye_h / 2),
                      x(cx + eye_w / 2), y(0.465 + eye_h / 2)], fill=INK)
    if not small:
        draw.arc([x(0.36), y(0.7), x(0.64), y(0.84)], 25, 155, fill=INK,
                 width=max(1, round(s * 0.022)))

    # Clip to the face's outline and draw the outline.
    clip = _ellipse_mask(s, box)
    face.putalpha(ImageChops.multiply(face.getchannel("A"), clip))
    outline = max(1, round(s * (0.05 if small else 0.03)))
    ImageDraw.Draw(face).ellipse([v * s for v in box], outline=WHITE, width=outline)
    return face


def _rounded_square(s: int, margin: float, radius: float) -> Image.Image:
    mask = Image.new("L", (s, s), 0)
    m = margin * s
    ImageDraw.Draw(mask).rounded_rectangle([m, m, s - m, s - m], radius=radius * s, fill=255)
    return mask


def _shadow(mask: Image.Image, s: int, offset: float = 0.015, blur: float = 0.02) -> Image.Image:
    shadow = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    alpha = mask.filter(ImageFilter.GaussianBlur(blur * s)).point(lambda v: v * 0.45)
    shifted = Image.new("L", (s, s), 0)
    shifted.paste(alpha, (0, round(offset * s)))
    shadow.putalpha(shifted)
    return shadow


def app_icon(size: int) -> Image.Image:
    small = size <= 32
    s = max(8 * size, 1024)
    margin = 0.04 if small else 0.06
    square = _rounded_square(s, margin, 0.2)
    icon = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    if not small:
        icon.alpha_composite(_shadow(square, s))
    background = _vertical_gradient(s, BACKGROUND_TOP, BACKGROUND_BOTTOM).convert("RGBA")
    background.putalpha(square)
    icon.alpha_composite(background)
    box = (0.22, 0.14, 0.78, 0.88) if not small else (0.17, 0.1, 0.83, 0.92)
    icon.alpha_composite(_face(s, box, small))
    return icon.resize((size, size), Image.Resampling.LANCZOS)


def document_icon(size: int) -> Image.Image:
    """A page with a folded corner carrying the chunked face: a .semedit project."""
    small = size <= 32
    s = max(8 * size, 1024)
    left, right, top, bottom = 0.14, 0.86, 0.04, 0.96
    fold = 0.22
    page_mask = Image.new("L", (s, s), 0)
    ImageDraw.Draw(page_mask).polygon(
        [(left * s, top * s), ((right - fold) * s, top * s), (right * s, (top + fold) * s),
         (right * s, bottom * s), (left * s, bottom * s)], fill=255)
    icon = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    if not small:
        icon.alpha_composite(_shadow(page_mask, s, offset=0.01, blur=0.015))
    page = Image.new("RGBA", (s, s), (248, 250, 252, 255))
    page.putalpha(page_mask)
    icon.alpha_composite(page)
    draw = ImageDraw.Draw(icon)
    border = max(1, round(s * (0.03 if small else 0.012)))
    draw.polygon([(left * s, top * s), ((right - fold) * s, top * s), (right * s, (top + fold) * s),
                  (right * s, bottom * s), (left * s, bottom * s)],
                 outline=(100, 116, 139), width=border)
    # The folded corner.
    draw.polygon([((right - fold) * s, top * s), ((right - fold) * s, (top + fold) * s),
                  (right * s, (top + fold) * s)], fill=(203, 213, 225), outline=(100, 116, 139))
    draw.line([((right - fold) * s, top * s), ((right - fold) * s, (top + fold) * s),
               (right * s, (top + fold) * s)], fill=(100, 116, 139), width=border)
    # The emblem: the app's rounded square, smaller, on the page.
    emblem_size = round(s * (0.62 if small else 0.56))
    emblem = _emblem(emblem_size, small)
    ex = round((left + right) / 2 * s - emblem_size / 2)
    ey = round((0.58 if small else 0.6) * s - emblem_size / 2)
    icon.alpha_composite(emblem, (ex, ey))
    return icon.resize((size, size), Image.Resampling.LANCZOS)


def _emblem(s: int, small: bool) -> Image.Image:
    square = _rounded_square(s, 0.0, 0.2)
    emblem = _vertical_gradient(s, BACKGROUND_TOP, BACKGROUND_BOTTOM).convert("RGBA")
    emblem.putalpha(square)
    box = (0.14, 0.08, 0.86, 0.94) if small else (0.18, 0.1, 0.82, 0.9)
    emblem.alpha_composite(_face(s, box, small))
    return emblem


def write_icons(out: Path) -> list[Path]:
    written = []
    for size in SIZES:
        for folder, name, draw in (("apps", "semedit.png", app_icon),
                                   ("mimetypes", "application-x-semedit.png", document_icon)):
            path = out / "hicolor" / f"{size}x{size}" / folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            draw(size).save(path, optimize=True)
            written.append(path)
    window_icon = out / "semedit.png"
    app_icon(APP_ICON_SIZE).save(window_icon, optimize=True)
    written.append(window_icon)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "core" / "resources" / "icons")
    args = parser.parse_args()
    for path in write_icons(args.out):
        print(path)


if __name__ == "__main__":
    main()
