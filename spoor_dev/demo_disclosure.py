"""Step 8 of the demo: the governed follow-up after a hit.

Viet Nam Customs asks KWS for the details behind its hits: the shipment is
released at once, the suspects wait for a KWS legal officer. A request that
could support a capital charge without an assurance is refused by the baseline
guard. PGR asks for evidence for a prosecution, which KWS's policy releases
only after two different officers approve.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import TYPE_CHECKING

from rich.table import Table

from node import store
from node.store import matches

if TYPE_CHECKING:
    from spoor_dev.demo import Demo


def latest_match(home: Path, peer: str) -> str:
    with store.opened(home / "node.db", check_schema=False) as conn:
        match_id = matches.latest(conn, peer)
    if match_id is None:
        raise RuntimeError(f"no match with {peer} stored in {home}")
    return match_id


def show_export(demo: Demo, path: Path) -> None:
    """The exported rows, with the conditions that travel with each one."""
    table = Table(title=f"{path.name}: every row carries its handling conditions")
    columns = (
        "your_record_id",
        "handling_code",
        "use_limited_to_case",
        "onward_transfer",
        "judicial_use",
        "retain_until",
        "names",
        "year_of_birth",
        "containers",
        "quantity",
    )
    for column in columns:
        table.add_column(column.replace("_", " "), overflow="fold")
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            cells = [row.get(c, "") for c in columns]
            cells[5] = cells[5][:10]
            table.add_row(*(c.strip('[]"') for c in cells))
    demo.console.print(table)


def pending_tickets(demo: Demo, agency: str) -> list[dict[str, object]]:
    out = demo.spoor("approvals", "list", "--home", demo.home(agency), "--json", show=False)
    data = json.loads(out)
    tickets = data["tickets"] if isinstance(data, dict) else data
    return [t for t in tickets if isinstance(t, dict)]


def disclosure_step(demo: Demo) -> None:
    vn, kws, pgr = demo.home("vn-customs"), demo.home("ke-kws"), demo.home("mz-pgr")
    demo.step(
        "8. Governed follow-up: from hit to released details",
        "Viet Nam Customs asks KWS for the details behind its hits, with a justification and "
        "the potential charges. KWS's policy decides per record: the shipment is released at "
        "once with its handling conditions; the suspects wait for a KWS legal officer.",
    )
    match_id = latest_match(Path(vn), "ke-kws")
    demo.spoor(
        "disclose",
        "request",
        "--home",
        vn,
        "--match",
        match_id,
        "--row",
        "1",
        "--row",
        "7",
        "--justification",
        "Suspect and container tied to the Hai Phong pangolin-scale seizure",
        "--charge",
        "wildlife_trafficking",
        "--fields",
        "identity,date_of_birth,nationality,documents,shipment,route,species,seizure",
    )
    demo.console.print("\n[bold]At KWS, a legal officer reviews the ticket.[/bold]")
    demo.spoor("approvals", "list", "--home", kws)
    for ticket in pending_tickets(demo, "ke-kws"):
        demo.spoor(
            "approvals",
            "approve",
            str(ticket["ticket_id"]),
            "--home",
            kws,
            "--officer",
            "Adv. Njeri Wambui",
            env=demo.officers.env("Adv. Njeri Wambui"),
        )
    demo.console.print("\n[bold]Viet Nam Customs fetches what was released and exports it.[/bold]")
    demo.spoor("disclose", "fetch", "--home", vn)
    export = demo.work / "vn-customs-released.csv"
    demo.spoor("disclose", "export", "--home", vn, "--format", "csv", "--out", str(export))
    show_export(demo, export)

    demo.step(
        "8b. A refusal: possible capital charge without an assurance",
        "The same suspect, but now for drug trafficking, which carries the death penalty in "
        "Viet Nam. No assurance covering direct and indirect use is cited, so the baseline "
        "guard refuses — the requester sees only the safe reason code.",
    )
    demo.spoor(
        "disclose",
        "request",
        "--home",
        vn,
        "--match",
        match_id,
        "--row",
        "1",
        "--justification",
        "Suspected heroin shipments alongside the ivory route",
        "--charge",
        "drug_trafficking",
        "--fields",
        "identity,documents",
    )
    demo.console.print("\n[bold]KWS's legal officer can see which guard decided:[/bold]")
    out = demo.spoor(
        "policy",
        "explain",
        "--home",
        kws,
        "--record-id",
        "KWS-P-0101",
        *_vn_request_to_kws(),
        "--charge",
        "drug_trafficking",
        "--field",
        "identity",
        "--field",
        "documents",
        show=False,
        check=False,
    )
    demo.console.print(
        "\n".join(
            line
            for line in out.splitlines()
            if "FIRES" in line or "Decision" in line or line.startswith("Reason code")
        ),
        markup=False,
        soft_wrap=True,
    )

    demo.step(
        "8c. Two officers: evidence for a prosecution in Mozambique",
        "PGR matches its accused against KWS for a prosecution and asks for the evidence. "
        "KWS's policy requires a legal officer and the head of unit — two different people.",
    )
    demo.spoor(
        "match",
        "--home",
        pgr,
        str(_demo_file("mz-pgr/arguidos.csv")),
        "--map-file",
        str(_demo_file("mz-pgr/arguidos.map.yaml")),
        "--peer",
        "ke-kws",
        "--purpose",
        "prosecution",
        "--legal-basis",
        "UNTOC-Art-18",
        "--case",
        "PGR-MPT/2025/311",
        "--officer",
        "Dra. Ana Macuácua",
    )
    demo.spoor(
        "disclose",
        "request",
        "--home",
        pgr,
        "--match",
        latest_match(Path(pgr), "ke-kws"),
        "--justification",
        "Evidence for the trial of the Tembe network in Maputo",
        "--charge",
        "wildlife_trafficking",
        "--charge",
        "money_laundering",
        "--fields",
        "identity,date_of_birth,nationality,documents,case",
    )
    tickets = pending_tickets(demo, "ke-kws")
    if tickets:
        first = str(tickets[0]["ticket_id"])
        demo.spoor(
            "approvals", "approve", first, "--home", kws, "--officer", "Adv. Njeri Wambui",
            env=demo.officers.env("Adv. Njeri Wambui"),
        )  # fmt: skip
        demo.console.print("[dim]The same officer cannot give the second approval:[/dim]")
        demo.spoor(
            "approvals",
            "approve",
            first,
            "--home",
            kws,
            "--officer",
            "Adv. Njeri Wambui",
            check=False,
            env=demo.officers.env("Adv. Njeri Wambui"),
        )
        for ticket in tickets:
            tid = str(ticket["ticket_id"])
            if tid != first:
                demo.spoor(
                    "approvals", "approve", tid, "--home", kws, "--officer", "Adv. Njeri Wambui",
                    env=demo.officers.env("Adv. Njeri Wambui"),
                )  # fmt: skip
            demo.spoor(
                "approvals",
                "approve",
                tid,
                "--home",
                kws,
                "--officer",
                "Col. Peter Otieno",
                env=demo.officers.env("Col. Peter Otieno"),
            )
    demo.spoor("disclose", "status", "--home", pgr)


def _demo_file(name: str) -> Path:
    from spoor_dev.demo import DEMO_DATA

    return DEMO_DATA / name


def _vn_request_to_kws() -> tuple[str, ...]:
    from spoor_dev.demo import VN_REQUEST_TO_KWS

    return VN_REQUEST_TO_KWS
