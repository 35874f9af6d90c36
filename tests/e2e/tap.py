"""tap.py - run a Python e2e test file's unittest cases, one TAP line each.

Usage, at the end of tests/e2e/test_<x>.py:

    import os, sys
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from tap import main
    ...
    if __name__ == "__main__":
        main()

Each test prints `ok - test_<x>:NAME` or `not ok - test_<x>:NAME` (the same
lines tests/unit/harness.h prints, counted by tests/run.sh); skipped tests
print `ok - test_<x>:NAME # SKIP reason`. Failure details go to stderr.
main() exits 1 when any test failed, else 0.

Command line: `python3 tests/e2e/test_<x>.py [NAME...]` runs only the named
tests (test method names, with or without the class name). The environment
variable E2E_TEST_TIMEOUT (seconds, default 300) bounds each test: a test
still running then fails with a TimeoutError.

Importing this module does nothing else.
"""

import os
import signal
import sys
import traceback
import unittest


class _TestTimeout(Exception):
    pass


def _on_alarm(signum, frame):
    raise _TestTimeout("test took longer than E2E_TEST_TIMEOUT")


class TapResult(unittest.TestResult):
    """Prints one TAP line per test as soon as it ends."""

    def __init__(self, prefix, stream=None, timeout=300):
        super().__init__()
        self.prefix = prefix
        self.stream = stream or sys.stdout
        self.timeout = timeout
        self.count = 0
        self._bad = False
        self._skip = None

    def _name(self, test):
        return "%s:%s" % (self.prefix, getattr(test, "_testMethodName", str(test)))

    def _diag(self, test, text):
        sys.stdout.flush()
        sys.stderr.write("# %s\n" % self._name(test))
        for line in text.rstrip("\n").split("\n"):
            sys.stderr.write("#   %s\n" % line)
        sys.stderr.flush()

    def startTest(self, test):
        super().startTest(test)
        self._bad = False
        self._skip = None
        if self.timeout > 0 and hasattr(signal, "SIGALRM"):
            signal.signal(signal.SIGALRM, _on_alarm)
            signal.alarm(self.timeout)

    def stopTest(self, test):
        if hasattr(signal, "SIGALRM"):
            signal.alarm(0)
        self.count += 1
        line = "%s - %s" % ("not ok" if self._bad else "ok", self._name(test))
        if self._skip is not None:
            line += " # SKIP %s" % self._skip
        self.stream.write(line + "\n")
        self.stream.flush()
        super().stopTest(test)

    def addError(self, test, err):
        super().addError(test, err)
        self._bad = True
        self._diag(test, "".join(traceback.format_exception(*err)))

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._bad = True
        self._diag(test, "".join(traceback.format_exception(*err)))

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._skip = reason

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._bad = True
        self._diag(test, "unexpected success")

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            self._bad = True
            self._diag(test, "%s\n%s" % (subtest, "".join(traceback.format_exception(*err))))


def _select(suite, names):
    """The tests of suite whose method name (or Class.method) is in names."""
    picked = unittest.TestSuite()
    for test in _flatten(suite):
        meth = getattr(test, "_testMethodName", "")
        if meth in names or "%s.%s" % (type(test).__name__, meth) in names:
            picked.addTest(test)
    return picked


def _flatten(suite):
    for item in suite:
        if isinstance(item, unittest.TestSuite):
            yield from _flatten(item)
        else:
            yield item


def main(module="__main__", argv=None):
    """Run every TestCase of module; print TAP; exit 1 if any failed."""
    argv = sys.argv if argv is None else argv
    mod = sys.modules[module] if isinstance(module, str) else module
    prefix = os.path.splitext(os.path.basename(argv[0] or getattr(mod, "__file__", "test")))[0]
    suite = unittest.defaultTestLoader.loadTestsFromModule(mod)
    names = [a for a in argv[1:] if not a.startswith("-")]
    if names:
        suite = _select(suite, set(names))
    try:
        timeout = int(os.environ.get("E2E_TEST_TIMEOUT", "300"))
    except ValueError:
        timeout = 300
    result = TapResult(prefix, timeout=timeout)
    suite.run(result)
    # setUpClass/tearDownClass errors are recorded without a test to print.
    for test, _ in result.errors:
        if not hasattr(test, "_testMethodName"):
            result.count += 1
            sys.stdout.write("not ok - %s:%s\n" % (prefix, str(test).split(" ")[0]))
    sys.stdout.write("1..%d\n" % result.count)
    sys.stdout.flush()
    sys.exit(0 if result.wasSuccessful() and (result.count or not names) else 1)


def main_inside(inside, why, outer):
    """For a test file that runs itself again inside namespaces: main() in
    the copy inside (its environment has the variable named inside), a
    TAP skip line for why, else outer()'s exit status (outer starts the
    copy inside)."""
    if os.environ.get(inside):
        main()
    elif why:
        print("1..0 # SKIP %s" % why)
    else:
        sys.exit(outer())
