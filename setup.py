"""kopilka's build. The metadata is in pyproject.toml; this file compiles the hot domain
modules (the promotions engine, the evaluation) with mypyc (`kopilka.engine_build`: which
modules, and why a stale build never runs). KOPILKA_PURE_PYTHON=1 builds without compiling."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_ext import build_ext

sys.path.insert(0, str(Path(__file__).resolve().parent / "src"))
from kopilka import engine_build  # noqa: E402 - after the path is set


def engine_extensions() -> list:
    if os.environ.get("KOPILKA_PURE_PYTHON") == "1":
        engine_build.remove_build()  # an earlier build's modules would still be preferred
        return []
    from mypyc.build import mypycify

    sources = [str(Path("src/kopilka/domain") / f"{name}.py") for name in engine_build.ENGINE]
    # the modules they import that are not compiled (errors, rewards, ...) are read for their
    # types only: their own type errors are not the build's business (`silent`)
    return mypycify(["--follow-imports=silent", *sources], opt_level="3",
                    group_name="kopilka_engine")


class BuildEngine(build_ext):
    """Records what was compiled once it is: a failed build leaves the old record, which no
    longer matches the sources, so the engine runs from source (`engine_build.compiled`)."""

    def run(self) -> None:
        digests = engine_build.digests()  # of the sources as they are compiled
        super().run()
        if self.extensions:
            engine_build.record_build(digests)


setup(ext_modules=engine_extensions(), cmdclass={"build_ext": BuildEngine})
