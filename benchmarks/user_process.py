"""How the benchmarks start ``stridewatch`` as a user's installation runs it.

``pip install`` byte-compiles the package, and Python keeps what it compiles in
``__pycache__``; a process then loads its modules from those caches. A benchmark's child
must do the same, or every run pays for compiling the whole project again (~0.6 s CPU
here). ``PYTHONDONTWRITEBYTECODE`` (set in some sandboxes and containers) is therefore
left out of the child's environment, and ``compile_project`` writes the caches once
before anything is measured.
"""

from __future__ import annotations

import compileall
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("analysis", "firmware_bridge", "stridewatch")


def child_env() -> dict[str, str]:
    """This process's environment for a ``python -m stridewatch`` child: the checkout on
    ``PYTHONPATH``, bytecode caches used and written as in a user's installation."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = str(ROOT)
    return env


def compile_project() -> None:
    """Byte-compile the project's packages into their ``__pycache__``, as installing does."""
    for package in PACKAGES:
        if not compileall.compile_dir(ROOT / package, quiet=1):
            raise SystemExit(f"could not byte-compile {ROOT / package}")
