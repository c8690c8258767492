"""The reader's language: complete catalogues, translated pages, codes neutral on the wire."""

from __future__ import annotations

import pytest

from node.web import i18n
from node.web.messages import extract, read_catalogue
from tests.disclosure.helpers import SUSPECT, call, key_of
from tests.web.support import ConsoleHome, csrf_of, sign_in

LANGUAGES = [lang for lang in i18n.LANGUAGES if lang != "en"]


class TestCatalogues:
    @pytest.mark.parametrize("language", LANGUAGES)
    def test_no_missing_or_stale_message(self, language: str) -> None:
        """Each catalogue translates exactly the messages extracted from the console, no more."""
        catalogue = read_catalogue(language)
        present = {m.id: m.string for m in catalogue if m.id}
        wanted = extract()
        assert sorted(map(str, wanted - set(present))) == []  # missing: run node.web.messages
        assert sorted(map(str, set(present) - wanted)) == []  # stale
        empty = [k for k, v in present.items() if not v or (isinstance(v, tuple) and not all(v))]
        assert empty == []

    def test_a_new_code_needs_a_translation(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A code added to the vocabulary gets a label the catalogues then lack."""
        from node.web import codes

        monkeypatch.setitem(codes.LABELS, "purpose", {**codes.LABELS["purpose"],
                                                      "new_purpose": "New purpose"})  # fmt: skip
        assert "New purpose" in extract()
        assert "New purpose" not in {m.id for m in read_catalogue("fr")}


class TestPages:
    def test_sign_in_page_in_the_browsers_language(self, home: ConsoleHome) -> None:
        """A French browser gets the sign-in page in French."""
        page = home.client().get("/login", headers={"accept-language": "fr-FR,fr;q=0.9"})
        assert "Se connecter" in page.text
        assert 'lang="fr"' in page.text

    @pytest.mark.parametrize(
        ("language", "purpose", "deadline"),
        [
            ("fr", "Enquête pénale", "Échéance"),
            ("pt", "Investigação criminal", "Prazo"),
            ("vi", "Điều tra hình sự", "Hạn chót"),
            ("zh", "刑事侦查", "截止时间"),
        ],
    )
    def test_ticket_codes_translated_free_text_as_written(
        self, home: ConsoleHome, language: str, purpose: str, deadline: str
    ) -> None:
        """Codes read in the officer's language; the justification stays as written, marked."""
        (item,) = home.node.disclose((key_of(SUSPECT, "passport"),)).items
        client = home.client()
        token = sign_in(client, home, "Adv. Wanjiru")
        client.post("/language", data={"csrf": token, "language": language, "next": "/tickets"})
        page = client.get(f"/tickets/{item.ticket_id}").text
        assert purpose in page
        assert deadline in page
        assert "criminal_investigation" in page  # the code itself stays beside its label
        assert "Container and passport linked to an ivory seizure" in page
        assert 'data-untranslated="1"' in page
        assert csrf_of(page)


class TestWire:
    def test_structured_parts_travel_as_codes(self) -> None:
        """Purpose, charges and fields cross the wire as vocabulary codes, not prose."""
        from node.rpc import wire
        from policy import vocab

        message = wire.disclose_request_pb(
            call((key_of(SUSPECT, "passport"),), potential_charges=("wildlife_trafficking",))
        )
        assert message.purpose in vocab.PURPOSES
        assert set(message.requested_fields) <= set(vocab.GROUP_NAMES)
        assert set(message.potential_charges) <= set(vocab.OFFENCE_CLASSES)
