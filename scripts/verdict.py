#!/usr/bin/env python3
"""Decide a test run's verdict from the guest console log.

The run passes only if the begin and end markers are both there, no test
program failed, at least one passed, the guest was not killed by the
timeout, and the kernel printed no splat.  Prints one summary line
'N passed, N failed, N skipped' and exits 1 on anything else.

KUnit: the init reports the suites built into the kernel as one entry,
'# selftest: kunit SUITE...', followed by KUnit's TAP from the kernel log
(each line prefixed with '# ') and the entry's own result.  Each KUnit
case counts as a test (the entry itself does not); a failing case fails the
run, and so does a suite named by --kunit whose result is missing.
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
KUNIT_BEGIN = re.compile(r"^# selftest: kunit( |$)")
# Inside the KUnit entry, after its "# " prefix: a case (one level of
# indentation) or a suite (none).  Older KUnit omits the '- '.
KUNIT_CASE = re.compile(r"^# {5}(not ok|ok) \d+ (?:- )?(\S+)(.*)$")
KUNIT_SUITE = re.compile(r"^# (not ok|ok) \d+ (?:- )?(\S+)(.*)$")


def verdict(lines, timed_out=False, kunit_suites=()):
    """Return (passed, failed, skipped, problems)."""
    passed = failed = skipped = 0
    problems = []
    begun = ended = False
    in_kunit = False
    kunit_failed = 0
    suites = {}

    def tally(status, name, rest):
        """Count one result; return False if it failed."""
        nonlocal passed, failed, skipped
        if status == "ok" and "# SKIP" in rest:
            skipped += 1
        elif status == "ok":
            passed += 1
        else:
            failed += 1
            problems.append("failed: " + name + rest)
            return False
        return True
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
        if KUNIT_BEGIN.match(line):
            in_kunit = True
            kunit_failed = 0
            continue
        if in_kunit:
            m = KUNIT_CASE.match(line)
            if m:
                status, name, rest = m.groups()
                if not tally(status, "kunit " + name, rest):
                    kunit_failed += 1
                continue
            m = KUNIT_SUITE.match(line)
            if m:
                suites[m.group(2)] = m.group(1)
                continue
        m = RESULT.match(line)
        if not m:
            continue
        status, _, name, rest = m.groups()
        if in_kunit:
            # The entry's own result: its cases were counted; a failure
            # with no failed case (a suite missing) still counts once.
            in_kunit = False
            if status != "ok":
                problems.append("failed: " + name + rest)
                if not kunit_failed:
                    failed += 1
            continue
        tally(status, name, rest)
    for suite in kunit_suites:
        if suite not in suites:
            problems.append("kunit suite %s: no results in the log" % suite)
        elif suites[suite] != "ok":
            problems.append("kunit suite %s: failed" % suite)
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
    usage = "usage: verdict.py CONSOLE_LOG [--timed-out] [--kunit SUITE,...]"
    if len(argv) < 2:
        print(usage, file=sys.stderr)
        return 2
    timed_out = False
    kunit = []
    args = argv[2:]
    while args:
        a = args.pop(0)
        if a == "--timed-out":
            timed_out = True
        elif a == "--kunit" and args:
            kunit = [x for x in args.pop(0).split(",") if x]
        else:
            print(usage, file=sys.stderr)
            return 2
    with open(argv[1], errors="replace") as f:
        lines = f.readlines()
    p, fl, s, problems = verdict(lines, timed_out, kunit)
    for pr in problems:
        print("verdict: " + pr)
    # A failure the TAP did not count (splat, missing marker) still fails.
    if problems and fl == 0:
        fl = 1
    print("%d passed, %d failed, %d skipped" % (p, fl, s))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
