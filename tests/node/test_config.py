"""spoor.toml loading: defaults, strictness, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from node.app.config import ConfigError, NodeConfig, load_config, save_config
from node.app.home import NodeHome


def _home(tmp_path: Path, text: str) -> NodeHome:
    home = NodeHome(tmp_path)
    home.config_path.write_text(text, encoding="utf-8")
    return home


class TestLoadConfig:
    def test_round_trip(self, tmp_path: Path) -> None:
        """A saved config loads back identical, with defaults filled in."""
        home = NodeHome(tmp_path)
        save_config(home, NodeConfig(agency_id="ke-kws", country="KE"))
        loaded = load_config(home)
        assert loaded == NodeConfig(agency_id="ke-kws", country="KE")
        assert loaded.limits.max_elements_per_request == 20_000

    def test_unknown_setting_is_an_error_naming_the_key(self, tmp_path: Path) -> None:
        """A misspelt limit is refused with the key and the known settings."""
        home = _home(
            tmp_path, 'agency_id="ke-kws"\ncountry="KE"\n[limits]\nmax_element_per_request=5\n'
        )
        with pytest.raises(ConfigError) as info:
            load_config(home)
        assert info.value.key == "limits.max_element_per_request"
        assert "max_elements_per_request" in str(info.value)

    def test_wrong_type_is_refused(self, tmp_path: Path) -> None:
        """A string where a number belongs is refused, not coerced."""
        home = _home(
            tmp_path, 'agency_id="ke-kws"\ncountry="KE"\n[limits]\nmax_elements_per_request="10"\n'
        )
        with pytest.raises(ConfigError, match="expected int"):
            load_config(home)

    def test_bad_country_and_agency(self, tmp_path: Path) -> None:
        """Country codes are checked against ISO 3166 and agency ids against the id pattern."""
        with pytest.raises(ConfigError, match="ISO 3166"):
            load_config(_home(tmp_path, 'agency_id="ke-kws"\ncountry="XX"\n'))
        with pytest.raises(ConfigError, match="agency id"):
            load_config(_home(tmp_path, 'agency_id="KE KWS"\ncountry="KE"\n'))

    def test_replica_advertise_address_must_be_host_and_port(self, tmp_path: Path) -> None:
        """A replica's advertised address without a port is refused naming the key."""
        base = 'agency_id="ke-kws"\ncountry="KE"\n[replicas]\nadvertise='
        with pytest.raises(ConfigError) as info:
            load_config(_home(tmp_path, base + '"kws-node-2.internal"\n'))
        assert info.value.key == "replicas.advertise"
        assert "host:port" in str(info.value)
        loaded = load_config(_home(tmp_path, base + '"kws-node-2.internal:50051"\n'))
        assert loaded.replicas.advertise == "kws-node-2.internal:50051"

    def test_missing_file_says_what_to_do(self, tmp_path: Path) -> None:
        """A home without spoor.toml points at 'spoor init'."""
        with pytest.raises(ConfigError, match="spoor init"):
            load_config(NodeHome(tmp_path))

    def test_invalid_toml(self, tmp_path: Path) -> None:
        """Broken TOML is reported as such with the file name."""
        with pytest.raises(ConfigError, match="not valid TOML"):
            load_config(_home(tmp_path, "agency_id = \n"))

    def test_message_limit_grows_with_request_limit(self) -> None:
        """The derived message-size limit covers the largest request accepted."""
        small = NodeConfig(agency_id="ke-kws", country="KE")
        big = NodeConfig(agency_id="ke-kws", country="KE")
        big.limits.max_elements_per_request = 100_000
        assert big.max_message_bytes > small.max_message_bytes > 33 * 20_000
