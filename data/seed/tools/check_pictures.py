#!/usr/bin/env python3
"""Check that every seed picture shows its own food (standard library only).

Reads catalog.json, the reviewed mapping pictures.json and the JPEG files, and
fails when:
- a catalog food or book has no entry in pictures.json (or an entry names
  something the catalog does not have);
- a food uses an emoji that the "faithful" table does not list for that very
  food, or one listed under "not_faithful"; a card names an unknown palette or
  accent; an accent is a food emoji rather than a generic one;
- a book cover shows an emoji that depicts none of the book's own foods;
- two foods of one book, or of one quiz pair, share a main picture, judged
  both from the mapping and from the bytes of the image files;
- an image file does not carry the "ipmat-art" comment that make_images.py
  writes for the mapping's current entry (a stale or foreign picture).

Usage: python3 data/seed/tools/check_pictures.py [--catalog PATH] [--map PATH]
"""
import argparse
import hashlib
import json
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SEED_DIR = os.path.dirname(HERE)


def jpeg_comments(data):
    """The COM segments of a JPEG, decoded as UTF-8."""
    out = []
    if data[:2] != b"\xff\xd8":
        return out
    i = 2
    while i + 4 <= len(data) and data[i] == 0xFF:
        marker = data[i + 1]
        if marker == 0xDA:  # start of scan: no more headers
            break
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        seglen = struct.unpack(">H", data[i + 2:i + 4])[0]
        if marker == 0xFE:
            out.append(data[i + 4:i + 2 + seglen].decode("utf-8", "replace"))
        i += 2 + seglen
    return out


def main_picture(name, entry):
    """What a food's picture is of, as a comparable key."""
    if entry.get("art") == "emoji":
        return f"emoji {entry.get('emoji')}"
    return f"card {name}"


def check(catalog_path, map_path):
    errs = []
    with open(catalog_path, encoding="utf-8") as fh:
        cat = json.load(fh)
    with open(map_path, encoding="utf-8") as fh:
        pics = json.load(fh)
    base = os.path.dirname(os.path.abspath(catalog_path))
    foods = {f["name"]: f for f in cat["foods"]}
    books = {b["name"]: b for b in cat["books"]}
    faithful = pics.get("faithful", {})
    rejected = pics.get("not_faithful", {})
    palettes = pics.get("palettes", {})
    accents = pics.get("accents", {})
    fmap = pics.get("foods", {})
    bmap = pics.get("books", {})

    # The reviewed tables themselves.
    for cp, row in faithful.items():
        if cp in rejected:
            errs.append(f"emoji {cp} is listed both as faithful and as not faithful")
        for fn in row.get("foods", []):
            if fn not in foods:
                errs.append(f"faithful table: emoji {cp} lists unknown food {fn}")
        if not row.get("shows"):
            errs.append(f"faithful table: emoji {cp} says nothing about what it shows")
    accent_cps = set()
    for key, row in accents.items():
        cp = row.get("emoji", "")
        accent_cps.add(cp)
        bare = "-".join(p for p in cp.split("-") if p != "fe0f")
        if cp in faithful or bare in faithful:
            errs.append(f"accent {key} ({cp}) is a food emoji, not a generic one")

    # Every food: a faithful emoji or a card.
    for name in foods:
        if name not in fmap:
            errs.append(f"{name}: no entry in pictures.json")
    for name in fmap:
        if name not in foods:
            errs.append(f"pictures.json names a food the catalog does not have: {name}")
    for name, entry in fmap.items():
        art = entry.get("art")
        if art == "emoji":
            cp = entry.get("emoji")
            if cp in rejected:
                errs.append(f"{name}: emoji {cp} is not faithful ({rejected[cp]})")
            elif cp not in faithful:
                errs.append(f"{name}: emoji {cp} is not in the reviewed faithful table")
            elif name not in faithful[cp].get("foods", []):
                errs.append(f"{name}: emoji {cp} shows {faithful[cp]['shows']} for "
                            f"{', '.join(faithful[cp]['foods'])}, not {name}")
        elif art == "card":
            if entry.get("palette") not in palettes:
                errs.append(f"{name}: unknown palette {entry.get('palette')!r}")
            if entry.get("accent") not in accents:
                errs.append(f"{name}: unknown accent {entry.get('accent')!r}")
        else:
            errs.append(f"{name}: art must be 'emoji' or 'card', not {art!r}")

    # Book covers show only the book's own foods.
    for name in books:
        if name not in bmap:
            errs.append(f"book {name}: no entry in pictures.json")
    for name, entry in bmap.items():
        if name not in books:
            errs.append(f"pictures.json names a book the catalog does not have: {name}")
            continue
        if not entry.get("label"):
            errs.append(f"book {name}: no label")
        if entry.get("palette") not in palettes:
            errs.append(f"book {name}: unknown palette {entry.get('palette')!r}")
        emoji = entry.get("emoji") or []
        if not emoji and entry.get("accent") not in accents:
            errs.append(f"book {name}: needs emoji or a known accent")
        in_book = set(books[name]["foods"])
        for cp in emoji:
            shows = set(faithful.get(cp, {}).get("foods", []))
            if not shows & in_book:
                errs.append(f"book {name}: cover emoji {cp} shows no food of this book")

    # The image files: right comment (so they match the mapping) and their hashes.
    digest = {}
    for name, food in foods.items():
        path = os.path.join(base, food["image"])
        try:
            with open(path, "rb") as fh:
                data = fh.read()
        except OSError as e:
            errs.append(f"{name}: cannot read {food['image']}: {e.strerror}")
            continue
        digest[name] = hashlib.sha256(data).hexdigest()
        if name in fmap:
            want = "ipmat-art: " + main_picture(name, fmap[name])
            if want not in jpeg_comments(data):
                errs.append(f"{name}: {food['image']} was not drawn from its pictures.json entry "
                            f"(want comment {want!r}); run make_images.py")
    for name, book in books.items():
        path = os.path.join(base, book["cover"])
        if os.path.isfile(path) and name in bmap:
            with open(path, "rb") as fh:
                if f"ipmat-art: cover {name}" not in jpeg_comments(fh.read()):
                    errs.append(f"book {name}: {book['cover']} is not its drawn cover; run make_images.py")

    # No shared main picture within a book or a quiz pair.
    groups = [(f"book {b['name']}", b["foods"]) for b in cat["books"]]
    groups += [(f"pair {p[0]} / {p[1]}", p) for p in cat["pairs"]]
    for label, members in groups:
        by_key, by_hash = {}, {}
        for fn in members:
            if fn in fmap:
                key = main_picture(fn, fmap[fn])
                if key in by_key:
                    errs.append(f"{label}: {by_key[key]} and {fn} share the picture {key}")
                by_key.setdefault(key, fn)
            if fn in digest:
                h = digest[fn]
                if h in by_hash:
                    errs.append(f"{label}: {by_hash[h]} and {fn} have byte-identical images")
                by_hash.setdefault(h, fn)

    emoji_foods = sorted(n for n, e in fmap.items() if e.get("art") == "emoji")
    summary = (f"{len(fmap)} foods: {len(emoji_foods)} faithful emoji, "
               f"{len(fmap) - len(emoji_foods)} name cards; {len(bmap)} covers; "
               f"{len(groups)} books and pairs checked")
    return errs, summary


def main(argv=None):
    ap = argparse.ArgumentParser(description="Check that every seed picture shows its own food.")
    ap.add_argument("--catalog", default=os.path.join(SEED_DIR, "catalog.json"))
    ap.add_argument("--map", default=os.path.join(HERE, "pictures.json"))
    args = ap.parse_args(argv)
    errs, summary = check(args.catalog, args.map)
    for e in errs:
        print("error:", e)
    print("pictures:", summary)
    print("OK" if not errs else f"{len(errs)} picture problem(s)")
    return 1 if errs else 0


if __name__ == "__main__":
    sys.exit(main())
