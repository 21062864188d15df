"""The column tables of docs/file-formats.md, generated from the live import registry.

``python manage.py describe_formats`` prints them; ``tests/sam/test_file_formats.py`` checks the
document still lists every kind and column the apps registered.
"""
from __future__ import annotations

from sam.importing import Kind, load_kinds


def kind_rows(kind: Kind) -> list[tuple[str, str, str]]:
    out = []
    for canonical, synonyms in kind.columns.items():
        out.append((f"`{canonical}`", ", ".join(synonyms), "yes" if canonical in kind.required else ""))
    return out


def kinds_markdown() -> str:
    kinds = load_kinds()
    parts = []
    for title, master in (("Master catalog kinds", True), ("Tenant kinds", False)):
        parts.append(f"### {title}\n")
        for kind in sorted((k for k in kinds.values() if k.master == master), key=lambda k: k.name):
            parts.append(f"#### `{kind.name}`\n")
            if kind.description:
                parts.append(kind.description.strip() + "\n")
            parts.append("| column | synonyms | required |\n| --- | --- | --- |")
            parts.extend(f"| {c} | {s} | {r} |" for c, s, r in kind_rows(kind))
            parts.append("")
    return "\n".join(parts)
