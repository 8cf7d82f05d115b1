"""`govledger serve`: the read-only public API (and the dashboard, when installed) under uvicorn."""

from __future__ import annotations

import typer

from api.errors import ApiError
from indexer.errors import IndexerError

USER_ERRORS = (ApiError, IndexerError)


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve(
        host: str = typer.Option("127.0.0.1", help="Address to listen on"),
        port: int = typer.Option(8000, min=1, max=65535, help="TCP port"),
        workers: int = typer.Option(1, min=1, max=64, help="uvicorn worker processes"),
        migrate: bool = typer.Option(True, help="Create/upgrade the mirror schema first (govledger db upgrade)"),
    ) -> None:
        """Serve the public API (read-only) over the mirror in GOVLEDGER_DATABASE_URL."""
        import uvicorn

        from api.settings import load_api_settings

        settings = load_api_settings()  # fails here, in one line, on a bad setting
        if migrate:
            from indexer.db import upgrade

            upgrade(settings.database_url)
        typer.echo(f"serving the dashboard on http://{host}:{port}/ and the API under /v1 (docs at /docs)", err=True)
        uvicorn.run(
            "api.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="warning",
            access_log=False,
            proxy_headers=False,
        )
