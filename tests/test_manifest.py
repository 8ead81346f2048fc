"""Manifests: RFC 8785 canonical JSON and its sha256."""

from __future__ import annotations

import hashlib
import json

import pytest

from core.errors import ValidationFailed
from templates_app.manifest import canonical_bytes, manifest_of
from tests.helpers import valid_definition

# The example of RFC 8785 §3.2.2, with its expected canonical output (§3.2.3).
RFC_INPUT = r"""{
  "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
  "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
  "literals": [null, true, false]
}"""
RFC_EXPECTED = (
    '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
    '"string":"\u20ac$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
).encode()


def test_matches_the_rfc_8785_vector_and_an_independent_sha256():
    assert canonical_bytes(json.loads(RFC_INPUT)) == RFC_EXPECTED
    _text, digest = manifest_of(json.loads(RFC_INPUT))
    assert digest == "sha256:" + hashlib.sha256(RFC_EXPECTED).hexdigest()


def test_hash_is_stable_under_key_order_and_whitespace():
    d = valid_definition()
    compact = json.dumps(d, separators=(",", ":"))
    spaced = json.dumps(dict(reversed(list(d.items()))), indent=4, sort_keys=False)
    assert compact != spaced
    assert manifest_of(json.loads(compact))[1] == manifest_of(json.loads(spaced))[1]


def test_any_change_changes_the_hash():
    d = valid_definition()
    before = manifest_of(d)[1]
    d["steps"][0]["params"]["guidance_scale"] = 7.6
    assert manifest_of(d)[1] != before


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_numbers_json_cannot_carry_are_rejected(bad):
    with pytest.raises(ValidationFailed) as refused:
        manifest_of({"x": bad})
    assert refused.value.problems[0].code == "invalid_number"
