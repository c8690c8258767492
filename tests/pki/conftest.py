"""Agencies with PKI generated once per test session (no keys are committed)."""

from __future__ import annotations

import pytest

from spoor_dev.pki_testing import AgencyPki, make_agency_pki


@pytest.fixture(scope="session")
def kenya(tmp_path_factory: pytest.TempPathFactory) -> AgencyPki:
    """Kenya Wildlife Service: CA and node certificate."""
    return make_agency_pki(tmp_path_factory.mktemp("ke-kws"), "ke-kws", "KE")


@pytest.fixture(scope="session")
def vietnam(tmp_path_factory: pytest.TempPathFactory) -> AgencyPki:
    """Vietnamese customs: CA and node certificate."""
    return make_agency_pki(tmp_path_factory.mktemp("vn-customs"), "vn-customs", "VN")


@pytest.fixture(scope="session")
def mozambique(tmp_path_factory: pytest.TempPathFactory) -> AgencyPki:
    """Mozambican prosecutor: CA and node certificate."""
    return make_agency_pki(tmp_path_factory.mktemp("mz-pgr"), "mz-pgr", "MZ")
