"""Run the command line as ``python -m qa``."""

from qa.cli import app

app()
