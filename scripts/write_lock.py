"""Print requirements.lock: the working venv's exact versions of what ``keras-resnet-opt[dev]`` needs.

    .venv/bin/python scripts/write_lock.py > requirements.lock      (make lock does this)

``pip freeze --exclude-editable``, kept to the packages that this project's
requirements (with the ``dev`` extra) reach in this environment, so a package
installed beside them for another reason (torch from the ``bench`` extra, say,
installed from a local wheel) is not pinned for everyone. ``make setup`` uses
the file as pip constraints; ``pip install -e .`` does not read it.
"""

import argparse
import subprocess
import sys
from importlib import metadata

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

PROJECT = "keras-resnet-opt"
EXTRAS = ("dev",)

HEADER = f"""\
# Exact versions for reproducible installs of {PROJECT}[{",".join(EXTRAS)}] on Python 3.11, Linux x86_64,
# frozen from a venv where the test suite passed. `make setup` installs with them as constraints:
#     pip install -c requirements.lock -e ".[dev]"
# `pip install -e .` alone ignores this file (setup.cfg's ranges apply). To regenerate it, after
# changing setup.cfg's requirements: `make lock` (installs them into .venv without these pins,
# then .venv/bin/python scripts/write_lock.py > requirements.lock), and run the tests. It is
# `pip freeze --exclude-editable` kept to what {PROJECT}[{",".join(EXTRAS)}] needs (torch, from
# the bench extra, and packages only torch needs are left out).
"""


def needed(project=PROJECT, extras=EXTRAS):
    """Canonical names of the installed distributions that ``project[extras]`` requires, transitively."""
    seen = {}
    todo = [(project, set(extras))]
    while todo:
        name, wanted = todo.pop()
        key = canonicalize_name(name)
        if key in seen and wanted <= seen[key]:
            continue
        seen[key] = seen.get(key, set()) | wanted
        try:
            requires = metadata.distribution(name).requires or []
        except metadata.PackageNotFoundError:
            continue  # its marker excluded it here (tomli on Python >= 3.11), or not installed
        for line in requires:
            requirement = Requirement(line)
            marker = requirement.marker
            if marker is None or any(marker.evaluate({"extra": extra}) for extra in (wanted or {""})):
                todo.append((requirement.name, set(requirement.extras)))
    return set(seen) - {canonicalize_name(project)}


def main(argv=None):
    argparse.ArgumentParser(
        description="Print requirements.lock (this venv's exact versions of what keras-resnet-opt[dev] needs) "
        "to standard output; `make lock` writes it to the file.",
    ).parse_args(argv)  # no options: --help, and a clear error for anything else, before pip runs
    frozen = subprocess.run(
        [sys.executable, "-m", "pip", "freeze", "--exclude-editable"], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    keep = needed()
    lines = []
    for line in frozen:
        name = line.split("==")[0].split(" @ ")[0].strip()
        if canonicalize_name(name) in keep:
            if "==" not in line:
                raise SystemExit(f"error: {name} is not installed from the package index ({line}); cannot lock it")
            lines.append(line)
    sys.stdout.write(HEADER + "\n".join(sorted(lines, key=str.lower)) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
