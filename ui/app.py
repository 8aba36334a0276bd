"""The app: three tabs over one library, and `launch` with the security settings applied.

Security: binds to 127.0.0.1 unless told otherwise, and refuses a non-loopback address without a login
(unless --insecure); requests must name an allowed Host/Origin (`ui.guard.HostGuard`); the file routes
send only thumbnails, media copies and Gradio's uploads, as attachments (`ui.guard.FileRouteGuard`, on
top of Gradio's `allowed_paths`/`blocked_paths`); uploads are checked and renamed into <library>/uploads;
clients never see the library's absolute path nor the text of unexpected errors. The documented API
is the typed tools (`ui.tools`, `gr.api` endpoints /tool_<name>), served over MCP with --mcp, and the
JSON API under /mmrag/api/ (`ui.api`); with a login, both need it as HTTP Basic credentials.
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

from mmrag import ConfigError, DependencyMissingError  # noqa: E402

from . import ask_tab, library_tab, paths, render, search_tab  # noqa: E402
from .api import JsonApi  # noqa: E402
from .guard import FileRouteGuard, HostGuard  # noqa: E402
from .service import LibraryService, Settings  # noqa: E402
from .tools import Tools, typed_tools  # noqa: E402
from .web import errors, url_maker  # noqa: E402

log = logging.getLogger(__name__)
TITLE = "mmrag"


@dataclass
class Server:
    """A running app: its URL, the Blocks, and the service behind it."""

    url: str
    demo: gr.Blocks
    service: LibraryService

    @property
    def mcp_url(self) -> str | None:
        """The MCP endpoint (streamable HTTP) when serving with --mcp."""
        return f"{self.url}gradio_api/mcp/" if getattr(self.demo, "mcp_server", False) else None

    def wait(self) -> None:
        """Serve until Ctrl+C (or the process is stopped), then close."""
        try:
            self.demo.block_thread()
        finally:
            self.service.close()

    def close(self) -> None:
        self.demo.close()
        self.service.close()


def build_app(service: LibraryService, tools: Tools | None = None) -> gr.Blocks:
    """The Blocks app (not launched): the tabs, and the typed tools as API (and MCP) endpoints."""
    url_for = url_maker(service)
    with gr.Blocks(title=TITLE, analytics_enabled=False) as demo:
        gr.Markdown(f"## mmrag · {render.esc(service.root.name)}")
        with gr.Tabs():
            with gr.Tab("Ask", id="ask"):
                examples, refresh_examples = ask_tab.build(service, url_for)
            with gr.Tab("Search", id="search") as search:
                video, refresh_videos = search_tab.build(service, url_for)
            with gr.Tab("Library", id="library") as library:
                refresh, outs = library_tab.build(service)
        search.select(refresh_videos, None, [video], api_name=False, queue=False)
        library.select(refresh, None, outs, api_name=False, queue=False)
        demo.load(refresh_videos, None, [video], api_name=False, queue=False)
        demo.load(errors(refresh_examples), None, [examples], api_name=False, queue=False)
        for fn in typed_tools(tools or Tools(service)):  # not queued: MCP calls them in-process, past the queue
            gr.api(errors(fn), api_name=f"tool_{fn.__name__}", queue=False)
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


def launch_options(service: LibraryService, host: str, port: int | None, auth: tuple[str, str] | None,
                   tools: Tools | None = None) -> dict[str, Any]:
    """Keyword arguments for `Blocks.launch` that enforce the app's security rules."""
    upload_dir = gr_utils.get_upload_folder()
    root, settings = service.root, service.settings
    middleware = [Middleware(HostGuard, hosts=allowed_hosts(host, settings.allowed_hosts)),
                  Middleware(FileRouteGuard, library=root, upload_dir=upload_dir),
                  Middleware(JsonApi, tools=tools or Tools(service), auth=auth, max_upload_mb=settings.max_upload_mb)]
    return dict(
        server_name=host, server_port=port, auth=auth, auth_message="mmrag: sign in",
        allowed_paths=[str(root / d) for d in paths.SERVABLE], blocked_paths=paths.blocked_paths(root),
        max_file_size=f"{service.settings.max_upload_mb:g}mb", show_error=True, quiet=True,
        ssr_mode=False, mcp_server=settings.mcp, run_history=False, share=False, css=render.CSS,
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
    tools = Tools(service)
    demo = build_app(service, tools)
    demo.queue(default_concurrency_limit=settings.concurrency)
    demo.launch(prevent_thread_lock=True, **launch_options(service, host, port, auth, tools))
    if settings.mcp and not getattr(demo, "mcp_server", False):
        demo.close()
        service.close()
        raise DependencyMissingError(f"--mcp: {getattr(demo, 'mcp_error', 'the MCP server did not start')}; "
                                     "it needs: pip install 'mcp>=1.21,<2'")
    return Server(demo.local_url, demo, service)
