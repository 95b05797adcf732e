"""Tests of check_pictures.py: the real seed passes, broken mappings and images fail.

Run: python3 -m unittest discover -s data/seed/tools -p 'test_*.py'
"""
import json
import os
import shutil
import tempfile
import unittest

import check_pictures

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = os.path.dirname(HERE)


class CheckPictures(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()
        shutil.copy(os.path.join(SEED, "catalog.json"), self.dir)
        shutil.copytree(os.path.join(SEED, "images"), os.path.join(self.dir, "images"))
        with open(os.path.join(HERE, "pictures.json"), encoding="utf-8") as fh:
            self.map = json.load(fh)

    def tearDown(self):
        shutil.rmtree(self.dir)

    def run_check(self):
        path = os.path.join(self.dir, "pictures.json")
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(self.map, fh, ensure_ascii=False)
        errs, _ = check_pictures.check(os.path.join(self.dir, "catalog.json"), path)
        return errs

    def assert_error(self, errs, *parts):
        hits = [e for e in errs if all(p in e for p in parts)]
        self.assertTrue(hits, f"no error with {parts} in {errs}")

    def test_the_bundled_seed_passes(self):
        self.assertEqual(self.run_check(), [])

    def test_a_rejected_emoji_fails(self):
        self.map["foods"]["떡볶이"] = {"art": "emoji", "emoji": "1f958"}
        self.assert_error(self.run_check(), "떡볶이", "not faithful", "paella")

    def test_an_emoji_of_another_food_fails(self):
        self.map["foods"]["김밥"] = {"art": "emoji", "emoji": "1f359"}
        errs = self.run_check()
        self.assert_error(errs, "김밥", "not 김밥")
        self.assert_error(errs, "pair 김밥 / 주먹밥", "share the picture")

    def test_an_unreviewed_emoji_fails(self):
        self.map["foods"]["송편"] = {"art": "emoji", "emoji": "1f96f"}
        self.assert_error(self.run_check(), "송편", "not in the reviewed faithful table")

    def test_one_emoji_for_two_foods_of_a_book_fails(self):
        self.map["faithful"]["1f35c"]["foods"].append("짬뽕")
        self.map["foods"]["짬뽕"] = {"art": "emoji", "emoji": "1f35c"}
        self.assert_error(self.run_check(), "book 면요리 월드컵", "라면 and 짬뽕", "share the picture")

    def test_a_missing_entry_fails(self):
        del self.map["foods"]["치킨"]
        self.assert_error(self.run_check(), "치킨", "no entry")

    def test_a_food_emoji_as_accent_fails(self):
        self.map["accents"]["spoon"]["emoji"] = "1f355"
        self.assert_error(self.run_check(), "accent spoon", "food emoji")

    def test_a_cover_emoji_of_foods_not_in_the_book_fails(self):
        self.map["books"]["디저트 월드컵"]["emoji"] = ["1f355"]
        self.assert_error(self.run_check(), "book 디저트 월드컵", "shows no food of this book")

    def test_identical_or_stale_image_files_fail(self):
        images = os.path.join(self.dir, "images")
        shutil.copy(os.path.join(images, "gyeran-mari.jpg"), os.path.join(images, "gyeran-jjim.jpg"))
        errs = self.run_check()
        self.assert_error(errs, "pair 계란말이 / 계란찜", "byte-identical")
        self.assert_error(errs, "계란찜", "not drawn from its pictures.json entry")


if __name__ == "__main__":
    unittest.main()
