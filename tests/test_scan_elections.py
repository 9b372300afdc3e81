"""The scan with the 27 November 2024 elections: every matching pair on the flag, narrowed by the author's unit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from netral.db.schema import Account, Flag, Post
from netral.elections import load_elections
from netral.pipeline.ingest import ingest_records
from netral.pipeline.roster import RosterRow, upsert_roster
from netral.pipeline.scan import match_election, scan
from netral.settings import REPO_ROOT, Settings

SHIPPED = REPO_ROOT / "data" / "elections"
KE = "02 Khofifah Indar Parawansa – Emil Elestianto Dardak"


class FakeClassifier:
    """Flags every post that asks for a vote: the scan's duck-typed model."""

    name = "fake-v1"
    threshold = 0.5
    categories = ("SUPPORT",)

    def probabilities(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        return np.array([[0.9 if "nomor" in t else 0.1, 0.5] for t in texts], dtype=np.float32).reshape(-1, 2)


def _seed(factory: sessionmaker[Session]) -> None:
    rows = [RosterRow(1, "198503122010011001", "Batu", "Dinas Pendidikan Kota Batu", "", [("twitter", "batu")],
                      date(1985, 3, 12), date(2010, 1, 1)),
            RosterRow(2, "199001242015032002", "Tanpa Wilayah", "Dinas Kesehatan", "", [("twitter", "umum")],
                      date(1990, 1, 24), date(2015, 3, 1))]
    with factory() as s:
        upsert_roster(s, rows, "test")
        s.commit()
    recs = [(i, {"platform": "twitter", "post_id": str(i), "author": author, "created_at": "2024-10-20T03:00:00Z",
                 "text": text})
            for i, (author, text) in enumerate([("batu", "nomor 2 pasti menang"), ("umum", "nomor 2 pasti menang"),
                                                ("umum", "Khofifah nomor 2")], start=1)]
    ingest_records(factory, recs, "test")


def _flags(factory: sessionmaker[Session]) -> dict[tuple[str, str], Flag]:
    with factory() as s:
        rows = s.execute(select(Flag, Post, Account).join(Post, Post.id == Flag.post_id)
                         .join(Account, Account.id == Post.account_id)).all()
        return {(account.unit, post.text): flag for flag, post, account in rows}


def test_a_flag_keeps_every_pair_the_author_may_vote_for(factory: sessionmaker[Session], tmp_path: Path) -> None:
    _seed(factory)
    result = scan(factory, FakeClassifier(), settings=Settings(elections_dir=SHIPPED))  # type: ignore[arg-type]
    assert result.flagged == 3
    flags = _flags(factory)

    def pairs(flag: Flag) -> list[tuple[str, str]]:
        [span] = [e for e in flag.evidence if e["label"] == "BALLOT_NUMBER"]
        return [(m["election_id"], m["contestant"]) for m in span["matches"]]

    batu = flags[("Dinas Pendidikan Kota Batu", "nomor 2 pasti menang")]
    assert pairs(batu) == [("pilgub-jatim-2024", KE), ("pilkada-kota-batu-2024", "02 Firhando Gumelar – Rudi")]
    anywhere = flags[("Dinas Kesehatan", "nomor 2 pasti menang")]
    assert [e for e, _ in pairs(anywhere)] == ["pilgub-jatim-2024", "pilkada-kabupaten-malang-2024",
                                               "pilkada-kota-batu-2024", "pilkada-kota-malang-2024"]
    assert anywhere.evidence[0]["election_id"] is None and anywhere.evidence[0]["contestant"] is None
    named = flags[("Dinas Kesehatan", "Khofifah nomor 2")]
    assert pairs(named) == [("pilgub-jatim-2024", KE)]
    # The flag's election (threshold, window note): the Pilgub, which every ambiguous span includes.
    assert {f.election for f in flags.values()} == {"pilgub-jatim-2024"}
    assert all(f.window_note is None for f in flags.values())  # 20 Oct 2024 is inside the campaign


def test_match_election_weighs_shared_spans_less_than_names() -> None:
    elections = load_elections(SHIPPED)
    from datetime import UTC, datetime

    when = datetime(2024, 10, 20, tzinfo=UTC)
    shared = {"label": "BALLOT_NUMBER", "matches": [{"election_id": "pilgub-jatim-2024", "contestant": KE},
                                                    {"election_id": "pilkada-kota-batu-2024", "contestant": "x"}]}
    batu_name = {"label": "CANDIDATE", "election_id": "pilkada-kota-batu-2024", "contestant": "03 Krisdayanti"}
    assert match_election(elections, [shared], when).id == "pilgub-jatim-2024"  # type: ignore[union-attr]
    assert match_election(elections, [shared, batu_name], when).id == "pilkada-kota-batu-2024"  # type: ignore[union-attr]
    old_style = {"label": "PAIR", "election_id": "pilpres-2024", "contestant": "02"}  # flags written before matches
    assert match_election(elections, [old_style], when).id == "pilpres-2024"  # type: ignore[union-attr]
