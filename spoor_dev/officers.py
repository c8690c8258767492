"""Officers for the demo and end-to-end tests: enrol through the CLI, sign in by env.

``spoor officers add`` prints the TOTP secret once; these helpers keep it so
later commands can pass the password and a fresh code the way automation does
(``SPOOR_OFFICER_PASSWORD`` / ``SPOOR_OFFICER_TOTP``), never on the command line.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pyotp

DEMO_PASSWORD = "demo only: not a real password"  # noqa: S105 demo homes only
_SECRET = re.compile(r"TOTP secret: ([A-Z2-7]+)")


@dataclass
class OfficerKeys:
    """TOTP secrets of the officers enrolled here, and how many codes each has used."""

    password: str = DEMO_PASSWORD
    secrets: dict[str, str] = field(default_factory=dict)
    last_step: dict[str, int] = field(default_factory=dict)

    def enrol(self, run: Callable[..., str], name: str, role: str, home: str) -> str:
        """Run ``spoor officers add`` and keep the secret it printed."""
        out = run(
            "officers", "add", name, "--role", role, "--home", home,
            env={"SPOOR_OFFICER_PASSWORD": self.password},
        )  # fmt: skip
        found = _SECRET.search(out)
        if found is None:
            raise RuntimeError(f"'spoor officers add' printed no TOTP secret:\n{out}")
        self.secrets[name] = found.group(1)
        return out

    def env(self, name: str) -> dict[str, str]:
        """Password and a code of a time step not used before (waits when both are spent).

        A code is accepted once and one step of clock drift either way, so an
        officer signs in at most twice within one 30-second step.
        """
        now_step = int(time.time()) // 30
        step = max(now_step, self.last_step.get(name, now_step - 1) + 1)
        if step > now_step + 1:
            time.sleep(max((step - 1) * 30 - time.time() + 0.5, 0))
        self.last_step[name] = step
        code = pyotp.TOTP(self.secrets[name]).at(step * 30)
        return {"SPOOR_OFFICER_PASSWORD": self.password, "SPOOR_OFFICER_TOTP": code}
