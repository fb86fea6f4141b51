"""Modules a command uses, imported the first time one of their names is used.

Every CLI start imports each command's module to register it; the store (SQLAlchemy), the
rules (numpy) and the analysis must not come with them, so ``--help`` stays fast.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class LazyModule:
    """Stands for the module ``name``; importing it on the first attribute looked up."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("_"):
            raise AttributeError(attr)
        if self._module is None:
            self._module = importlib.import_module(self._name)
        return getattr(self._module, attr)
