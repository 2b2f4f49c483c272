"""The live routes: the ``/v1/live`` WebSocket and the page that streams a browser's microphone to it (``/live``).

The page and its scripts are files of this package (``static/``), served with a policy that allows nothing from
anywhere else: the page makes no outside request.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

from fastapi import FastAPI, WebSocket
from fastapi.responses import Response

from .live import LiveService, serve_live

STATIC = {
    "live.html": "text/html; charset=utf-8",
    "live.js": "text/javascript; charset=utf-8",
    "live-worklet.js": "text/javascript; charset=utf-8",
    "live.css": "text/css; charset=utf-8",
}
PAGE_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
               "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


def static_file(name: str) -> bytes:
    return resources.files(__package__).joinpath("static", name).read_bytes()


def register_live_routes(app: FastAPI, context: Any) -> None:
    service = LiveService(context)
    app.state.live = service

    @app.websocket("/v1/live")
    async def live(websocket: WebSocket) -> None:
        await serve_live(websocket, service)

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:  # browsers ask for it on every page; there is none
        return Response(status_code=204)

    @app.get("/live", include_in_schema=False)
    def live_page() -> Response:
        return _static("live.html")

    @app.get("/live/{name}", include_in_schema=False)
    def live_asset(name: str) -> Response:
        if name not in STATIC or name == "live.html":
            return Response("not found\n", status_code=404, media_type="text/plain")
        return _static(name)


def _static(name: str) -> Response:
    return Response(static_file(name), media_type=STATIC[name],
                    headers={"Content-Security-Policy": PAGE_POLICY, "Cache-Control": "no-store",
                             "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"})
