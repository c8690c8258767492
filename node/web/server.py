"""Serving the console: loopback in plain HTTP, any other address only over TLS."""

from __future__ import annotations

import ipaddress
import threading
from pathlib import Path

import uvicorn

from node.app.config import ConfigError, NodeConfig
from node.app.home import NodeHome
from node.web.app import create_app

ConsoleAddressError = ConfigError


def split_listen(listen: str, home: NodeHome | None = None) -> tuple[str, int]:
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit() or not host or int(port) > 65535:
        raise ConfigError(
            home.config_path if home else Path("spoor.toml"),
            "console.listen",
            f"{listen!r} is not HOST:PORT (for example 127.0.0.1:8710)",
        )
    return host.strip("[]"), int(port)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def console_server(home: NodeHome, config: NodeConfig, listen: str | None = None) -> uvicorn.Server:
    """A uvicorn server for the console; TLS with the node certificate off loopback."""
    host, port = split_listen(listen or config.console.listen, home)
    tls = not is_loopback(host)
    app = create_app(home, config, secure_cookies=tls)
    settings = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,  # request lines would carry ticket ids; audit says who did what
        ssl_certfile=str(home.node_cert_path) if tls else None,
        ssl_keyfile=str(home.node_key_path) if tls else None,
        server_header=False,
    )
    return uvicorn.Server(settings)


def start_in_thread(server: uvicorn.Server) -> threading.Thread:
    """Run the console beside the gRPC server (``spoor serve``); stop with ``should_exit``."""
    server.config.install_signal_handlers = False  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.run, name="spoor-console", daemon=True)
    thread.start()
    return thread
