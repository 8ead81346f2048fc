"""Bump classification (DESIGN §3), table-driven."""

from __future__ import annotations

import pytest

from templates_app.bump import classify_bump
from templates_app.catalogue import Catalogue
from tests.helpers import valid_definition

pytestmark = pytest.mark.django_db


def change(mutate):
    d = valid_definition()
    mutate(d)
    return d


TABLE = [
    ("newer snapshot, same family", lambda d: d["steps"][1].update(model="local/plasma@2026-10-01"), "patch"),
    ("floating resolves newer", lambda d: d["steps"][0].update(model="local/plasma@2026-10-01"), "patch"),
    ("older snapshot, same family", lambda d: d["steps"][1].update(model="local/plasma@2026-04-21"), "minor"),
    ("floating pinned at today's default", lambda d: d["steps"][0].update(model="local/plasma@2026-06-15"), "minor"),
    ("explicit default only", lambda d: d["steps"][1]["params"].update(guidance_scale=7.5), "patch"),
    ("model swap within tier", lambda d: d["steps"][0].update(model="local/mosaic"), "minor"),
    ("prompt change", lambda d: d["steps"][0]["params"].update(prompt="{{inputs.subject}}, cool minimal"), "minor"),
    ("parameter change", lambda d: d["steps"][0]["params"].update(guidance_scale=9), "minor"),
    ("additive input", lambda d: d["inputs"].update(palette={"type": "string", "required": False}), "minor"),
    ("additive output", lambda d: d["outputs"].update(draft="{{steps.background.output}}"), "minor"),
    ("budget change", lambda d: d["policy"]["budget"].update(max_steps=4), "minor"),
    ("gate added", lambda d: d["policy"].update(gates=[{"after": "background"}]), "minor"),
    ("model of another tier", lambda d: d["steps"][0].update(model="local/aurora"), "major"),
    ("output size", lambda d: d["steps"][0]["params"].update(width=1024), "major"),
    (
        "step added",
        lambda d: d["steps"].append(
            {"id": "big", "kind": "upscale", "model": "local/plasma", "params": {"image": "{{steps.styled.output}}"}}
        ),
        "major",
    ),
    ("step rewired", lambda d: d["steps"][1]["params"].update(image="{{inputs.reference}}"), "major"),
    ("output from another step", lambda d: d["outputs"].update(hero="{{steps.background.output}}"), "major"),
    (
        "tier swap beats param change",
        lambda d: (d["steps"][0].update(model="local/aurora"), d["steps"][0]["params"].update(steps=10)),
        "major",
    ),
]


@pytest.fixture(autouse=True)
def newer_plasma(admin_user):
    """A snapshot newer than every seeded one, not made the default."""
    from templates_app import services

    services.add_model_snapshot(actor=admin_user, family="local/plasma", snapshot="2026-10-01")


@pytest.mark.parametrize(("what", "mutate", "expected"), TABLE, ids=[t[0] for t in TABLE])
def test_bump_class(what, mutate, expected):
    result = classify_bump(valid_definition(), change(mutate), Catalogue.load())
    assert result.bump == expected, result.reasons
    assert result.reasons


def test_first_version_is_initial():
    assert classify_bump(None, valid_definition(), Catalogue.load()).bump == "initial"
