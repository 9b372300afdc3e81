"""The one atomic-write helper (netral.atomic): a crash mid-write leaves the old file, never half a new one."""

from __future__ import annotations

from pathlib import Path

import pytest

from netral.atomic import atomic_write_json, atomic_write_lines, atomic_write_text, publish_dir


def test_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    atomic_write_text(target, "lama\n")

    def lines():  # type: ignore[no-untyped-def]
        yield "baru-1"
        raise RuntimeError("crash mid-write")

    with pytest.raises(RuntimeError):
        atomic_write_lines(target, lines())
    assert target.read_text(encoding="utf-8") == "lama\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]


def test_json_is_readable_utf8(tmp_path: Path) -> None:
    atomic_write_json(tmp_path / "m.json", {"nama": "Budi Santoso — guru"})
    assert "Budi Santoso — guru" in (tmp_path / "m.json").read_text(encoding="utf-8")


def test_publish_dir_refuses_or_replaces_an_existing_target(tmp_path: Path) -> None:
    old, new, target = tmp_path / "old", tmp_path / "new", tmp_path / "v1"
    for d, content in ((old, "1"), (new, "2")):
        d.mkdir()
        (d / "f").write_text(content)
    publish_dir(old, target)
    assert (target / "f").read_text() == "1" and not old.exists()
    with pytest.raises(FileExistsError):
        publish_dir(new, target)
    publish_dir(new, target, replace=True)
    assert (target / "f").read_text() == "2"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v1"]  # the old copy is gone, not left aside
