"""Re-blinding under epoch keys: remembered library objects never mix keys up."""

from __future__ import annotations

import private_set_intersection.python as psi

from node.psi.held import _MAX_SERVERS, SpareClients, blind_inline, process_with_key
from node.setups.epochs import new_server_key


def _fresh(key: bytes, request: bytes) -> bytes:
    """The response of a server object made just for this call."""
    parsed = psi.Request()
    parsed.ParseFromString(request)
    data: bytes = psi.server.CreateFromKey(key, True).ProcessRequest(parsed).SerializeToString()
    return data


class TestRememberedEpochKeys:
    def test_every_key_answers_as_a_fresh_server_would(self) -> None:
        """Interleaved lookups under more keys than are remembered get their own key's answer."""
        request = blind_inline(new_server_key(), ["v2|phone|+254700000001", "v2|phone|+2"])
        keys = [new_server_key() for _ in range(_MAX_SERVERS + 2)]
        expected = {key: _fresh(key, request) for key in keys}
        assert len(set(expected.values())) == len(keys)
        for key in [*keys, *reversed(keys), keys[0], keys[-1]]:
            assert process_with_key(key, request, True) == expected[key]


class TestSpareClients:
    def test_every_lookup_gets_a_key_of_its_own(self) -> None:
        """Keys taken one after another (spares or made on the spot) are never the same."""
        clients = SpareClients(keep=2)
        keys = [clients.take()[0] for _ in range(12)]
        assert len(set(keys)) == len(keys)

    def test_a_spare_client_blinds_under_its_own_key(self) -> None:
        """A request made with a spare's library object equals one made afresh from its key."""
        clients = SpareClients(keep=2)
        clients.take()
        for _ in range(3):
            key, client = clients.take()
            elements = ["v2|phone|+254700000001", "v2|passport|KEN|A1234567"]
            with_spare = psi.Request()
            with_spare.ParseFromString(blind_inline(key, elements, client))
            afresh = psi.Request()
            afresh.ParseFromString(blind_inline(key, elements))
            assert list(with_spare.encrypted_elements) == list(afresh.encrypted_elements)
