#!/usr/bin/env python3
"""Regenerate the seed catalog's food images and book covers.

Every image is a 600x500 JPEG: a soft two-colour gradient whose hues come from a
hash of the food (or book) name, a few translucent "bokeh" circles placed by the
same hash, and one or more Fluent Emoji (MIT, (c) Microsoft Corporation) drawn
large in the middle. No text is drawn.

The emoji assets are the 256x256 3D renders shipped by the npm package
@lobehub/fluent-emoji-3d (files named by lowercase code point, e.g. 1f35c.webp):

    EMOJI_DIR=$(mktemp -d)
    (cd "$EMOJI_DIR" && npm pack @lobehub/fluent-emoji-3d@1.1.0 &&
     tar xzf lobehub-fluent-emoji-3d-1.1.0.tgz)    # -> package/assets/*.webp
    pip install pillow
    python3 data/seed/tools/make_images.py "$EMOJI_DIR/package/assets"

Which emoji each food/book uses is in emoji-map.json beside this script:
foods map to [main] or [main, accent]; books map to three emoji for the cover.
Output paths are the `image` / `cover` fields of catalog.json, relative to it.
"""
import argparse
import hashlib
import io
import json
import os
import random
import sys

from PIL import Image, ImageDraw, ImageFilter

W, H = 600, 500
HERE = os.path.dirname(os.path.abspath(__file__))
SEED_DIR = os.path.dirname(HERE)


# ---------------------------------------------------------------- assets
class Assets:
    def __init__(self, root):
        self.root = root
        self.cache = {}

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


# ---------------------------------------------------------------- colours
def hsl(h, s, l):
    """h in degrees, s and l in 0..1 -> RGB tuple."""
    import colorsys
    r, g, b = colorsys.hls_to_rgb((h % 360) / 360.0, l, s)
    return int(r * 255 + 0.5), int(g * 255 + 0.5), int(b * 255 + 0.5)


def rng_for(name, salt=""):
    digest = hashlib.sha256((salt + name).encode("utf-8")).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def background(rnd, vivid=False):
    hue = rnd.uniform(0, 360)
    hue2 = hue + rnd.choice((-1, 1)) * rnd.uniform(20, 50)
    sat = rnd.uniform(0.55, 0.80) if vivid else rnd.uniform(0.45, 0.70)
    c1 = hsl(hue, sat, rnd.uniform(0.86, 0.91))
    c2 = hsl(hue2, sat, rnd.uniform(0.72, 0.80) if vivid else rnd.uniform(0.76, 0.83))
    # Diagonal gradient at a hash-chosen angle.
    size = 800
    grad = Image.linear_gradient("L").resize((size, size))
    grad = grad.rotate(rnd.uniform(0, 360), resample=Image.BICUBIC, fillcolor=128)
    left, top = (size - W) // 2, (size - H) // 2
    mask = grad.crop((left, top, left + W, top + H))
    img = Image.composite(Image.new("RGB", (W, H), c2), Image.new("RGB", (W, H), c1), mask)
    return img.convert("RGBA"), hue


def bokeh(img, rnd, hue, count):
    layer = Image.new("RGBA", (W, H), (0, 0, 0, 0))
    d = ImageDraw.Draw(layer)
    for _ in range(count):
        r = rnd.uniform(18, 90)
        x, y = rnd.uniform(-40, W + 40), rnd.uniform(-40, H + 40)
        if rnd.random() < 0.7:
            col = (255, 255, 255, int(rnd.uniform(45, 95)))
        else:
            col = hsl(hue + rnd.uniform(-60, 60), 0.6, 0.62) + (int(rnd.uniform(35, 70)),)
        d.ellipse((x - r, y - r, x + r, y + r), fill=col)
    layer = layer.filter(ImageFilter.GaussianBlur(3))
    return Image.alpha_composite(img, layer)


def soft_disc(img, cx, cy, r, colour, blur):
    layer = Image.new("RGBA", (W, H), (0, 0, 0, 0))
    ImageDraw.Draw(layer).ellipse((cx - r, cy - r, cx + r, cy + r), fill=colour)
    if blur:
        layer = layer.filter(ImageFilter.GaussianBlur(blur))
    return Image.alpha_composite(img, layer)


def shadow(img, cx, cy, rx, ry, hue, alpha=70):
    layer = Image.new("RGBA", (W, H), (0, 0, 0, 0))
    ImageDraw.Draw(layer).ellipse((cx - rx, cy - ry, cx + rx, cy + ry),
                                  fill=hsl(hue, 0.35, 0.30) + (alpha,))
    layer = layer.filter(ImageFilter.GaussianBlur(12))
    return Image.alpha_composite(img, layer)


def paste(img, sprite, cx, cy, angle=0.0):
    if angle:
        sprite = sprite.rotate(angle, resample=Image.BICUBIC, expand=True)
    x, y = int(cx - sprite.width / 2), int(cy - sprite.height / 2)
    layer = Image.new("RGBA", (W, H), (0, 0, 0, 0))
    layer.paste(sprite, (x, y), sprite)
    return Image.alpha_composite(img, layer)


# ---------------------------------------------------------------- compositions
def food_image(name, emoji, assets):
    rnd = rng_for(name)
    img, hue = background(rnd)
    img = bokeh(img, rnd, hue, rnd.randint(4, 8))
    main = emoji[0]
    accent = emoji[1] if len(emoji) > 1 else None
    # Small hash-driven jitter so foods sharing an emoji are not pixel clones.
    jx, jy = rnd.uniform(-18, 18), rnd.uniform(-10, 10)
    angle = rnd.uniform(-8, 8)
    if accent:
        cx, cy, size = 272 + jx, 238 + jy, 290
    else:
        cx, cy, size = 300 + jx, 240 + jy, 310
    img = soft_disc(img, cx, cy + 6, 178, (255, 255, 255, 95), 6)
    img = shadow(img, cx, cy + size * 0.43, size * 0.36, 22, hue)
    img = paste(img, assets.get(main, size), cx, cy, angle)
    if accent:
        ax, ay = 452 + rnd.uniform(-10, 10), 350 + rnd.uniform(-10, 10)
        img = soft_disc(img, ax + 4, ay + 8, 80, hsl(hue, 0.3, 0.3) + (60,), 8)
        img = soft_disc(img, ax, ay, 78, (255, 255, 255, 235), 0)
        img = paste(img, assets.get(accent, 118), ax, ay, rnd.uniform(-12, 12))
    return img.convert("RGB")


def cover_image(name, emoji, assets):
    rnd = rng_for(name, salt="book:")
    img, hue = background(rnd, vivid=True)
    img = bokeh(img, rnd, hue, rnd.randint(7, 11))
    img = soft_disc(img, 300, 255, 215, (255, 255, 255, 80), 8)
    left, centre, right = (emoji + emoji * 2)[:3] if len(emoji) < 3 else emoji[:3]
    # Two side emoji behind, one large in front.
    for cp, cx, ang in ((left, 132, 10), (right, 468, -10)):
        img = shadow(img, cx, 345, 66, 14, hue, 55)
        img = paste(img, assets.get(cp, 170), cx, 275, ang)
    img = shadow(img, 300, 385, 96, 20, hue, 75)
    img = paste(img, assets.get(centre, 240), 300, 262, rnd.uniform(-5, 5))
    return img.convert("RGB")


def save_jpeg(img, path, quality, max_bytes):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    q = quality
    while True:
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=q, optimize=True, progressive=True)
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
    ap.add_argument("--map", default=os.path.join(HERE, "emoji-map.json"))
    ap.add_argument("--quality", type=int, default=80)
    ap.add_argument("--max-bytes", type=int, default=35 * 1024,
                    help="lower the JPEG quality (not below 60) until a file fits")
    ap.add_argument("--only", nargs="*", help="food or book names to regenerate")
    args = ap.parse_args(argv)

    with open(args.catalog, encoding="utf-8") as fh:
        catalog = json.load(fh)
    with open(args.map, encoding="utf-8") as fh:
        emap = json.load(fh)
    base = os.path.dirname(os.path.abspath(args.catalog))
    assets = Assets(args.assets)

    jobs = [(f["name"], f["image"], "food") for f in catalog["foods"]]
    jobs += [(b["name"], b["cover"], "book") for b in catalog["books"]]
    if args.only:
        jobs = [j for j in jobs if j[0] in set(args.only)]
    missing = [n for n, _, kind in jobs if n not in emap["foods" if kind == "food" else "books"]]
    if missing:
        sys.exit(f"no emoji mapping for: {', '.join(missing)}")

    total = 0
    for name, rel, kind in jobs:
        if kind == "food":
            img = food_image(name, emap["foods"][name], assets)
        else:
            img = cover_image(name, emap["books"][name], assets)
        size, q = save_jpeg(img, os.path.join(base, rel), args.quality, args.max_bytes)
        total += size
        if q != args.quality:
            print(f"{rel}: quality lowered to {q} ({size} bytes)")
    print(f"wrote {len(jobs)} images, {total / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
