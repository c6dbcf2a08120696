"""The documentation agrees with the code: docs/configuration.md lists every setting, and the README stays short."""

from __future__ import annotations

import re

from qa.config import Settings
from tests.conftest import ROOT

CONFIGURATION = ROOT / "docs" / "configuration.md"
ROW = re.compile(r"^\| `(QA_[A-Z0-9_]+)` \| `([^`]*)` \|", re.M)


def documented() -> dict[str, str]:
    """The variables of docs/configuration.md's table with their documented defaults."""
    return dict(ROW.findall(CONFIGURATION.read_text(encoding="utf-8")))


def test_configuration_lists_every_setting_and_nothing_else():
    expected = {f"QA_{name.upper()}" for name in Settings.model_fields}
    listed = documented()
    assert not expected - set(listed), f"docs/configuration.md does not list {sorted(expected - set(listed))}"
    assert not set(listed) - expected, f"docs/configuration.md lists unknown {sorted(set(listed) - expected)}"


def test_configuration_gives_each_default_as_the_code_has_it():
    listed = documented()
    for name, field in Settings.model_fields.items():
        if field.default_factory is not None:
            continue  # e.g. the per-user cache folder, described in words
        shown = "—" if field.default is None else str(field.default)
        assert listed[f"QA_{name.upper()}"] == shown, name


def test_readme_is_short():
    assert len((ROOT / "README.md").read_bytes()) <= 8000
