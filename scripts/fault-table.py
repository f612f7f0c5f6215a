"""Write (or, with --check, verify) the fault table of the troubleshooting guide from the tests.

Faults come from FAULTS in tests/e2e/test_faults.py; the bad-input count is the number of unit
test cases (parametrised cases counted one by one) whose test name says it feeds bad input
(invalid, bad, reject, refuse, wrong, unknown, malformed). The table (an RST list-table) sits
between the ``fault-table`` comments of docs/docsite/rst/troubleshooting.rst.
"""
import argparse
import ast
import glob
import os
import re
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FAULTS_FILE = os.path.join(REPO, "tests", "e2e", "test_faults.py")
DOC = os.path.join(REPO, "docs", "docsite", "rst", "troubleshooting.rst")
BEGIN = ".. fault-table: begin (scripts/fault-table.py writes this part)"
END = ".. fault-table: end"
BAD_INPUT = re.compile(r"invalid|bad|reject|refuse|wrong|unknown|malformed")


def load_faults(path=FAULTS_FILE):
    tree = ast.parse(open(path).read(), path)
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "FAULTS" for t in node.targets):
            return ast.literal_eval(node.value)
    raise SystemExit("FAULTS not found in %s" % path)


def _cases(func):
    """How many cases a test function runs: the product of its literal parametrize lists."""
    count = 1
    for deco in func.decorator_list:
        if isinstance(deco, ast.Call) and getattr(deco.func, "attr", None) == "parametrize" and len(deco.args) > 1:
            values = deco.args[1]
            if isinstance(values, (ast.List, ast.Tuple)):
                count *= max(len(values.elts), 1)
    return count


def count_bad_input_cases(root=REPO):
    tests = funcs = 0
    for path in sorted(glob.glob(os.path.join(root, "tests", "unit", "**", "test_*.py"), recursive=True)):
        for node in ast.walk(ast.parse(open(path).read(), path)):
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_") and BAD_INPUT.search(node.name):
                funcs += 1
                tests += _cases(node)
    return tests, funcs


def _rst(text):
    """FAULTS texts use Markdown code spans (`x`); RST wants ``x``."""
    return re.sub(r"(?<!`)`([^`]+)`(?!`)", r"``\1``", text)


def render(faults, bad_inputs):
    cases, funcs = bad_inputs
    lines = [
        BEGIN,
        "",
        "Bad input: %d unit test cases (%d tests) feed invalid values to the modules and roles "
        "and check the error message. Faults injected into the lab "
        "(``tests/e2e/test_faults.py``), each followed by a re-run that converges:" % (cases, funcs),
        "",
        ".. list-table::",
        "   :header-rows: 1",
        "",
        "   * - fault",
        "     - injected",
        "     - what the collection does",
        "     - proven by",
    ]
    for key in sorted(faults):
        injected, behaviour, proof = faults[key]
        lines += ["   * - ``%s``" % key, "     - %s" % _rst(injected), "     - %s" % _rst(behaviour),
                  "     - %s" % _rst(proof)]
    lines += ["", END]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when the document is out of date")
    args = parser.parse_args()
    text = open(DOC).read()
    if BEGIN not in text or END not in text:
        raise SystemExit("%s has no fault-table markers" % DOC)
    head, rest = text.split(BEGIN, 1)
    _old, tail = rest.split(END, 1)
    new = head + render(load_faults(), count_bad_input_cases()) + tail
    if args.check:
        if new != text:
            sys.stderr.write("%s: the fault table is out of date; run python3 scripts/fault-table.py\n" % os.path.relpath(DOC, REPO))
            return 1
        return 0
    with open(DOC, "w") as handle:
        handle.write(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
