#!/usr/bin/env python3
"""The soak (bench/soak.py) in short: 10 users for one minute, the daemon
restarted twice under them, then the audit (every letter that got 250
exactly once at every recipient member and in every sender member's
Отправленные, folders as the operator's archived state, flags as last
acknowledged) and a clean daemon log (no sanitizer report)."""
import os
import sys
import unittest

import edomail_harness as h

sys.path.insert(0, os.path.join(h.SRC, "bench"))
import soak  # noqa: E402


class SoakShort(unittest.TestCase):
    def test_one_minute_ten_users(self):
        # freed memory is not what this measures: a small ASan quarantine
        opts = os.environ.get("ASAN_OPTIONS", "")
        os.environ["ASAN_OPTIONS"] = (opts + ":" if opts else "") + \
            "quarantine_size_mb=16"
        args = soak.parse_args(["--minutes", "1", "--users", "10"])
        self.assertEqual(soak.run(args), 0, "see the soak's report above")


if __name__ == "__main__":
    h.main()
