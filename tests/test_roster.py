from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from netral.db.schema import Account, Handle
from netral.pipeline.roster import NipError, import_roster, parse_nip

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"


def test_parse_nip_extracts_dates() -> None:
    birth, appointed = parse_nip("198503122010011001")
    assert birth == date(1985, 3, 12)
    assert appointed == date(2010, 1, 1)


@pytest.mark.parametrize(
    ("nip", "fragment"),
    [
        ("19850312201001100", "18 digit"),
        ("1985031220100110AB", "18 digit"),
        ("198502302010011001", "tanggal lahir"),  # 30 February
        ("198503122010131001", "TMT"),  # month 13
        ("198503122010013001", "jenis kelamin"),
        ("199003121985011001", "sebelum tanggal lahir"),
    ],
)
def test_parse_nip_rejects(nip: str, fragment: str) -> None:
    with pytest.raises(NipError, match=fragment):
        parse_nip(nip)


def test_import_sample_roster_and_reimport_updates_without_duplicates(factory, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with factory() as s:
        first = import_roster(s, SAMPLES / "roster.csv")
        s.commit()
    assert first.ok and first.created == 8
    changed = tmp_path / "roster.csv"
    text = (SAMPLES / "roster.csv").read_text(encoding="utf-8")
    changed.write_text(text.replace("Guru Ahli Pertama", "Guru Ahli Muda").replace(
        "twitter:@budi_guru85;instagram:budisantoso.edu", "twitter:@Budi_Guru85;tiktok:budi.ngajar"), encoding="utf-8")
    with factory() as s:
        second = import_roster(s, changed)
        s.commit()
    assert (second.created, second.updated, second.unchanged) == (0, 1, 7)
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(Account)) == 8
        budi = s.scalars(select(Account).where(Account.nip == "198503122010011001")).one()
        assert budi.position == "Guru Ahli Muda"
        assert sorted((h.platform, h.handle) for h in budi.handles) == [("tiktok", "budi.ngajar"),
                                                                         ("twitter", "budi_guru85")]
        assert s.scalar(select(func.count()).select_from(Handle)) == 15


def test_bad_rows_are_reported_and_good_rows_kept(factory, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "bad.csv"
    path.write_text(
        "nip,name,unit,position,handles\n"
        "198503122010011001,Budi,Dinas A,Guru,twitter:@budi\n"
        "198502302010011001,Salah Tanggal,Dinas A,Guru,twitter:@salah\n"
        "199001242015032002,,Dinas B,Perawat,twitter:@tanpa_nama\n"
        "199001242015032002,Siti,Dinas B,Perawat,friendster:@siti\n"
        "198711052011011003,Agus,Dinas C,Analis,twitter:@budi\n",
        encoding="utf-8",
    )
    with factory() as s:
        result = import_roster(s, path)
        s.commit()
    assert result.created == 1
    got = {(r.line, r.field) for r in result.rejections}
    assert got == {(3, "nip"), (4, "name"), (5, "handles"), (6, "handles")}
    assert all(r.source == str(path) for r in result.rejections)


def test_missing_column_is_reported(factory, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "cols.csv"
    path.write_text("nip,name\n198503122010011001,Budi\n", encoding="utf-8")
    with factory() as s:
        result = import_roster(s, path)
    assert result.created == 0
    assert result.rejections[0].line == 1 and "unit" in (result.rejections[0].field or "")
