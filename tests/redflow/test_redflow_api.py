"""The public surface of tradeflood.redflow, and the examples in its docstrings."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import tradeflood.redflow as redflow

PUBLIC = [
    "Clock",
    "Cluster",
    "ClusterCreator",
    "ClusterEvent",
    "ClusterExecError",
    "DuplicateSourceError",
    "EmptyPolicy",
    "Evict",
    "ExecError",
    "Execution",
    "Executor",
    "Executors",
    "Grace",
    "HookError",
    "Keep",
    "LinkError",
    "Mapper",
    "MapperError",
    "MonotonicClock",
    "RedFlow",
    "RedFlowError",
    "Source",
    "SourceEvent",
    "signature",
]


def test_public_names_are_pinned_and_sorted() -> None:
    assert redflow.__all__ == PUBLIC == sorted(PUBLIC)
    for name in PUBLIC:
        assert getattr(redflow, name) is not None


def test_errors_form_one_hierarchy() -> None:
    for name in (
        "ClusterExecError",
        "DuplicateSourceError",
        "ExecError",
        "HookError",
        "LinkError",
        "MapperError",
    ):
        assert issubclass(getattr(redflow, name), redflow.RedFlowError)
    assert issubclass(redflow.ExecError, ExceptionGroup)


MODULES = ["tradeflood.redflow"] + [
    f"tradeflood.redflow.{info.name}" for info in pkgutil.iter_modules(redflow.__path__)
]


@pytest.mark.parametrize("module_name", MODULES)
def test_docstring_examples_run(module_name: str) -> None:
    module = importlib.import_module(module_name)
    failed, _ = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert failed == 0


def test_every_public_class_has_a_runnable_example() -> None:
    finder = doctest.DocTestFinder()
    for name in PUBLIC:
        item = getattr(redflow, name)
        if (
            isinstance(item, type)
            and not issubclass(item, BaseException)
            and name
            not in (
                "Clock",
                "Executors",
                "MonotonicClock",
            )
        ):
            tests = finder.find(item, name, module=False, globs={})
            assert any(test.examples for test in tests if test.name == name), name
