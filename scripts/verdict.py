#!/usr/bin/env python3
"""Decide a test run's verdict from the guest console log.

The run passes only if the begin and end markers are both there, no test
program failed, at least one passed, the guest was not killed by the
timeout, and the kernel printed no splat.  Prints one summary line
'N passed, N failed, N skipped' and exits 1 on anything else.
"""
import re
import sys

BEGIN = "=== PRIVMEM-TESTS-BEGIN"
END = "=== PRIVMEM-TESTS-END ==="
SPLATS = [
    "BUG:", "WARNING:", "Call Trace:", "KASAN", "Kernel panic",
    "possible circular locking", "possible recursive locking",
    "inconsistent lock state", "suspicious RCU usage",
    "INFO: task", "unreferenced object", "general protection fault",
    "Oops:", "UBSAN:",
]
RESULT = re.compile(r"^(not ok|ok) (\d+) (\S+)(.*)$")


def verdict(lines, timed_out=False):
    """Return (passed, failed, skipped, problems)."""
    passed = failed = skipped = 0
    problems = []
    begun = ended = False
    for raw in lines:
        line = raw.rstrip("\r\n")
        # Console lines may carry a printk timestamp; splats can be anywhere.
        for s in SPLATS:
            if s in line:
                problems.append("kernel splat: " + line.strip())
                break
        if line.startswith(BEGIN):
            begun = True
            continue
        if line.startswith(END):
            ended = True
            continue
        if not begun or ended:
            continue
        m = RESULT.match(line)
        if not m:
            continue
        status, _, name, rest = m.groups()
        if status == "ok" and "# SKIP" in rest:
            skipped += 1
        elif status == "ok":
            passed += 1
        else:
            failed += 1
            problems.append("failed: " + name + rest)
    if not begun:
        problems.append("no begin marker: the guest never reached the tests")
    if not ended:
        problems.append("no end marker: the guest died or hung during the tests")
    if timed_out:
        problems.append("timeout: the guest was killed")
    if begun and passed == 0:
        problems.append("no test passed")
    return passed, failed, skipped, problems


def main(argv):
    if len(argv) < 2:
        print("usage: verdict.py CONSOLE_LOG [--timed-out]", file=sys.stderr)
        return 2
    with open(argv[1], errors="replace") as f:
        lines = f.readlines()
    p, fl, s, problems = verdict(lines, "--timed-out" in argv[2:])
    for pr in problems:
        print("verdict: " + pr)
    # A failure the TAP did not count (splat, missing marker) still fails.
    if problems and fl == 0:
        fl = 1
    print("%d passed, %d failed, %d skipped" % (p, fl, s))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
