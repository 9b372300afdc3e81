"""The model, scan and review steps of ``netral demo``."""

from __future__ import annotations

import typer
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from netral.cli.common import console, factory
from netral.db.schema import Flag, Post
from netral.models.registry import active_version, set_active
from netral.settings import get_settings
from netral.vocabulary import EvidenceLabel, Role

# Demo accounts only: printed on screen, meant for a laptop at 127.0.0.1.
DEMO_USERS = [
    ("reviewer1", Role.REVIEWER, "Rina Pemeriksa", "demo-reviewer-2024"),
    ("supervisor1", Role.SUPERVISOR, "Sigit Pengawas", "demo-supervisor-2024"),
    ("analyst1", Role.ANALYST, "Ayu Analis", "demo-analyst-2024"),
    ("admin1", Role.ADMIN, "Adi Admin", "demo-admin-2024"),
]


def ensure_model(epochs: int | None) -> str:
    """Train a first model when the registry has none (progress bar; resumable if interrupted)."""
    from netral.training.config import TrainConfig
    from netral.training.service import run_training

    settings = get_settings()
    active = active_version(settings.registry_dir)
    if active is not None:
        console.print(f"Model aktif: {active.version} (ambang {active.threshold:.3f})")
        return active.version
    console.print("Belum ada model terdaftar: menyiapkan model dasar dan melatih (sekali saja; "
                  "bila terputus, jalankan lagi dan pelatihan dilanjutkan).")
    mv = run_training(settings=settings, config=TrainConfig().override(epochs=epochs, threads=settings.torch_threads))
    set_active(settings.registry_dir, mv.version)
    test = mv.meta["metrics"]["test"]["partisan"]
    console.print(f"Model {mv.version} aktif: F1 uji {test['f1']:.3f}, recall {test['recall']:.3f}")
    return mv.version


def show_flags() -> None:
    with factory()() as session:
        flags = session.scalars(select(Flag).options(selectinload(Flag.post).selectinload(Post.account))
                                .order_by(Flag.partisan_score.desc())).all()
        table = Table("id", "skor", "ASN", "teks (potongan)", "bukti", "pemilu / catatan",
                      title=f"Indikasi menunggu tinjauan ({len(flags)})", show_lines=True)
        for f in flags:
            evidence = "\n".join(f"{EvidenceLabel.label_of(e['label'])}: {e['text']}" for e in f.evidence[:4]) or "-"
            note = (f.election or "-") + (f"\n{f.window_note}" if f.window_note else "")
            text = f.post.text if len(f.post.text) <= 90 else f.post.text[:89] + "…"
            table.add_row(str(f.id), f"{f.partisan_score:.2f}", f"{f.post.account.name}\n{f.post.platform}",
                          text, evidence, note)
    console.print(table)


def ensure_demo_users() -> None:
    from netral.review.users import create_user, get_user

    with factory()() as session:
        for username, role, name, password in DEMO_USERS:
            if get_user(session, username) is None:
                create_user(session, username=username, role=role, password=password, full_name=name)
        session.commit()


def run_model_and_review_steps(serve: bool, epochs: int | None) -> None:
    from netral.cli.scan import run_scan

    console.rule("4. Model klasifikasi")
    ensure_model(epochs)
    console.rule("5. Pemindaian")
    run_scan(explain=True, wait=True)
    show_flags()
    console.rule("6. Antrean tinjauan (web)")
    ensure_demo_users()
    settings = get_settings()
    console.print(f"Buka http://{settings.host}:{settings.port}/ dan masuk sebagai:")
    for username, role, _, password in DEMO_USERS:
        console.print(f"  {role.label:<13} {username:<12} kata sandi: {password}")
    if serve:
        from netral.cli.serve import run_server

        # The demo is a laptop on 127.0.0.1 over plain HTTP with printed passwords: development mode
        # (a random secret key generated once and kept in data_dir/secret_key), cookies without Secure.
        run_server(settings.model_copy(update={"dev_mode": True, "secure_cookies": False}), None, None)
    else:
        raise typer.Exit(0)
