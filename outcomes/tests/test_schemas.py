"""The JSON objects the agent sends (attributes, a signal's data): at most 16 levels deep,
exactly, whether or not the cheap count of brackets lets the check skip its walk."""

from __future__ import annotations

import pytest

from learning.errors import InvalidInput
from outcomes.schemas import MAX_JSON_DEPTH, check_json_object


def nested(levels: int, leaf: object = 1) -> dict:
    value: object = leaf
    for _ in range(levels - 1):
        value = {"a": value}
    return {"a": value}


def test_sixteen_levels_pass_and_seventeen_fail() -> None:
    check_json_object(nested(MAX_JSON_DEPTH), field="attributes")
    with pytest.raises(InvalidInput, match="at most 16 levels deep") as error:
        check_json_object(nested(MAX_JSON_DEPTH + 1), field="attributes")
    assert error.value.field == "attributes"


def test_lists_count_as_levels() -> None:
    check_json_object(nested(MAX_JSON_DEPTH - 1, leaf=[1, 2]), field="attributes")
    with pytest.raises(InvalidInput, match="levels deep"):
        check_json_object(nested(MAX_JSON_DEPTH - 1, leaf=[[1]]), field="attributes")


def test_brackets_in_text_or_side_by_side_are_not_depth() -> None:
    check_json_object({"note": "{[" * 40, "wide": [{"k": [1]} for _ in range(40)]}, field="data")
