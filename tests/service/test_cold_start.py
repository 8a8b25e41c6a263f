"""Starting fast: the default model answers without torch, and `wenda index` with nothing
changed decides from the content hashes without loading the model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import index.embed
from service import cli
from service.config import Settings

# In a fresh process: `wenda ask`, then the loader `wenda serve` starts; then which of the
# heavy modules either imported.
ASK_THEN_SERVE = """
import json, sys
from service.cli import app
try:
    app(["ask", sys.argv[1], "--json"])
except SystemExit as stop:
    assert not stop.code, stop.code
from service.api.backend import EngineLoader
from service.config import get_settings
EngineLoader()(get_settings())
heavy = ("torch", "sentence_transformers", "transformers")
print(json.dumps({"imported": [m for m in heavy if m in sys.modules]}), file=sys.stderr)
"""


def test_answering_and_serving_with_the_default_model_never_import_torch(
        full_corpus_settings: Settings) -> None:
    settings = full_corpus_settings
    env = {**os.environ, "WENDA_DATA_DIR": str(settings.data_dir),
           "WENDA_CORPUS_DIR": str(settings.corpus_dir), "WENDA_GLOSSARY": str(settings.glossary),
           "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run([sys.executable, "-c", ASK_THEN_SERVE, "商湯2023年的毛利是多少？"],
                          capture_output=True, text=True, env=env, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    answer = json.loads(done.stdout)
    assert answer["answerable"] and "1,500,787" in answer["answer"]
    report = json.loads(done.stderr.strip().splitlines()[-1])
    assert report["imported"] == []


class LoadSpy(index.embed.UseVectors):
    """The real model, counting how often it is loaded."""

    loads = 0

    def __init__(self, data_dir: Path) -> None:
        LoadSpy.loads += 1
        super().__init__(data_dir)


def test_wenda_index_with_nothing_changed_never_loads_the_model(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fixtures_dir: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "en.txt").write_text((fixtures_dir / "en.txt").read_text(encoding="utf-8"),
                                   encoding="utf-8")
    (corpus / "manifest.toml").write_text(
        '[[documents]]\nid = "business-en"\nfile = "en.txt"\ntitle = "SenseTime Business"\n',
        encoding="utf-8")
    monkeypatch.setattr(index.embed, "UseVectors", LoadSpy)
    monkeypatch.setattr(LoadSpy, "loads", 0)
    runner = CliRunner()
    args = ["index", str(corpus), "--data-dir", str(tmp_path / "data")]
    first = runner.invoke(cli.app, args)
    assert first.exit_code == 0, first.output
    assert LoadSpy.loads == 1  # the first build embeds
    again = runner.invoke(cli.app, ["index", "--data-dir", str(tmp_path / "data")])
    assert again.exit_code == 0, again.output
    assert "up to date" in again.output and LoadSpy.loads == 1
