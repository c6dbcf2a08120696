"""Write docs/configuration.md from qa.config.Settings: `.venv/bin/python docs/make_configuration.py`."""

from pathlib import Path

from qa.config import Settings

HEADER = """# Configuration

Every setting is an environment variable `QA_<NAME>` or a line `QA_<NAME>=value` in a `.env` file in the working
folder; in Python, a keyword of `QA.open(...)` (`QA.open(top_k=5, reader=False)`). This table is generated from
`qa.config.Settings` by `docs/make_configuration.py` (`tests/unit/test_docs.py` checks that it lists every setting).

| variable | default | meaning |
|---|---|---|
"""


def table() -> str:
    """The page: one row per setting, its default and its description."""
    rows = []
    for name, field in Settings.model_fields.items():
        default = "~/.cache/qa (per user)" if field.default_factory is not None else field.default
        rows.append(f"| `QA_{name.upper()}` | `{'—' if default is None else default}` | {field.description} |")
    return HEADER + "\n".join(rows) + "\n"


if __name__ == "__main__":
    (Path(__file__).parent / "configuration.md").write_text(table(), encoding="utf-8")
