"""`wenda serve` hands its logging to uvicorn instead of binding handlers to today's stderr."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from typer.testing import CliRunner

from service import cli
from service.config import Settings


def test_serve_adds_no_handler_that_outlives_it(monkeypatch: pytest.MonkeyPatch,
                                                settings: Settings) -> None:
    runs: list[Any] = []
    monkeypatch.setattr(cli, "get_settings", lambda: settings)
    monkeypatch.setattr("service.server.serve_forever",
                        lambda app, settings, **options: runs.append(options))
    wenda = logging.getLogger("wenda")
    before = (list(wenda.handlers), wenda.level)
    # A handler left on the runner's stderr would fail on every later line: it is closed.
    assert CliRunner().invoke(cli.app, ["serve"]).exit_code == 0
    assert (wenda.handlers, wenda.level) == before
    config = runs[0]["log_config"]
    assert config["loggers"]["wenda"] == {"handlers": ["wenda"], "level": "INFO",
                                          "propagate": False}
    assert "uvicorn.access" in config["loggers"]  # uvicorn's own lines as before
