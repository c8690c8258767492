"""Where the console listens: loopback in plain HTTP, elsewhere only over TLS; its settings."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
import tomli_w

from node.app.config import ConfigError, load_config
from node.app.home import NodeHome
from node.web.server import console_server
from tests.conftest import init_node


@pytest.fixture
def node_home(tmp_path: Path) -> NodeHome:
    return NodeHome(init_node(tmp_path, "ke-kws", "KE"))


class TestListening:
    def test_loopback_is_plain_http(self, node_home: NodeHome) -> None:
        """On 127.0.0.1 the console needs no certificate and its cookie is not Secure-only."""
        server = console_server(node_home, load_config(node_home), "127.0.0.1:0")
        assert server.config.ssl_certfile is None
        assert server.config.app.state.console.secure_cookies is False

    def test_any_other_address_uses_the_node_certificate(self, node_home: NodeHome) -> None:
        """Bound beyond loopback, the console serves TLS with the node's certificate and key."""
        server = console_server(node_home, load_config(node_home), "0.0.0.0:0")
        assert server.config.ssl_certfile == str(node_home.node_cert_path)
        assert server.config.ssl_keyfile == str(node_home.node_key_path)
        assert server.config.app.state.console.secure_cookies is True

    def test_bad_address_names_the_setting(self, node_home: NodeHome) -> None:
        """A listen address without a port is a configuration error naming console.listen."""
        with pytest.raises(ConfigError, match=r"console\.listen"):
            console_server(node_home, load_config(node_home), "localhost")


class TestSettings:
    def test_console_section_is_read_and_checked(self, node_home: NodeHome) -> None:
        """[console] settings are read; an out-of-range session length is refused at load."""
        raw = tomllib.loads(node_home.config_path.read_text(encoding="utf-8"))
        raw["console"].update(enabled=True, listen="127.0.0.1:9999")
        node_home.config_path.write_text(tomli_w.dumps(raw), encoding="utf-8")
        config = load_config(node_home)
        assert config.console.enabled
        assert config.console.listen == "127.0.0.1:9999"
        raw["console"]["session_minutes"] = 0
        node_home.config_path.write_text(tomli_w.dumps(raw), encoding="utf-8")
        with pytest.raises(ConfigError, match="session_minutes"):
            load_config(node_home)
