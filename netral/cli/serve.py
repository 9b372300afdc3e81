"""``netral serve``: run the web UI and API with uvicorn."""

from __future__ import annotations

import typer

from netral.settings import Settings, get_settings


def run_server(settings: Settings, host: str | None, port: int | None) -> None:
    """Start uvicorn, or exit with the reason when the configuration is unsafe (no secret key)."""
    import uvicorn

    from netral.cli.common import fail
    from netral.serve.app import create_app
    from netral.serve.security import InsecureConfig

    try:
        app = create_app(settings)
    except InsecureConfig as exc:
        raise fail(str(exc)) from None
    if settings.dev_mode:
        typer.echo("Mode pengembangan (NETRAL_DEV_MODE): jangan dipakai untuk data sungguhan.", err=True)
    uvicorn.run(app, host=host or settings.host, port=port or settings.port, workers=1,
                proxy_headers=False, server_header=False)


def serve(
    host: str | None = typer.Option(None, help="alamat yang didengarkan (bawaan: NETRAL_HOST, 127.0.0.1)"),
    port: int | None = typer.Option(None, help="port (bawaan: NETRAL_PORT, 8000)"),
) -> None:
    """Start the web application (refuses to start without a strong NETRAL_SECRET_KEY outside dev mode).

    The command's help text is the Indonesian one given in ``register``.
    """
    run_server(get_settings(), host, port)


def register(app: typer.Typer) -> None:
    app.command("serve", help="Jalankan aplikasi web (antrean tinjauan) dan API.")(serve)
