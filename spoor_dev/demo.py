"""The demo federation: three agencies on this machine, real nodes, real matches.

Kenya Wildlife Service, Viet Nam Customs and Mozambique's prosecutor's office
(PGR) each run a node with their own CA, policy and records — written in
Vietnamese, Chinese, Cyrillic, Thai and Arabic scripts, with phone numbers,
container numbers and company names typed the way each agency types them —
plus a few thousand synthetic background records each. The script runs the
``spoor`` command exactly as an operator, analyst and legal officer would.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from rich.console import Console
from rich.panel import Panel

from spoor_dev import generate
from spoor_dev.demo_disclosure import disclosure_step
from spoor_dev.federation import Agency, Federation, run_spoor_full
from spoor_dev.officers import OfficerKeys

ROOT = Path(__file__).resolve().parent.parent
DEMO_DATA = ROOT / "deploy" / "demo"
POLICIES = ROOT / "deploy" / "policies"

AGENCIES = (
    Agency("ke-kws", "KE", "Kenya Wildlife Service"),
    Agency("vn-customs", "VN", "General Department of Viet Nam Customs"),
    Agency("mz-pgr", "MZ", "Procuradoria-Geral da República de Moçambique"),
)

# (file, column map or None) per agency, as each agency keeps its records.
SHOWCASE: dict[str, list[tuple[str, str | None]]] = {
    "ke-kws": [
        ("ke-kws/persons-register.csv", "ke-kws/persons-register.map.yaml"),
        ("ke-kws/seizures.xlsx", None),
    ],
    "vn-customs": [("vn-customs/case-VNC-2026-0147.jsonl", None)],
    "mz-pgr": [
        ("mz-pgr/arguidos.csv", "mz-pgr/arguidos.map.yaml"),
        ("mz-pgr/shipments.jsonl", None),
    ],
}
# KWS officers who decide disclosure tickets, and their roles.
KWS_OFFICERS = (("Adv. Njeri Wambui", "legal_officer"), ("Col. Peter Otieno", "head_of_unit"))

# Viet Nam Customs' request to KWS, as KWS's legal officer replays it with 'policy explain'.
VN_REQUEST_TO_KWS = (
    "--requester",
    "vn-customs",
    "--purpose",
    "criminal_investigation",
    "--legal-basis",
    "KE-VN-MoU-2024",
    "--case-reference",
    "VNC/2026/0147",
    "--officer",
    "Capt. Tran Quoc Bao",
)
BACKGROUND_PREFIX = {"ke-kws": "KWS", "vn-customs": "VNC", "mz-pgr": "PGR"}


class Demo:
    """Runs the demo narrative step by step."""

    def __init__(self, root: Path, background: int, console: Console) -> None:
        self.root = root
        self.background = background
        self.console = console
        self.federation = Federation(root, AGENCIES)
        self.work = root / "_files"
        self.officers = OfficerKeys()

    def home(self, agency_id: str) -> str:
        return str(self.federation.home(agency_id))

    def step(self, title: str, text: str = "") -> None:
        self.console.print()
        self.console.print(Panel(text or title, title=f"[bold]{title}", expand=True))

    def spoor(
        self, *args: str, show: bool = True, check: bool = True, env: dict[str, str] | None = None
    ) -> str:
        """Run a ``spoor`` command as a user would, echoing it and (if ``show``) its output."""
        if show:
            self.console.print(f"[dim]$ spoor {' '.join(args)}[/dim]")
        result = run_spoor_full(
            args, check=check, env={"COLUMNS": "180", "NO_COLOR": "1", **(env or {})}
        )
        if show:
            for text in (result.stdout, result.stderr if result.returncode else ""):
                if text.strip():
                    self.console.print(text.rstrip(), markup=False, highlight=False, soft_wrap=True)
            if result.returncode:
                self.console.print(f"[dim](exit {result.returncode})[/dim]")
        return result.stdout

    # -- set-up -------------------------------------------------------------

    def create(self) -> None:
        self.step(
            "1. Three agencies set up their nodes",
            "Each agency runs 'spoor init' (own CA, node certificate with its agency id in the "
            "URI SAN, SQLite database), pins the other two agencies' CAs with 'spoor peers add', "
            "installs the release policy its legal officers wrote (deploy/policies/), and "
            "registers the officers who may decide disclosure tickets.",
        )
        self.federation.create()
        for agency in AGENCIES:
            self.federation.install_policy(agency.agency_id, POLICIES / agency.agency_id)
            self.spoor("policy", "check", str(self.federation.home(agency.agency_id) / "policy"))
        self.spoor("peers", "list", "--home", self.home("vn-customs"))
        for name, role in KWS_OFFICERS:
            self.officers.enrol(self.spoor, name, role, self.home("ke-kws"))

    def import_records(self) -> None:
        self.step(
            "2. Each agency imports its records, in its own formats and scripts",
            "KWS: a CSV case register with English headers (column map) and an Excel seizure "
            "log. Viet Nam Customs: JSON Lines with names in Vietnamese, Chinese, Cyrillic, Thai "
            f"and Arabic script. PGR: a CSV with Portuguese headers and JSON Lines. Plus "
            f"{self.background} synthetic background records per agency.",
        )
        self.work.mkdir(parents=True, exist_ok=True)
        # KWS keeps its seizure log in a spreadsheet.
        seizures = [
            json.loads(line)
            for line in (DEMO_DATA / "ke-kws" / "seizures.jsonl").read_text("utf-8").splitlines()
            if line.strip()
        ]
        (self.work / "ke-kws").mkdir(exist_ok=True)
        generate.write(self.work / "ke-kws" / "seizures.xlsx", (_flatten(r) for r in seizures))
        for index, agency in enumerate(AGENCIES):
            home = self.home(agency.agency_id)
            for name, mapping in SHOWCASE[agency.agency_id]:
                path = self.work / name if (self.work / name).exists() else DEMO_DATA / name
                args = ["records", "import", "--home", home, str(path)]
                if mapping:
                    args += ["--map-file", str(DEMO_DATA / mapping)]
                self.spoor(*args)
            if self.background:
                bg = self.work / f"{agency.agency_id}-background.jsonl"
                generate.write(
                    bg,
                    generate.rows(
                        self.background,
                        seed=100 + index,
                        agency=BACKGROUND_PREFIX[agency.agency_id],
                        country=agency.country,
                    ),
                )
                self.spoor("records", "import", "--home", home, str(bg))

    def start(self) -> None:
        self.step(
            "3. The nodes start",
            "'spoor serve' on 127.0.0.1 with mutual TLS; health reports SERVING once the store, "
            "configuration and policy are loaded.",
        )
        started = time.monotonic()
        self.federation.start()
        for node in self.federation.nodes.values():
            self.console.print(f"  {node.agency.agency_id:<11} SERVING on {node.address}")
        self.console.print(f"  [dim]all nodes up in {time.monotonic() - started:.1f}s[/dim]")

    # -- matching -------------------------------------------------------------

    def match_vn(self) -> None:
        self.step(
            "4. Viet Nam Customs checks its Hai Phong case against Kenya and Mozambique",
            "Each counterpart learns only how many keys were asked about; Viet Nam Customs "
            "learns which of its own rows they hold. The legal basis differs per counterpart. "
            "Hits here exist only because both sides normalize: 'Nguyễn Văn Hùng' = "
            "'HUNG NGUYEN VAN', '陈明华' = 'Chen Minghua', 'Сергей Иванов' = 'Sergei Ivanov', "
            "'สมชาย ใจดี' = 'Somchai Jaidee', '+84 91 234 5678' = '+84-912-345-678', "
            "'MSCU 123456-6' = 'mscu1234566', 'Tembe Trading, Lda.' = 'TEMBE TRADING LDA'. "
            "Row 5 gets no hit although KWS holds that man: his KWS record is past its review "
            "date, and the baseline guard keeps such records out of every match.",
        )
        self.spoor(
            "match",
            "--home",
            self.home("vn-customs"),
            str(DEMO_DATA / "vn-customs" / "case-VNC-2026-0147.jsonl"),
            "--peer",
            "ke-kws",
            "--peer",
            "mz-pgr",
            "--purpose",
            "criminal_investigation",
            "--legal-basis",
            "ke-kws=KE-VN-MoU-2024",
            "--legal-basis",
            "mz-pgr=CITES-Art-VIII",
            "--case",
            "VNC/2026/0147",
            "--officer",
            "Capt. Tran Quoc Bao",
        )

    def kept_out(self) -> None:
        self.step(
            "5. A record kept out of the match by policy",
            "Row 6 above is a number from a seized handset, '+254 722 000 111'. KWS holds that "
            "number — but on a witness. The baseline guard on protected persons keeps witnesses, "
            "victims and informants out of every match, so Viet Nam Customs got no hit and "
            "learned nothing. This is what KWS's legal officer sees when asking why:",
        )
        self.spoor(
            "policy",
            "explain",
            "--home",
            self.home("ke-kws"),
            "--stage",
            "participation",
            "--record-id",
            "KWS-P-0104",
            *VN_REQUEST_TO_KWS,
            check=False,
        )

    def match_kws(self) -> None:
        self.step(
            "6. KWS checks its register against Mozambique and Viet Nam",
            "'84 123 4567' typed in Maputo and '+258 84 123 4567' typed in Nairobi are the same "
            "phone. Policies differ by agency: Viet Nam Customs lets KWS match every record it "
            "holds for this purpose, so the handset contact of row 4 is a hit there.",
        )
        self.spoor(
            "match",
            "--home",
            self.home("ke-kws"),
            str(DEMO_DATA / "ke-kws" / "persons-register.csv"),
            "--map-file",
            str(DEMO_DATA / "ke-kws" / "persons-register.map.yaml"),
            "--peer",
            "mz-pgr",
            "--peer",
            "vn-customs",
            "--purpose",
            "criminal_investigation",
            "--legal-basis",
            "mz-pgr=UNTOC-Art-18",
            "--legal-basis",
            "vn-customs=KE-VN-MoU-2024",
            "--case",
            "KWS/IR/2025/311",
            "--officer",
            "Insp. Wanjiku Otieno",
        )

    def cardinality(self) -> None:
        self.step(
            "7. A cardinality-only preview",
            "PGR asks Viet Nam Customs only how many of its shipments match, not which.",
        )
        self.spoor(
            "match",
            "--home",
            self.home("mz-pgr"),
            str(DEMO_DATA / "mz-pgr" / "shipments.jsonl"),
            "--peer",
            "vn-customs",
            "--cardinality-only",
            "--purpose",
            "criminal_investigation",
            "--legal-basis",
            "UNTOC-Art-18",
            "--case",
            "PGR-MPT/2025/311",
            "--officer",
            "Dra. Ana Macuácua",
        )

    # -- accountability -------------------------------------------------------

    def audit(self) -> None:
        self.step(
            "9. Oversight: every node's audit trail verifies, and the cooperation figures",
            "Hash-chained entries on both sides, checkpoints signed with each node's key.",
        )
        for agency in AGENCIES:
            self.spoor("audit", "verify", "--home", self.home(agency.agency_id))
        for agency in AGENCIES:
            self.spoor("stats", "--home", self.home(agency.agency_id))

    def stop(self) -> None:
        codes = self.federation.stop()
        self.step(
            "10. The nodes drain and stop on SIGTERM",
            "  ".join(f"{a}: exit {c}" for a, c in codes.items())
            + f"\nEverything is kept in {self.root} — try "
            f"'.venv/bin/spoor records list --home {self.root}/ke-kws'.",
        )

    def run(self) -> None:

        self.create()
        (self.root / MARKER).touch()
        self.import_records()
        self.start()
        try:
            self.match_vn()
            self.kept_out()
            self.match_kws()
            self.cardinality()
            disclosure_step(self)
            self.audit()
        finally:
            self.stop()


def _flatten(record: dict[str, object]) -> dict[str, str]:
    """A JSON record as spreadsheet cells (lists joined with ';')."""
    out: dict[str, str] = {}
    for key, value in record.items():
        if key == "species" and isinstance(value, list):
            out[key] = "; ".join(str(v["scientific_name"]) for v in value if isinstance(v, dict))
        elif isinstance(value, list):
            out[key] = "; ".join(str(v) for v in value)
        else:
            out[key] = str(value)
    return out


MARKER = ".spoor-demo"


def run_demo(directory: Path, background: int) -> None:
    """Run the whole demo in ``directory`` (replaced if an earlier demo made it)."""
    if directory.exists() and any(directory.iterdir()) and not (directory / MARKER).exists():
        raise DemoDirectoryInUse(directory)
    demo = Demo(directory, background, Console(width=140))
    demo.run()


class DemoDirectoryInUse(Exception):
    """The chosen directory holds something the demo did not make."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        super().__init__(
            f"{directory} exists and was not made by the demo; nothing was changed — "
            "choose another --dir"
        )
