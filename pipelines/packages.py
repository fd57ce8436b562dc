"""Compiled pipeline packages: built once (per process or by ``charon compile``), then submitted as is."""

import importlib
from functools import cache
from pathlib import Path
from typing import Any

from kfp import compiler

from commands.catalogue import PIPELINES


def pipeline_function(name: str) -> Any:
    return importlib.import_module(f"pipelines.{name}").pipeline


def compile_pipeline(name: str, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.yaml"
    compiler.Compiler().compile(pipeline_function(name), str(path))
    return path


def compile_all(directory: Path) -> list[Path]:
    return [compile_pipeline(name, directory) for name in PIPELINES]


@cache
def package_path(name: str, directory: Path) -> Path:
    """The package for ``name`` in ``directory``, compiled on first use in this process."""
    return compile_pipeline(name, directory)
