"""``netral user``: local accounts and API tokens (the operator at the console acts as admin)."""

from __future__ import annotations

import sys

import typer

from netral.cli.common import console, fail
from netral.db.engine import session_factory
from netral.review import users as user_service
from netral.review.errors import ReviewError
from netral.review.roles import ROLES
from netral.settings import get_settings

app = typer.Typer(help="Pengguna: tambah, daftar, peran, token API.", no_args_is_help=True)

# Role values are what the command takes; the labels say what each is called in the UI.
ROLE_CHOICES = ", ".join(f"`{value}` ({label})" for value, label in ROLES.items())


def _sessions():  # type: ignore[no-untyped-def]
    return session_factory(get_settings().db_url)


@app.command("add")
def add(
    username: str = typer.Argument(..., help="nama pengguna (huruf kecil)"),
    role: str = typer.Option(..., "--role", help=f"peran: {ROLE_CHOICES}"),
    full_name: str = typer.Option("", "--full-name", help="nama lengkap"),
    password_stdin: bool = typer.Option(False, "--password-stdin",
                                        help="operator lokal: baca kata sandi dari baris pertama stdin (mis. admin "
                                             "pertama); tanpa ini dicetak tautan penyiapan sekali pakai"),
) -> None:
    """Tambah pengguna. Bawaannya mencetak tautan penyiapan sekali pakai: pemiliknya memilih kata sandi sendiri."""
    with _sessions()() as session:
        try:
            if password_stdin:
                password = sys.stdin.readline().rstrip("\r\n")
                user = user_service.create_user(session, username=username, role=role, password=password,
                                                full_name=full_name)
                plain = None
            else:
                user, plain = user_service.invite(session, username=username, role=role, full_name=full_name)
        except ReviewError as exc:
            raise fail(exc.message) from None
        session.commit()
        console.print(f"Pengguna {user.username} ({ROLES[user.role]}) dibuat.")
    if plain is not None:
        _print_setup(plain)


def _print_setup(plain: str) -> None:
    settings = get_settings()
    scheme = "https" if settings.secure_cookies else "http"
    typer.echo(f"{scheme}://{settings.host}:{settings.port}/setup/{plain}")
    typer.echo(f"Tautan penyiapan sekali pakai, berlaku {user_service.SETUP_HOURS} jam; kirim kepada pemiliknya. "
               "Ganti alamat bila server berada di balik proxy.", err=True)


@app.command("reset")
def reset(
    username: str = typer.Argument(..., help="nama pengguna"),
    reason: str = typer.Option("", "--reason", help="alasan (masuk log audit)"),
) -> None:
    """Lupa kata sandi: kata sandi lama tidak berlaku, semua sesi berakhir, tautan penyiapan baru dicetak."""
    with _sessions()() as session:
        user = user_service.get_user(session, username)
        if user is None:
            raise fail(f"pengguna {username!r} tidak ada")
        plain = user_service.reset_password(session, user, actor=None, reason=reason)
        session.commit()
    _print_setup(plain)


@app.command("list")
def list_users() -> None:
    """Tampilkan semua pengguna dengan peran dan statusnya."""
    with _sessions()() as session:
        for u in user_service.list_users(session):
            state = "aktif" if u.active else "nonaktif"
            console.print(f"{u.username:<20} {ROLES.get(u.role, u.role):<14} {state:<9} {u.full_name}")


@app.command("role")
def set_role(
    username: str = typer.Argument(..., help="nama pengguna"),
    role: str = typer.Argument(..., help=f"peran baru: {ROLE_CHOICES}"),
    reason: str = typer.Option("", "--reason", help="alasan (masuk log audit)"),
) -> None:
    """Ubah peran pengguna (dicatat di log audit)."""
    with _sessions()() as session:
        user = user_service.get_user(session, username)
        if user is None:
            raise fail(f"pengguna {username!r} tidak ada")
        try:
            user_service.set_role(session, user, role, actor=None, reason=reason)
        except ReviewError as exc:
            raise fail(exc.message) from None
        session.commit()
        console.print(f"Peran {user.username} sekarang {ROLES[role]}.")


@app.command("token")
def token(
    username: str = typer.Argument(..., help="nama pengguna pemilik token"),
    name: str = typer.Option(..., "--name", help="label token, mis. nama sistem pengirim"),
) -> None:
    """Buat token API dan cetak sekali (hanya sidik SHA-256-nya yang disimpan)."""
    with _sessions()() as session:
        user = user_service.get_user(session, username)
        if user is None:
            raise fail(f"pengguna {username!r} tidak ada")
        try:
            _, plain = user_service.create_api_token(session, user, name, actor=None)
        except ReviewError as exc:
            raise fail(exc.message) from None
        session.commit()
    typer.echo(plain)
    typer.echo("Simpan token ini sekarang; token tidak dapat ditampilkan lagi.", err=True)
