"""Standing watchlists in the console: counterparts, last runs, new hits timed, escaped."""

from __future__ import annotations

from node.store import watchlists as watch_store
from tests.web.support import WATCH_ID, WATCH_XSS, ConsoleHome, sign_in, standing_watchlist


class TestWatchlistsPage:
    def test_new_hits_per_counterpart_with_their_time(self, home: ConsoleHome) -> None:
        """Each counterpart shows its last run; only the unreported hit is listed, with its time."""
        standing_watchlist(home)
        client = home.client()
        sign_in(client, home, "Adv. Wanjiru")
        page = client.get("/watchlists")
        assert page.status_code == 200
        text = page.text
        assert "seizure-suspects.csv" in text
        assert "2026-12-01T08:00:07+00:00" in text  # the new hit and when it was found
        assert "Q-2" in text
        assert "Q-1" not in text  # already reported by 'spoor watch hits'
        assert "1 new hit<" in text
        assert "th-dnp" in text
        assert "Failed" in text

    def test_earlier_hits_on_request(self, home: ConsoleHome) -> None:
        """Asking for earlier hits adds the reported one, marked as not new."""
        standing_watchlist(home)
        client = home.client()
        sign_in(client, home, "Adv. Wanjiru")
        text = client.get("/watchlists?all=1").text
        assert "Q-1" in text
        assert "2026-11-30T08:00:05+00:00" in text
        assert text.count('class="state state-pending">new<') == 1

    def test_counterpart_and_case_text_is_escaped(self, home: ConsoleHome) -> None:
        """A counterpart's reason and the case reference are shown as text, never as markup."""
        standing_watchlist(home)
        client = home.client()
        sign_in(client, home, "Adv. Wanjiru")
        text = client.get("/watchlists").text
        assert WATCH_XSS not in text
        assert "counterpart said &lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in text
        assert "KE-IVORY-7 &lt;img" in text

    def test_reading_the_page_leaves_hits_new_for_the_command_line(self, home: ConsoleHome) -> None:
        """Looking at hits in the console does not take them from 'spoor watch hits'."""
        standing_watchlist(home)
        client = home.client()
        sign_in(client, home, "Adv. Wanjiru")
        client.get("/watchlists")
        fresh = watch_store.unreported_hits(home.node.conn, WATCH_ID, "cli")
        assert [h.record_id for h in fresh] == ["Q-2"]

    def test_no_watchlist_says_how_to_add_one(self, home: ConsoleHome) -> None:
        """Without watchlists the page points at 'spoor watch add'."""
        client = home.client()
        sign_in(client, home, "Adv. Wanjiru")
        assert "spoor watch add" in client.get("/watchlists").text

    def test_needs_a_signed_in_officer(self, home: ConsoleHome) -> None:
        """The page, like every other, redirects to the sign-in page without a session."""
        assert home.client().get("/watchlists").status_code == 303
