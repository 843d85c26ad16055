"""README and docs/operations.md list every setting, generated from the models (issue 12)."""

from __future__ import annotations

from pathlib import Path

import pytest

from aggregator.settings.describe import BEGIN, END, reference_markdown
from aggregator.settings.fields import settings_list

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", ["README.md", "docs/operations.md"])
def test_the_settings_reference_in_the_docs_matches_the_models(name: str) -> None:
    text = (ROOT / name).read_text(encoding="utf-8")
    assert text.count(BEGIN) == 1 and text.count(END) == 1
    block = text.split(BEGIN, 1)[1].split(END, 1)[0]
    assert block == "\n" + reference_markdown(), (
        f"{name} is out of date: run camwatch-aggregator config reference --write README.md docs/operations.md"
    )


def test_the_reference_lists_every_setting_and_variable() -> None:
    table = reference_markdown()
    for setting in settings_list():
        assert f"`{setting.key}`" in table and f"`{setting.env}`" in table
        if setting.flat:
            assert f"`{setting.flat}`" in table
