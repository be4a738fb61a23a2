"""The web console: server-rendered pages under /console that read and write only through the
public /v1 API, with the signed-in user's own token (see docs/console.md)."""

from app.console.routes import router

__all__ = ["router"]
