"""Standing watchlists in the console: each one's counterparts, their last run and new hits.

Read-only: runs are scheduled by the node (``[watch]``) or started with
``spoor watch run``; a hit stays new here until ``spoor watch hits`` shows it.
Every value (sources, case references, record ids, a counterpart's reasons)
is escaped by the templates.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from node.store import Connection
from node.store import watchlists as watch_store
from node.watch.schedule import show_every
from node.web.context import console_of, officer_of, render


@dataclass
class PeerView:
    """One counterpart of a watchlist: its last run and its hits (new ones first)."""

    peer: str
    last_run: watch_store.RunRow | None = None
    new_hits: list[watch_store.WatchHit] = field(default_factory=list)
    seen_hits: list[watch_store.WatchHit] = field(default_factory=list)


@dataclass
class WatchView:
    watch: watch_store.Watchlist
    every: str
    peers: list[PeerView]

    @property
    def new_count(self) -> int:
        return sum(len(p.new_hits) for p in self.peers)


def _view(conn: Connection, watch: watch_store.Watchlist) -> WatchView:
    peers = {p: PeerView(p) for p in watch.peers}
    for run in watch_store.runs(conn, watch.watch_id, limit=50 * max(1, len(watch.peers))):
        view = peers.setdefault(run.peer, PeerView(run.peer))
        if view.last_run is None:
            view.last_run = run
    for hit, fresh in watch_store.hits_with_state(conn, watch.watch_id):
        view = peers.setdefault(hit.peer, PeerView(hit.peer))
        (view.new_hits if fresh else view.seen_hits).append(hit)
    return WatchView(watch, show_every(watch.every_s), list(peers.values()))


async def watchlists_page(request: Request) -> Response:
    session, officer = officer_of(request)
    show_seen = request.query_params.get("all") == "1"
    with console_of(request).db() as conn:
        views = [_view(conn, w) for w in watch_store.all_watchlists(conn)]
    return render(
        request,
        "watchlists.html",
        session=session,
        officer=officer,
        watchlists=views,
        show_seen=show_seen,
    )


def routes() -> list[Route]:
    return [Route("/watchlists", watchlists_page)]
