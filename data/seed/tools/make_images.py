#!/usr/bin/env python3
"""Regenerate the seed catalog's food pictures and book covers.

Every image is a 600x500 JPEG. What each food or book gets is decided in
pictures.json beside this script (reviewed by hand, enforced by check_pictures.py):

- "emoji": a Fluent Emoji (MIT, (c) Microsoft Corporation) that really shows the
  food, drawn large on a soft gradient. Only emoji listed under "faithful" for
  that very food may be used.
- "card": the food's Korean name set large in Noto Sans CJK KR Bold (SIL OFL) over
  the colours of its palette, with one generic accent (chopsticks, a spoon, a fork
  and knife or a plate, also Fluent Emoji) under it.
- books: the book's label set large over its palette, with up to three faithful
  emoji of foods that are in the book (or a generic accent).

Colours and the soft circles are varied by a hash of the name, so the output is
deterministic for a given Pillow version and font file. Each JPEG carries a
comment "ipmat-art: <kind> <what>" that check_pictures.py compares with
pictures.json, so a stale picture is caught.

    EMOJI_DIR=$(mktemp -d)
    (cd "$EMOJI_DIR" && npm pack @lobehub/fluent-emoji-3d@1.1.0 &&
     tar xzf lobehub-fluent-emoji-3d-1.1.0.tgz)    # -> package/assets/*.webp
    pip install pillow                              # fonts: apt-get install fonts-noto-cjk
    python3 data/seed/tools/make_images.py "$EMOJI_DIR/package/assets"
"""
import argparse
import colorsys
import hashlib
import io
import json
import os
import random
import sys

from PIL import Image, ImageDraw, ImageFilter, ImageFont

W, H = 600, 500
HERE = os.path.dirname(os.path.abspath(__file__))
SEED_DIR = os.path.dirname(HERE)
FONT_CANDIDATES = [
    # (path, face index of "Noto Sans CJK KR" in the collection)
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc", 1),
    ("/usr/share/fonts/noto-cjk/NotoSansCJK-Bold.ttc", 1),
    ("/usr/share/fonts/opentype/noto/NotoSansKR-Bold.otf", 0),
]
# Text must stay inside the band every crop in the web app keeps: the world-cup
# cards crop to 5:2 on short phones (the middle 240 px of 500) and the choice
# thumbnails to a square (the middle 500 px of 600).
TEXT_MAX_W = 460
TEXT_MAX_H = 180
TEXT_MAX_SIZE = 150


def art_comment(kind, what):
    return f"ipmat-art: {kind} {what}"


# ---------------------------------------------------------------- assets
class Assets:
    def __init__(self, root, font_path=None):
        self.root = root
        self.cache = {}
        self.fonts = {}
        if font_path:
            self.font_file = (font_path, 1 if font_path.endswith(".ttc") else 0)
        else:
            found = [c for c in FONT_CANDIDATES if os.path.isfile(c[0])]
            if not found:
                sys.exit("no Noto Sans CJK KR Bold font found: apt-get install fonts-noto-cjk, or pass --font")
            self.font_file = found[0]

    def path(self, cp):
        cp = cp.lower()
        bare = "-".join(p for p in cp.split("-") if p != "fe0f")
        for stem in (cp, cp + "-fe0f", bare, bare + "-fe0f"):
            for ext in (".webp", ".png"):
                p = os.path.join(self.root, stem + ext)
                if os.path.isfile(p):
                    return p
        raise FileNotFoundError(f"no asset for emoji {cp} in {self.root}")

    def get(self, cp, size):
        key = (cp, size)
        if key not in self.cache:
            im = Image.open(self.path(cp)).convert("RGBA")
            self.cache[key] = im.resize((size, size), Image.LANCZOS)
        return self.cache[key]

    def font(self, size):
        if size not in self.fonts:
            path, index = self.font_file
            self.fonts[size] = ImageFont.truetype(path, size, index=index)
        return self.fonts[size]


# ---------------------------------------------------------------- colours
def hex_rgb(h):
    h = h.lstrip("#")
    return tuple(int(h[i:i + 2], 16) for i in (0, 2, 4))


def shift(rgb, dh=0.0, dl=0.0):
    """Rotate the hue by dh degrees and move lightness by dl (0..1)."""
    h, l, s = colorsys.rgb_to_hls(*(c / 255 for c in rgb))
    r, g, b = colorsys.hls_to_rgb((h + dh / 360) % 1, min(1, max(0, l + dl)), s)
    return int(r * 255 + 0.5), int(g * 255 + 0.5), int(b * 255 + 0.5)


def hsl(h, s, l):
    r, g, b = colorsys.hls_to_rgb((h % 360) / 360.0, l, s)
    return int(r * 255 + 0.5), int(g * 255 + 0.5), int(b * 255 + 0.5)


def rng_for(name, salt=""):
    digest = hashlib.sha256((salt + name).encode("utf-8")).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def gradient(c1, c2, angle):
    size = 800
    grad = Image.linear_gradient("L").resize((size, size))
    grad = grad.rotate(angle, resample=Image.BICUBIC, fillcolor=128)
    left, top = (size - W) // 2, (size - H) // 2
    mask = grad.crop((left, top, left + W, top + H))
    img = Image.composite(Image.new("RGB", (W, H), c2), Image.new("RGB", (W, H), c1), mask)
    return img.convert("RGBA")


def pastel_background(rnd, vivid=False):
    hue = rnd.uniform(0, 360)
    hue2 = hue + rnd.choice((-1, 1)) * rnd.uniform(20, 50)
    sat = rnd.uniform(0.55, 0.80) if vivid else rnd.uniform(0.45, 0.70)
    c1 = hsl(hue, sat, rnd.uniform(0.86, 0.91))
    c2 = hsl(hue2, sat, rnd.uniform(0.72, 0.80) if vivid else rnd.uniform(0.76, 0.83))
    return gradient(c1, c2, rnd.uniform(0, 360)), hue


def clear_layer(rgb=(255, 255, 255)):
    """A transparent layer whose hidden colour is rgb, so blurred edges do not go grey."""
    return Image.new("RGBA", (W, H), tuple(rgb[:3]) + (0,))


def bokeh(img, rnd, count, tint=None, alpha=(45, 95), radius=(18, 90)):
    layer = clear_layer()
    d = ImageDraw.Draw(layer)
    for _ in range(count):
        r = rnd.uniform(*radius)
        x, y = rnd.uniform(-40, W + 40), rnd.uniform(-40, H + 40)
        if tint is None or rnd.random() < 0.7:
            col = (255, 255, 255, int(rnd.uniform(*alpha)))
        else:
            col = tint + (int(rnd.uniform(35, 70)),)
        d.ellipse((x - r, y - r, x + r, y + r), fill=col)
    layer = layer.filter(ImageFilter.GaussianBlur(3))
    return Image.alpha_composite(img, layer)


def soft_disc(img, cx, cy, r, colour, blur):
    layer = clear_layer(colour)
    ImageDraw.Draw(layer).ellipse((cx - r, cy - r, cx + r, cy + r), fill=colour)
    if blur:
        layer = layer.filter(ImageFilter.GaussianBlur(blur))
    return Image.alpha_composite(img, layer)


def shadow(img, cx, cy, rx, ry, colour, alpha=70, blur=12):
    layer = clear_layer(colour)
    ImageDraw.Draw(layer).ellipse((cx - rx, cy - ry, cx + rx, cy + ry), fill=colour + (alpha,))
    layer = layer.filter(ImageFilter.GaussianBlur(blur))
    return Image.alpha_composite(img, layer)


def paste(img, sprite, cx, cy, angle=0.0):
    if angle:
        sprite = sprite.rotate(angle, resample=Image.BICUBIC, expand=True)
    x, y = int(cx - sprite.width / 2), int(cy - sprite.height / 2)
    layer = Image.new("RGBA", (W, H), (0, 0, 0, 0))
    layer.paste(sprite, (x, y), sprite)
    return Image.alpha_composite(img, layer)


# ---------------------------------------------------------------- text
def layouts(text):
    """Ways to set a name: one line, or two lines split at a space."""
    words = text.split()
    yield [text]
    for i in range(1, len(words)):
        yield [" ".join(words[:i]), " ".join(words[i:])]


def fit_text(assets, text, max_w=TEXT_MAX_W, max_h=TEXT_MAX_H, max_size=TEXT_MAX_SIZE):
    """The largest (size, lines) that fits max_w x max_h; never overflows."""
    best = None
    for lines in layouts(text):
        size = max_size
        while size > 12:
            font = assets.font(size)
            widths = [font.getbbox(ln)[2] - font.getbbox(ln)[0] for ln in lines]
            height = len(lines) * size * 1.12
            if max(widths) <= max_w and height <= max_h:
                break
            size -= 2
        # Prefer one line unless two lines let the text grow by a fifth.
        score = size * (1.0 if len(lines) == 1 else 0.83)
        if best is None or score > best[0]:
            best = (score, size, lines)
    return best[1], best[2]


def text_box(assets, text, cx, cy, max_h=TEXT_MAX_H, max_size=TEXT_MAX_SIZE):
    """Where draw_text would put the letters: (left, top, right, bottom)."""
    size, lines = fit_text(assets, text, max_h=max_h, max_size=max_size)
    font = assets.font(size)
    d = ImageDraw.Draw(Image.new("L", (1, 1)))
    step = size * 1.12
    top = cy - step * (len(lines) - 1) / 2
    boxes = [d.textbbox((cx, top + i * step), ln, font=font, anchor="mm") for i, ln in enumerate(lines)]
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def text_over_badge(assets, text, cx, cy, badge_r, floor, max_h):
    """The largest text size whose letters end a gap above a badge that must stay above floor."""
    max_size = TEXT_MAX_SIZE
    while True:
        box = text_box(assets, text, cx, cy, max_h, max_size)
        if box[3] + 10 + 2 * badge_r <= floor or max_size <= 40:
            return max_size, box[3] + 10 + badge_r
        max_size -= 4


def draw_text(img, assets, text, cx, cy, ink, halo, max_h=TEXT_MAX_H, max_size=TEXT_MAX_SIZE):
    """Set text centred on (cx, cy); returns the image and the drawn box."""
    size, lines = fit_text(assets, text, max_h=max_h, max_size=max_size)
    font = assets.font(size)
    step = size * 1.12
    top = cy - step * (len(lines) - 1) / 2
    # Soft halo under the letters keeps them legible on every part of the gradient.
    glow = clear_layer(halo)
    gd = ImageDraw.Draw(glow)
    for i, ln in enumerate(lines):
        gd.text((cx, top + i * step + size * 0.04), ln, font=font, anchor="mm",
                fill=halo, stroke_width=max(3, size // 14), stroke_fill=halo)
    img = Image.alpha_composite(img, glow.filter(ImageFilter.GaussianBlur(max(4, size // 12))))
    d = ImageDraw.Draw(img)
    box = None
    for i, ln in enumerate(lines):
        d.text((cx, top + i * step), ln, font=font, anchor="mm", fill=ink)
        b = d.textbbox((cx, top + i * step), ln, font=font, anchor="mm")
        box = b if box is None else (min(box[0], b[0]), min(box[1], b[1]), max(box[2], b[2]), max(box[3], b[3]))
    return img, box


def luminance(rgb):
    return (0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2]) / 255


def palette_colours(pal, rnd):
    dh = rnd.uniform(-7, 7)
    light = shift(hex_rgb(pal["light"]), dh)
    deep = shift(hex_rgb(pal["deep"]), dh)
    ink = hex_rgb(pal["ink"])
    if luminance(ink) > 0.5:  # light letters: a dark halo made from the deep colour
        halo = shift(deep, 0, -0.22) + (150,)
    else:                     # dark letters: a light halo
        halo = shift(light, 0, 0.08) + (200,)
    return light, deep, ink, halo


def accent_badge(img, assets, cp, cx, cy, deep, size=78):
    img = soft_disc(img, cx + 3, cy + 6, size * 0.68, shift(deep, 0, -0.2) + (55,), 7)
    img = soft_disc(img, cx, cy, size * 0.66, (255, 255, 255, 235), 0)
    return paste(img, assets.get(cp, size), cx, cy)


# ---------------------------------------------------------------- compositions
def emoji_food(name, cp, assets):
    rnd = rng_for(name)
    img, hue = pastel_background(rnd)
    img = bokeh(img, rnd, rnd.randint(4, 8), tint=hsl(hue, 0.6, 0.62))
    cx, cy, size = 300 + rnd.uniform(-12, 12), 240 + rnd.uniform(-8, 8), 320
    img = soft_disc(img, cx, cy + 6, 182, (255, 255, 255, 95), 6)
    img = shadow(img, cx, cy + size * 0.43, size * 0.36, 22, hsl(hue, 0.35, 0.30))
    img = paste(img, assets.get(cp, size), cx, cy, rnd.uniform(-6, 6))
    return img.convert("RGB")


def card_food(name, entry, pictures, assets):
    rnd = rng_for(name, salt="card:")
    light, deep, ink, halo = palette_colours(pictures["palettes"][entry["palette"]], rnd)
    img = gradient(light, deep, rnd.uniform(105, 165))
    img = bokeh(img, rnd, rnd.randint(5, 8), alpha=(28, 60), radius=(30, 110))
    badge = 58
    max_size, badge_y = text_over_badge(assets, name, 300, 222, badge * 0.66, 388, TEXT_MAX_H)
    img, _ = draw_text(img, assets, name, 300, 222, ink, halo, TEXT_MAX_H, max_size)
    cp = pictures["accents"][entry["accent"]]["emoji"]
    img = accent_badge(img, assets, cp, 300, badge_y, deep, size=badge)
    return img.convert("RGB")


def cover_image(name, entry, pictures, assets):
    rnd = rng_for(name, salt="book:")
    light, deep, ink, halo = palette_colours(pictures["palettes"][entry["palette"]], rnd)
    img = gradient(light, deep, rnd.uniform(105, 165))
    img = bokeh(img, rnd, rnd.randint(7, 10), alpha=(28, 60), radius=(30, 110))
    emoji = entry.get("emoji") or []
    # The book page shows the cover as a wide banner (down to the middle 150 px of
    # 500), so the label sits on the centre line and the emoji row lies below
    # every banner crop; the book list shows the whole cover.
    img, box = draw_text(img, assets, entry["label"], 300, 248, ink, halo, max_h=118, max_size=118)
    if emoji:
        n = len(emoji)
        for i, cp in enumerate(emoji):
            cx = 300 + (i - (n - 1) / 2) * 128
            img = soft_disc(img, cx, 433, 48, (255, 255, 255, 205), 0)
            img = paste(img, assets.get(cp, 80), cx, 432, rnd.uniform(-6, 6))
    else:
        cp = pictures["accents"][entry["accent"]]["emoji"]
        img = accent_badge(img, assets, cp, 300, 432, deep, size=68)
    return img.convert("RGB")


def save_jpeg(img, path, quality, max_bytes, comment):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    q = quality
    while True:
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=q, optimize=True, progressive=True,
                 comment=comment.encode("utf-8"))
        if buf.tell() <= max_bytes or q <= 60:
            break
        q -= 4
    with open(path, "wb") as fh:
        fh.write(buf.getvalue())
    return buf.tell(), q


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("assets", help="directory of Fluent Emoji 3D files named by code point (e.g. 1f35c.webp)")
    ap.add_argument("--catalog", default=os.path.join(SEED_DIR, "catalog.json"))
    ap.add_argument("--map", default=os.path.join(HERE, "pictures.json"))
    ap.add_argument("--font", help="Noto Sans CJK KR Bold (.ttc or .otf); found in /usr/share/fonts by default")
    ap.add_argument("--quality", type=int, default=80)
    ap.add_argument("--max-bytes", type=int, default=30 * 1024,
                    help="lower the JPEG quality (not below 60) until a file fits")
    ap.add_argument("--only", nargs="*", help="food or book names to regenerate")
    args = ap.parse_args(argv)

    with open(args.catalog, encoding="utf-8") as fh:
        catalog = json.load(fh)
    with open(args.map, encoding="utf-8") as fh:
        pictures = json.load(fh)
    base = os.path.dirname(os.path.abspath(args.catalog))
    assets = Assets(args.assets, args.font)

    jobs = [(f["name"], f["image"], "food") for f in catalog["foods"]]
    jobs += [(b["name"], b["cover"], "book") for b in catalog["books"]]
    if args.only:
        jobs = [j for j in jobs if j[0] in set(args.only)]
    missing = [n for n, _, kind in jobs if n not in pictures["foods" if kind == "food" else "books"]]
    if missing:
        sys.exit(f"no entry in pictures.json for: {', '.join(missing)}")

    total = 0
    for name, rel, kind in jobs:
        if kind == "food":
            entry = pictures["foods"][name]
            if entry["art"] == "emoji":
                img = emoji_food(name, entry["emoji"], assets)
                comment = art_comment("emoji", entry["emoji"])
            else:
                img = card_food(name, entry, pictures, assets)
                comment = art_comment("card", name)
        else:
            img = cover_image(name, pictures["books"][name], pictures, assets)
            comment = art_comment("cover", name)
        size, q = save_jpeg(img, os.path.join(base, rel), args.quality, args.max_bytes, comment)
        total += size
        if q != args.quality:
            print(f"{rel}: quality lowered to {q} ({size} bytes)")
    print(f"wrote {len(jobs)} images, {total / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
