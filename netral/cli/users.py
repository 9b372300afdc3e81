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


def _sessions():  # type: ignore[no-untyped-def]
    return session_factory(get_settings().db_url)


@app.command("add")
def add(
    username: str = typer.Argument(..., help="nama pengguna (huruf kecil)"),
    role: str = typer.Option(..., "--role", help=f"peran: {', '.join(ROLES)}"),
    full_name: str = typer.Option("", "--full-name", help="nama lengkap"),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="baca kata sandi dari baris pertama stdin"),
) -> None:
    """Create a user; the password is read from stdin or prompted for, never taken as an argument."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Kata sandi", hide_input=True, confirmation_prompt="Ulangi kata sandi")
    with _sessions()() as session:
        try:
            user = user_service.create_user(session, username=username, role=role, password=password,
                                            full_name=full_name)
        except ReviewError as exc:
            raise fail(exc.message) from None
        session.commit()
        console.print(f"Pengguna {user.username} ({ROLES[user.role]}) dibuat.")


@app.command("list")
def list_users() -> None:
    """All users with role and status."""
    with _sessions()() as session:
        for u in user_service.list_users(session):
            state = "aktif" if u.active else "nonaktif"
            console.print(f"{u.username:<20} {ROLES.get(u.role, u.role):<14} {state:<9} {u.full_name}")


@app.command("role")
def set_role(
    username: str = typer.Argument(...),
    role: str = typer.Argument(..., help=f"peran baru: {', '.join(ROLES)}"),
    reason: str = typer.Option("", "--reason", help="alasan (masuk log audit)"),
) -> None:
    """Change a user's role (audited)."""
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
    username: str = typer.Argument(...),
    name: str = typer.Option(..., "--name", help="label token, mis. nama sistem pengirim"),
) -> None:
    """Issue an API token and print it once (only its SHA-256 is stored)."""
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
