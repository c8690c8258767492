"""Standing watchlists: a file of rows re-matched against counterparts on a schedule.

A watchlist is added once with everything a match needs (purpose, legal
basis, case, officer), re-matched by the running node every ``--every``
period within each counterpart's budget, and reports only hits it has not
reported before: on the command line (``spoor watch hits``) and, when a
webhook is configured, by POSTing them as JSON. Every run is a match like
any other, audited with its match id; a skipped run is audited with its reason.
"""

from __future__ import annotations
