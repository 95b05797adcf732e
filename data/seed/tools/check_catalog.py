#!/usr/bin/env python3
"""Validate data/seed/catalog.json and its images (standard library only).

Usage: python3 data/seed/tools/check_catalog.py [path/to/catalog.json]
Exits non-zero and lists every problem found. Also runs check_pictures.py
(every picture shows its own food) against pictures.json beside this script.
"""
import json
import os
import struct
import sys

import check_pictures

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT = os.path.join(HERE, "..", "catalog.json")
W, H = 600, 500
MAX_IMAGE_BYTES = 35 * 1024
# English takes about twice the characters of the same Korean (src/catalog/model.rs limits).
FOOD_NAME_EN, DESCRIPTION_EN, DETAILS_EN = 40, 60, 600
CATEGORY_NAME_EN, BOOK_NAME_EN, BOOK_DESCRIPTION_EN = 30, 60, 400


def hangul(text):
    return any("\uac00" <= ch <= "\ud7a3" for ch in text)


def check_english(err, owner, text, limit, line=True):
    """Every bundled entry is translated: 1..limit characters, one line, no Hangul left."""
    if not 1 <= len(text.strip()) <= limit or text != text.strip():
        err(f"{owner}: English length {len(text)} (1..{limit}, trimmed)")
    if line and "\n" in text:
        err(f"{owner}: English text must be one line")
    if hangul(text):
        err(f"{owner}: English text still holds Hangul: {text!r}")


def jpeg_size(path):
    """Return (width, height) of a baseline/progressive JPEG, or None."""
    with open(path, "rb") as fh:
        data = fh.read()
    if data[:2] != b"\xff\xd8":
        return None
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        seglen = struct.unpack(">H", data[i + 2:i + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
            h, w = struct.unpack(">HH", data[i + 5:i + 9])
            return w, h
        i += 2 + seglen
    return None


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else DEFAULT
    base = os.path.dirname(os.path.abspath(path))
    with open(path, encoding="utf-8") as fh:
        cat = json.load(fh)
    errs = []
    warn = []

    def err(msg):
        errs.append(msg)

    if cat.get("format") != "ipmat-catalog" or cat.get("version") != 1:
        err("format/version must be ipmat-catalog / 1")

    for c in cat["categories"]:
        if set(c) != {"name", "name_en"}:
            err(f"category {c.get('name')}: keys {sorted(c)}")
        check_english(err, f"category {c['name']} name_en", c.get("name_en", ""), CATEGORY_NAME_EN)
    cats = [c["name"] for c in cat["categories"]]
    if len(cats) < 8:
        err(f"only {len(cats)} categories (need >= 8)")
    if cats != sorted(cats):
        err("categories not sorted by name")
    if len(set(cats)) != len(cats):
        err("duplicate category names")
    for c in cats:
        if not 1 <= len(c) <= 15:
            err(f"category name length: {c!r}")

    foods = cat["foods"]
    names = [f["name"] for f in foods]
    if len(foods) < 110:
        err(f"only {len(foods)} foods (need >= 110)")
    if names != sorted(names):
        err("foods not sorted by name")
    if len(set(names)) != len(names):
        err("duplicate food names")
    used_images = set()
    keys = {"name", "description", "details", "name_en", "description_en", "details_en",
            "categories", "image", "credit", "alt_image", "alt_credit"}
    for f in foods:
        n = f["name"]
        if set(f) != keys:
            err(f"{n}: keys {sorted(f)}")
        if not 1 <= len(n) <= 15:
            err(f"{n}: name length {len(n)}")
        if not 1 <= len(f["description"]) <= 30 or "\n" in f["description"]:
            err(f"{n}: description length {len(f['description'])}")
        if not 1 <= len(f["details"]) <= 300:
            err(f"{n}: details length {len(f['details'])}")
        check_english(err, f"{n} name_en", f.get("name_en", ""), FOOD_NAME_EN)
        check_english(err, f"{n} description_en", f.get("description_en", ""), DESCRIPTION_EN)
        check_english(err, f"{n} details_en", f.get("details_en", ""), DETAILS_EN, line=False)
        if len(f["credit"]) > 30:
            err(f"{n}: credit length {len(f['credit'])}")
        if not 1 <= len(f["categories"]) <= 3 or len(set(f["categories"])) != len(f["categories"]):
            err(f"{n}: categories {f['categories']}")
        for c in f["categories"]:
            if c not in cats:
                err(f"{n}: unknown category {c}")
        if f["alt_image"] is not None or f["alt_credit"] is not None:
            err(f"{n}: alt_image/alt_credit should be null")
        if f["image"] in used_images:
            err(f"{n}: image shared with another food: {f['image']}")
        used_images.add(f["image"])

    english = [f.get("name_en", "") for f in foods]
    if len(set(english)) != len(english):
        err("duplicate English food names")
    for c in cats:
        if not any(c in f["categories"] for f in foods):
            warn.append(f"category {c} has no foods")

    books = cat["books"]
    bnames = [b["name"] for b in books]
    if len(books) < 9:
        err(f"only {len(books)} books (need >= 9)")
    if [(b["priority"], b["name"]) for b in books] != sorted((b["priority"], b["name"]) for b in books):
        err("books not sorted by priority, name")
    if len(set(bnames)) != len(bnames):
        err("duplicate book names")
    nameset = set(names)
    for b in books:
        if not 1 <= len(b["name"]) <= 30:
            err(f"book {b['name']}: name length")
        check_english(err, f"book {b['name']} name_en", b.get("name_en", ""), BOOK_NAME_EN)
        if len(b.get("description", "")) > 200:
            err(f"book {b['name']}: description length")
        if b.get("description") and not b.get("description_en"):
            err(f"book {b['name']}: a description needs its English description_en")
        if b.get("description_en"):
            check_english(err, f"book {b['name']} description_en", b["description_en"],
                          BOOK_DESCRIPTION_EN, line=False)
        if not isinstance(b["priority"], int):
            err(f"book {b['name']}: priority not int")
        if not 16 <= len(b["foods"]) <= 64:
            err(f"book {b['name']}: {len(b['foods'])} foods (need 16..64)")
        if len(set(b["foods"])) != len(b["foods"]):
            err(f"book {b['name']}: duplicate foods")
        for fn in b["foods"]:
            if fn not in nameset:
                err(f"book {b['name']}: unknown food {fn}")

    seen = set()
    if len(cat["pairs"]) < 70:
        err(f"only {len(cat['pairs'])} pairs (need >= 70)")
    for p in cat["pairs"]:
        if len(p) != 2 or p[0] == p[1]:
            err(f"bad pair {p}")
            continue
        for fn in p:
            if fn not in nameset:
                err(f"pair {p}: unknown food {fn}")
        k = frozenset(p)
        if k in seen:
            err(f"duplicate pair {p}")
        seen.add(k)

    total = 0
    images = [(f["name"], f["image"]) for f in foods] + [(b["name"], b["cover"]) for b in books]
    for owner, rel in images:
        if os.path.isabs(rel) or ".." in rel.split("/"):
            err(f"{owner}: image path must be relative: {rel}")
            continue
        p = os.path.join(base, rel)
        if not os.path.isfile(p):
            err(f"{owner}: missing image {rel}")
            continue
        size = os.path.getsize(p)
        total += size
        dims = jpeg_size(p)
        if dims != (W, H):
            err(f"{owner}: {rel} is {dims}, want JPEG {W}x{H}")
        if size > MAX_IMAGE_BYTES:
            warn.append(f"{owner}: {rel} is {size} bytes (> {MAX_IMAGE_BYTES})")

    referenced = {os.path.normpath(os.path.join(base, rel)) for _, rel in images}
    img_dir = os.path.join(base, "images")
    if os.path.isdir(img_dir):
        for fn in sorted(os.listdir(img_dir)):
            if os.path.normpath(os.path.join(img_dir, fn)) not in referenced:
                warn.append(f"images/{fn} is not referenced by the catalog")

    picture_errs, picture_summary = check_pictures.check(path, os.path.join(HERE, "pictures.json"))
    errs += picture_errs

    for w in warn:
        print("warning:", w)
    for e in errs:
        print("error:", e)
    print(f"foods {len(foods)}, categories {len(cats)}, books {len(books)} "
          f"({', '.join(b['name'] + '=' + str(len(b['foods'])) for b in books)}), pairs {len(cat['pairs'])}, "
          f"images {len(images)} totalling {total / 1024:.0f} KiB")
    print("pictures:", picture_summary)
    print("OK" if not errs else f"{len(errs)} problem(s)")
    return 1 if errs else 0


if __name__ == "__main__":
    sys.exit(main())
