"""Web UI and HTTP API (FastAPI); see ``netral.serve.app.create_app``."""
