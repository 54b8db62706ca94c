"""The compiled promotions engine (`kopilka.engine_build`): a stale build never runs, and in CI
the engine really is compiled under `make test` (what the till bench measures)."""

from __future__ import annotations

import importlib.machinery
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import kopilka
from kopilka import engine_build as B

SUFFIX = importlib.machinery.EXTENSION_SUFFIXES[0]
MODULES = ("one", "two")


def domain(tmp_path: Path, *, built: tuple[str, ...] = MODULES, record: bool = True) -> Path:
    for name in MODULES:
        (tmp_path / f"{name}.py").write_text(f"WHO = {name!r}\n")
    if record:
        B.record_build(B.digests(tmp_path, MODULES), tmp_path)
    for name in built:
        (tmp_path / f"{name}{SUFFIX}").write_bytes(b"not really compiled")
    return tmp_path


def test_no_build_is_the_source(tmp_path: Path) -> None:
    assert B.compiled(domain(tmp_path, built=()), MODULES) is None


def test_a_build_of_the_very_sources_is_used(tmp_path: Path) -> None:
    assert B.compiled(domain(tmp_path), MODULES) is True


def test_a_source_edited_since_the_build_makes_it_stale(tmp_path: Path) -> None:
    path = domain(tmp_path)
    (path / "two.py").write_text("WHO = 'edited'\n")
    assert B.compiled(path, MODULES) is False


def test_a_partial_build_or_a_missing_record_is_stale(tmp_path: Path) -> None:
    assert B.compiled(domain(tmp_path, built=("one",)), MODULES) is False
    (tmp_path / B.RECORD).unlink()
    assert B.compiled(domain(tmp_path, record=False), MODULES) is False


def test_removing_the_build_leaves_the_source(tmp_path: Path) -> None:
    path = domain(tmp_path)
    B.remove_build(path, MODULES)
    assert B.compiled(path, MODULES) is None
    assert sorted(p.name for p in path.iterdir()) == ["one.py", "two.py"]


def test_the_record_names_each_source_by_its_digest(tmp_path: Path) -> None:
    path = domain(tmp_path)
    record = json.loads((path / B.RECORD).read_text())
    assert record == {name: B.source_digest(path / f"{name}.py") for name in MODULES}


def test_the_source_finder_loads_the_python_source(tmp_path: Path) -> None:
    path = domain(tmp_path)
    spec = B.SourceFinder(path, MODULES, package="fake").find_spec("fake.two")
    assert spec is not None and spec.origin == str(path / "two.py")
    assert isinstance(spec.loader, importlib.machinery.SourceFileLoader)
    assert B.SourceFinder(path, MODULES, package="fake").find_spec("fake.three") is None


def engine_file(**env: str) -> str:
    """Where kopilka.domain.promotions comes from in a new interpreter."""
    return subprocess.run(
        [sys.executable, "-c", "import kopilka, kopilka.domain.promotions as p; "
                               "print(kopilka.ENGINE_STATE, p.__file__)"],
        env={**os.environ, **env}, capture_output=True, text=True, check=True).stdout


def test_asked_for_the_source_the_engine_runs_from_source() -> None:
    state, file = engine_file(KOPILKA_ENGINE="source").split()
    assert state == "source" and file.endswith("promotions.py")


@pytest.mark.skipif(os.environ.get("KOPILKA_EXPECT_COMPILED") != "1",
                    reason="make test sets KOPILKA_EXPECT_COMPILED: it builds the engine first")
def test_under_make_test_the_engine_runs_compiled() -> None:
    """`make test` (and so CI) installed, and so compiled, the engine from these very sources:
    what the till bench measures and production runs."""
    assert kopilka.ENGINE_STATE == "compiled"
    state, file = engine_file().split()
    assert state == "compiled" and file.endswith(SUFFIX), file
