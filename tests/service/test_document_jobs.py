"""Document jobs as clients read them."""

from __future__ import annotations

from service.api.library import without_paths


def test_a_failed_job_reports_no_host_path() -> None:
    assert without_paths("/srv/wenda/corpus/manifest.toml: document 2: missing 'title'") == (
        "manifest.toml: document 2: missing 'title'")
    assert without_paths("no document could be read: a.txt: the file is empty") == (
        "no document could be read: a.txt: the file is empty")
