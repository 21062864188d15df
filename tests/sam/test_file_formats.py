"""docs/file-formats.md lists every registered import kind and column (regenerate with
``python manage.py describe_formats`` when an app registers something new)."""
from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings

from sam.formats_doc import kind_rows
from sam.importing import load_kinds

DOC = Path(settings.BASE_DIR) / "docs" / "file-formats.md"


@pytest.mark.parametrize("name", sorted(load_kinds()))
def test_the_file_formats_document_lists_every_kind_and_column(name):
    text = DOC.read_text()
    kind = load_kinds()[name]
    assert f"#### `{name}`" in text, f"docs/file-formats.md lacks kind {name}; run manage.py describe_formats"
    section = text.split(f"#### `{name}`", 1)[1].split("####", 1)[0]
    for column, synonyms, required in kind_rows(kind):
        assert f"| {column} | {synonyms} | {required} |" in section, f"{name}: {column} is out of date"
