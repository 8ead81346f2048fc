"""The layer order that `make lint` holds with import-linter: floniks → composition →
runs_app → templates_app → core, each importing only what is below it.

The contract is read from pyproject.toml as `lint-imports` reads it, then checked on
import graphs built here: every upward import between any two layers is reported, every
downward one is allowed, and the real tree keeps it."""

from __future__ import annotations

import itertools
from pathlib import Path

import grimp
import pytest
from importlinter import api
from importlinter.contracts.layers import LayersContract

ROOT = Path(__file__).resolve().parents[1]
ORDER = ["floniks", "composition", "runs_app", "templates_app", "core"]  # top to bottom
PAIRS = list(itertools.combinations(ORDER, 2))  # (higher, lower)


def layers_contract() -> LayersContract:
    config = api.read_configuration(str(ROOT / "pyproject.toml"))
    found = [c for c in config["contracts_options"] if c["type"] == "layers"]
    assert len(found) == 1, "pyproject.toml must hold exactly one layers contract"
    options = found[0]
    assert set(config["session_options"]["root_packages"]) == set(ORDER)
    return LayersContract(name=options["name"], session_options=config["session_options"], contract_options=options)


def graph_with(importer: str, imported: str) -> grimp.ImportGraph:
    """One module in each layer, and one import between two of them."""
    graph = grimp.ImportGraph()
    for package in ORDER:
        graph.add_module(package)
        graph.add_module(f"{package}.piece")
    graph.add_import(importer=f"{importer}.piece", imported=f"{imported}.piece", line_number=1, line_contents="import")
    return graph


@pytest.mark.parametrize(("higher", "lower"), PAIRS, ids=[f"{h}>{low}" for h, low in PAIRS])
def test_an_import_from_below_is_reported_and_one_from_above_is_not(higher, lower):
    contract = layers_contract()
    upward = contract.check(graph_with(importer=lower, imported=higher), verbose=False)
    assert not upward.kept, f"{lower} importing {higher} must break the layers contract"
    assert f"{lower}.piece" in repr(upward.metadata) and f"{higher}.piece" in repr(upward.metadata)
    assert contract.check(graph_with(importer=higher, imported=lower), verbose=False).kept


def test_templates_importing_runs_is_reported_on_the_real_tree():
    """The import that once pointed the wrong way (templates_app/views.py → runs_app.drift) is refused again."""
    contract = layers_contract()
    graph = grimp.build_graph(*ORDER, cache_dir=None)
    graph.add_import(
        importer="templates_app.views",
        imported="runs_app.drift",
        line_number=1,
        line_contents="from runs_app.drift import workflow_drift",
    )
    assert not contract.check(graph, verbose=False).kept


def test_the_real_tree_keeps_the_layers():
    check = layers_contract().check(grimp.build_graph(*ORDER, cache_dir=None), verbose=False)
    assert check.kept, check.metadata
