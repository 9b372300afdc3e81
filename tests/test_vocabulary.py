"""The domain vocabulary is defined once (netral.vocabulary); everything that lists its words must agree.

Each test here fails when one copy drifts: the CHECK constraints of a migrated database (SQLite and
PostgreSQL), the ORM schema, the choices the web forms offer, the lists the templates show, and the CLI.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from netral.db.engine import make_engine
from netral.db.schema import VOCABULARY_COLUMNS, Base, Flag, Review, User
from netral.review import cases, complaints, decisions, queue, roles
from netral.vocabulary import (
    CATEGORIES,
    INGESTIBLE_KINDS,
    LABELS,
    RETENTION_OF_STATUS,
    AttachmentType,
    Behaviour,
    CaseBody,
    CaseStatus,
    CaseStep,
    Category,
    ComplaintSource,
    ElectionLaw,
    ElectionType,
    EmploymentType,
    EvidenceLabel,
    FlagSource,
    FlagStatus,
    LabelledEnum,
    PostKind,
    RecapGroup,
    RetentionBasis,
    RetentionClass,
    ReviewDecision,
    Role,
    Sanction,
    TrainRunState,
)


def _quoted(sql: str) -> set[str]:
    return set(re.findall(r"'([^']*)'", sql))


def test_migrated_database_checks_match_the_vocabulary(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        insp = inspect(engine)
        for table, column, enum, _nullable in VOCABULARY_COLUMNS:
            checks = [c for c in insp.get_check_constraints(table) if c["name"] == f"ck_{table}_{column}_allowed"]
            assert len(checks) == 1, (table, column, insp.get_check_constraints(table))
            assert _quoted(checks[0]["sqltext"]) == set(enum.values()), (table, column)
    finally:
        engine.dispose()


def test_database_refuses_a_status_outside_the_vocabulary(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO train_jobs (started_by, status, progress, message, created_at) "
                              "VALUES ('ana', :s, 1.0, '', CURRENT_TIMESTAMP)"), {"s": TrainRunState.DONE.value})
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(text("INSERT INTO train_jobs (started_by, status, progress, message, created_at) "
                              "VALUES ('ana', 'succeeded', 1.0, '', CURRENT_TIMESTAMP)"))
    finally:
        engine.dispose()


def test_orm_schema_checks_are_generated_from_the_vocabulary() -> None:
    for table, column, enum, _nullable in VOCABULARY_COLUMNS:
        constraints = [c for c in Base.metadata.tables[table].constraints
                       if getattr(c, "name", None) == f"ck_{table}_{column}_allowed"]
        assert len(constraints) == 1, (table, column)
        assert _quoted(str(constraints[0].sqltext)) == set(enum.values())  # type: ignore[attr-defined]


def test_election_configs_use_the_election_type_vocabulary() -> None:
    from netral.elections import Election

    assert Election.model_fields["type"].annotation is ElectionType
    assert ElectionType.values() == ("pilpres", "pileg", "pilkada", "party_list")


def test_service_lists_are_the_vocabulary() -> None:
    assert FlagStatus.labels() == queue.STATUSES
    assert Category.labels() == decisions.CATEGORIES
    assert Behaviour.labels() == decisions.BEHAVIOURS
    assert ReviewDecision.labels() == decisions.DECISIONS
    assert Role.labels() == roles.ROLES
    assert FlagSource.labels() == queue.SOURCES
    assert ComplaintSource.labels() == complaints.SOURCES
    assert set(roles.DASHBOARD) == set(Role)
    # A complaint snapshot is written by the complaint service only, never handed in by a source.
    assert PostKind.COMPLAINT not in INGESTIBLE_KINDS and set(INGESTIBLE_KINDS) | {PostKind.COMPLAINT} == set(PostKind)
    assert ("partisan", *CATEGORIES) == LABELS and Category.values() == CATEGORIES
    assert CaseStatus.labels() == cases.STATUSES
    assert CaseStep.labels() == cases.STEPS
    assert CaseBody.labels() == cases.BODIES
    assert Sanction.labels() == cases.SANCTIONS
    assert set(roles.CASE_STEP_ROLES) == set(CaseStep) and set(cases.STAGE_OF) == set(CaseStep)


def test_every_member_has_an_indonesian_label_and_unique_values() -> None:
    for enum in (FlagStatus, ReviewDecision, Role, Category, Behaviour, RecapGroup, TrainRunState, EvidenceLabel,
                 PostKind, RetentionClass, RetentionBasis, ElectionType, CaseStatus, CaseStep, CaseBody, Sanction,
                 AttachmentType, ElectionLaw, FlagSource, ComplaintSource, EmploymentType):
        assert issubclass(enum, LabelledEnum)
        labels = enum.labels()
        assert len(labels) == len(enum) and all(labels.values())
        # Proper names and acronyms (Bawaslu, PNS, PPPK) read the same in both languages.
        assert all(label.casefold() != value.casefold() or value in {"bawaslu", "pns", "pppk"}
                   for value, label in labels.items()), enum
    assert FlagStatus.label_of("pending") == "Menunggu tinjauan"
    assert FlagStatus.label_of("unknown") == "unknown"  # an old value is shown, never a crash


def test_every_flag_status_has_a_retention_class() -> None:
    """A new status must decide how long its evidence is kept before it can exist (UU PDP retention)."""
    assert set(RETENTION_OF_STATUS) == set(FlagStatus)
    assert set(RETENTION_OF_STATUS.values()) <= set(RetentionClass) - {RetentionClass.UNFLAGGED}
    from netral.review.retention import PURGEABLE_STATUSES

    assert (FlagStatus.DISMISSED.value,) == PURGEABLE_STATUSES


def _options(html: str, select_name: str) -> list[str]:
    """Values of the <option>s of the first <select name=...> on the page."""
    match = re.search(rf'<select[^>]*name="{select_name}"[^>]*>(.*?)</select>', html, re.S)
    assert match, f"no <select name={select_name}>"
    return [v for v in re.findall(r'<option value="([^"]*)"', match.group(1)) if v]


def test_web_forms_offer_exactly_the_vocabulary(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient
    from webutil import factory_for, login, seed_basic, settings_for, sqlite_url

    from netral.serve.app import create_app

    url = sqlite_url(tmp_path)
    factory = factory_for(url)
    ids = seed_basic(factory)
    client = TestClient(create_app(settings_for(url, tmp_path)))
    login(client, "rina")
    queue_page = client.get("/queue?status=all").text
    assert _options(queue_page, "status") == ["open", "all", *FlagStatus.values()]  # two filters, then each status
    assert _options(queue_page, "category") == list(Category.values())
    assert _options(queue_page, "source") == list(FlagSource.values())
    assert _options(client.get("/complaints").text, "source") == list(ComplaintSource.values())
    client.post(f"/flags/{ids['flag']}/claim", data={"csrf_token": re.findall(
        r'name="csrf_token" value="([^"]+)"', client.get(f"/flags/{ids['flag']}").text)[0]})
    flag_page = client.get(f"/flags/{ids['flag']}").text
    assert _options(flag_page, "category") == list(Category.values())
    assert _options(flag_page, "behaviour") == list(Behaviour.values())
    admin = TestClient(create_app(settings_for(url, tmp_path)))
    login(admin, "adi")
    assert _options(admin.get("/admin/users").text, "role") == list(Role.values())
    dashboard_page = admin.get("/dashboard").text
    assert _options(dashboard_page, "by") == list(RecapGroup.values())
    assert _options(dashboard_page, "status") == list(FlagStatus.values())
    assert _options(dashboard_page, "category") == list(Category.values())
    supervisor = TestClient(create_app(settings_for(url, tmp_path)))
    login(supervisor, "sari")
    assert _options(supervisor.get("/cases").text, "status") == ["active", "closed", "all", *CaseStatus.values()]
    with factory() as s:
        from netral.review import reports

        flag = s.get(Flag, ids["flag"])
        assert flag is not None
        flag.status = FlagStatus.VERIFIED
        _raw_two_people(s, ids)
        reports.create_report(s, ids["flag"], s.get(User, ids["sari"]))  # type: ignore[arg-type]
        s.commit()
    case_page = supervisor.get("/cases/1").text
    assert _options(case_page, "body") == list(CaseBody.values())
    assert _options(case_page, "sanction") == list(Sanction.values())
    assert set(_options(case_page, "step")) <= set(CaseStep.values())
    factory.kw["bind"].dispose()


def test_cli_role_help_lists_the_vocabulary() -> None:
    from typer.testing import CliRunner

    from netral.cli import app

    out = CliRunner().invoke(app, ["user", "add", "--help"], env={"COLUMNS": "200"}).output
    assert all(role in out for role in Role.values())
    out = CliRunner().invoke(app, ["case", "step", "--help"], env={"COLUMNS": "300"}).output
    assert all(step in out for step in CaseStep.values())
    assert all(body in out for body in CaseBody.values())
    assert all(sanction in out for sanction in Sanction.values())


def _raw_two_people(s, ids: dict[str, int]) -> None:  # type: ignore[no-untyped-def]
    """A confirmation by one user and a verification by another, as rows (what the report trigger reads)."""
    for who, stage, decision in (("rina", "first", "confirm"), ("tono", "second", "verify")):
        s.add(Review(flag_id=ids["flag"], reviewer_id=ids[who], stage=stage, decision=decision,
                     category="SUPPORT" if stage == "first" else None, reason="alasan yang cukup panjang"))
    s.flush()


NEW_BEHAVIOURS = ("hadir_deklarasi_kampanye", "fasilitas_negara", "lainnya")


def test_new_skb_behaviours_are_accepted_everywhere(db_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Attending a declaration/campaign, state facilities and "other" (issue 13, item 3): in the vocabulary,
    allowed by the migrated CHECK constraint on both back ends, and accepted by the confirm service."""
    from webutil import add_flag, factory_for, seed_basic, settings_for

    from netral.db.schema import Account, Review, User

    assert set(NEW_BEHAVIOURS) <= set(Behaviour.values())
    assert Behaviour.FASILITAS_NEGARA.label.startswith("Menggunakan fasilitas negara")
    factory = factory_for(db_url)
    settings = settings_for(db_url, tmp_path)
    ids = seed_basic(factory)
    try:
        with factory() as s:
            account = s.get(Account, ids["account"])
            flag_ids = [ids["flag"], *(add_flag(s, account, post_id=f"80{i}").id for i in range(2))]
            s.commit()
            rina = s.get(User, ids["rina"])
            for flag_id, behaviour in zip(flag_ids, NEW_BEHAVIOURS, strict=True):
                queue.claim(s, flag_id, rina, settings)
                decisions.confirm(s, flag_id, rina, category="CAMPAIGN", behaviour=behaviour,
                                  reason="Perilaku baru dari daftar SKB yang diperluas.", settings=settings)
                s.commit()
            stored = {r.behaviour for r in s.query(Review).all()}
            assert stored == set(NEW_BEHAVIOURS)
            if db_url.startswith("sqlite"):
                # Migration 0012 copied the table: the triggers on it are the ones before the copy (0004, 0011).
                triggers = dict(s.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                                               "AND tbl_name = 'reviews'")).all())
                assert set(triggers) == {"reviews_no_update", "reviews_no_delete"}
                assert "post_deletions" in triggers["reviews_no_delete"]
        with pytest.raises(IntegrityError), factory() as s:
            s.execute(text("INSERT INTO reviews (flag_id, reviewer_id, stage, decision, category, behaviour, reason, "
                           "created_at) VALUES (:f, :u, 'first', 'confirm', 'CAMPAIGN', 'menghadiri', 'x', "
                           "CURRENT_TIMESTAMP)"), {"f": ids["flag"], "u": ids["rina"]})
            s.commit()
    finally:
        factory.kw["bind"].dispose()
