"""The app: three tabs over one library, and `launch` with the security settings applied.

Security: binds to 127.0.0.1 unless told otherwise, and refuses a non-loopback address without a login
(unless --insecure); requests must name an allowed Host/Origin (`ui.guard.HostGuard`); the file routes
send only thumbnails, media copies and Gradio's uploads, as attachments (`ui.guard.FileRouteGuard`, on
top of Gradio's `allowed_paths`/`blocked_paths`); uploads are checked and renamed into <library>/uploads;
clients never see the library's absolute path nor the text of unexpected errors; MCP is off.
"""
from __future__ import annotations

import ipaddress
import logging
import os
import socket
from dataclasses import dataclass
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no phoning home (and no network here)

import gradio as gr  # noqa: E402
from gradio import utils as gr_utils  # noqa: E402
from starlette.middleware import Middleware  # noqa: E402

from mmrag import ConfigError  # noqa: E402

from . import ask_tab, library_tab, paths, render, search_tab  # noqa: E402
from .guard import FileRouteGuard, HostGuard  # noqa: E402
from .service import LibraryService, Settings  # noqa: E402
from .web import url_maker  # noqa: E402

log = logging.getLogger(__name__)
TITLE = "mmrag"


@dataclass
class Server:
    """A running app: its URL, the Blocks, and the service behind it."""

    url: str
    demo: gr.Blocks
    service: LibraryService

    def wait(self) -> None:
        """Serve until Ctrl+C (or the process is stopped), then close."""
        try:
            self.demo.block_thread()
        finally:
            self.service.close()

    def close(self) -> None:
        self.demo.close()
        self.service.close()


def build_app(service: LibraryService) -> gr.Blocks:
    """The Blocks app (not launched)."""
    url_for = url_maker(service)
    with gr.Blocks(title=TITLE, analytics_enabled=False) as demo:
        gr.Markdown(f"## mmrag · {render.esc(service.root.name)}")
        with gr.Tabs():
            with gr.Tab("Ask", id="ask"):
                ask_tab.build(service, url_for)
            with gr.Tab("Search", id="search") as search:
                video, refresh_videos = search_tab.build(service, url_for)
            with gr.Tab("Library", id="library") as library:
                refresh, outs = library_tab.build(service)
        search.select(refresh_videos, None, [video], api_name=False, queue=False)
        library.select(refresh, None, outs, api_name=False, queue=False)
        demo.load(refresh_videos, None, [video], api_name=False, queue=False)
    return demo


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def allowed_hosts(host: str, extra: list[str]) -> list[str]:
    """The Host/Origin names accepted: the bound address, this machine's names when bound to all
    addresses, and `extra` (localhost is always accepted)."""
    names = [host, *extra]
    if host in ("0.0.0.0", "::", ""):
        name = socket.gethostname()
        names += [name, socket.getfqdn()]
        try:
            names += socket.gethostbyname_ex(name)[2]
        except OSError:
            pass
    return names


def launch_options(service: LibraryService, host: str, port: int | None, auth: tuple[str, str] | None
                   ) -> dict[str, Any]:
    """Keyword arguments for `Blocks.launch` that enforce the app's security rules."""
    upload_dir = gr_utils.get_upload_folder()
    root = service.root
    middleware = [Middleware(HostGuard, hosts=allowed_hosts(host, service.settings.allowed_hosts)),
                  Middleware(FileRouteGuard, library=root, upload_dir=upload_dir)]
    return dict(
        server_name=host, server_port=port, auth=auth, auth_message="mmrag: sign in",
        allowed_paths=[str(root / d) for d in paths.SERVABLE], blocked_paths=paths.blocked_paths(root),
        max_file_size=f"{service.settings.max_upload_mb:g}mb", show_error=True, quiet=True,
        ssr_mode=False, mcp_server=False, run_history=False, share=False, css=render.CSS,
        app_kwargs={"middleware": middleware},
    )


def launch(settings: Settings, host: str = "127.0.0.1", port: int | None = None,
           auth: tuple[str, str] | None = None, insecure: bool = False) -> Server:
    """Open the library, build the app and start serving it; returns once it is up (see `Server.wait`).
    A non-loopback address without `auth` is refused unless `insecure`."""
    if not _is_loopback(host) and auth is None:
        if not insecure:
            raise ConfigError(f"refusing to serve on {host} without a login: anyone who can reach it could read and"
                              " change the library; give --auth USER:PASSWORD (or MMRAG_AUTH), or --insecure")
        log.warning("serving on %s without --auth: anyone who can reach this address can use the library", host)
    service = LibraryService(settings)
    demo = build_app(service)
    demo.queue(default_concurrency_limit=settings.concurrency)
    demo.launch(prevent_thread_lock=True, **launch_options(service, host, port, auth))
    return Server(demo.local_url, demo, service)
