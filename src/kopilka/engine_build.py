"""Which engine runs: the domain modules `setup.py` compiled with mypyc, or their Python
source.

The hot pure modules (`ENGINE`, under kopilka/domain: the promotions engine, the evaluation
and what they use) are compiled at install time for speed: the compiled modules (.so) sit
beside their source, and Python prefers them. A build
records the SHA-256 of each source it compiled (`RECORD`). When a source differs from what
was compiled (edited or checked out since the last `make install`), or the record is missing,
the whole engine is loaded from source instead and a warning says so: a stale build never
runs. `KOPILKA_ENGINE=source` asks for the source whatever the build.

Imported by `kopilka/__init__.py`, so it acts before any engine module is imported.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

# the modules compiled (of kopilka.domain); mypy must pass on them (docs/ARCHITECTURE.md)
ENGINE = ("allocation", "evaluation", "kept", "points", "program", "promotion_grants",
          "promotion_outcome", "promotion_plans", "promotion_rewards", "promotion_rules",
          "promotions")
DOMAIN = Path(__file__).resolve().parent / "domain"
RECORD = "engine_build.json"  # in DOMAIN: {module: sha256 of the source compiled}
PACKAGE = "kopilka.domain"


def source_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def digests(domain: Path = DOMAIN, modules: Sequence[str] = ENGINE) -> dict[str, str]:
    return {name: source_digest(domain / f"{name}.py") for name in modules}


def record_build(compiled_from: dict[str, str], domain: Path = DOMAIN) -> None:
    """Write what was compiled: `digests()` taken before the build (setup.py, once the
    build has succeeded)."""
    (domain / RECORD).write_text(json.dumps(compiled_from, indent=1, sort_keys=True) + "\n")


def remove_build(domain: Path = DOMAIN, modules: Sequence[str] = ENGINE) -> None:
    """Delete the compiled modules and their record (a build without compiling)."""
    for name in modules:
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            (domain / f"{name}{suffix}").unlink(missing_ok=True)
    (domain / RECORD).unlink(missing_ok=True)


def compiled(domain: Path = DOMAIN, modules: Sequence[str] = ENGINE) -> bool | None:
    """None: no module is compiled; True: all are, from the very sources there now; False:
    some are, but not all or not from these sources (a stale build)."""
    suffixes = importlib.machinery.EXTENSION_SUFFIXES
    built = [any((domain / f"{name}{suffix}").exists() for suffix in suffixes)
             for name in modules]
    if not any(built):
        return None
    try:
        record = json.loads((domain / RECORD).read_text())
    except (OSError, ValueError):
        return False
    return all(built) and all(record.get(name) == source_digest(domain / f"{name}.py")
                              for name in modules)


class SourceFinder(importlib.abc.MetaPathFinder):
    """Finds the engine's modules as Python source, ahead of their compiled builds."""

    def __init__(self, domain: Path = DOMAIN, modules: Sequence[str] = ENGINE,
                 package: str = PACKAGE) -> None:
        self.files = {f"{package}.{name}": domain / f"{name}.py" for name in modules}

    def find_spec(self, fullname: str, path: Sequence[str] | None = None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        file = self.files.get(fullname)
        return None if file is None else importlib.util.spec_from_file_location(fullname, file)


def choose() -> str:
    """Load the engine from source when its build is stale or the source is asked for;
    returns "compiled", "source" or "stale" (source, the build being stale)."""
    state = compiled()
    if state is None:
        return "source"
    if os.environ.get("KOPILKA_ENGINE") == "source" or state is False:
        if not any(isinstance(finder, SourceFinder) for finder in sys.meta_path):
            sys.meta_path.insert(0, SourceFinder())
        if state is False and os.environ.get("KOPILKA_ENGINE") != "source":
            warnings.warn("the compiled promotions engine is not of its source (edited since "
                          "the build): running the source; `make install` compiles it again",
                          RuntimeWarning, stacklevel=2)
            return "stale"
        return "source"
    return "compiled"


ENGINE_STATE = choose()
