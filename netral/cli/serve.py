"""``netral serve``: run the web UI and API with uvicorn."""

from __future__ import annotations

import typer

from netral.settings import get_settings


def serve(
    host: str | None = typer.Option(None, help="alamat yang didengarkan (bawaan: NETRAL_HOST, 127.0.0.1)"),
    port: int | None = typer.Option(None, help="port (bawaan: NETRAL_PORT, 8000)"),
) -> None:
    """Start the web application (one worker: the login throttle and retraining jobs live in-process)."""
    import uvicorn

    from netral.serve.app import create_app

    settings = get_settings()
    if settings.secret_key == "dev-only-change-me" and (host or settings.host) not in ("127.0.0.1", "localhost"):
        typer.echo("Peringatan: NETRAL_SECRET_KEY masih bawaan; ganti sebelum membuka akses jaringan.", err=True)
    uvicorn.run(create_app(settings), host=host or settings.host, port=port or settings.port, workers=1,
                proxy_headers=False, server_header=False)


def register(app: typer.Typer) -> None:
    app.command("serve", help="Jalankan aplikasi web (antrean tinjauan) dan API.")(serve)
