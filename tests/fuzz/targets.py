"""Fuzz targets: a strategy and a check for each surface a hostile party can reach.

Each target's ``check`` raises ``AssertionError`` (a finding) when the code
under test does something no input should make it do: an unhandled
exception, an INTERNAL status, a crashed PSI worker, a lost result for an
honest peer, an internal error inside the policy loader. Expected refusals
(INVALID_ARGUMENT, MalformedPsiMessage, a PolicyError naming a line, ...)
pass. The same targets run in the test suite (a short smoke, ``-m fuzz``) and
for as long as asked by ``bench/fuzz.py``.
"""

from __future__ import annotations

import copy
import json
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
import grpc_testing
import private_set_intersection.python as psi
import yaml
from hypothesis import strategies as st
from spoor.federation.v1 import federation_pb2 as pb

from node import store
from node.app.config import load_config
from node.app.home import NodeHome
from node.app.policy_holder import PolicyHolder
from node.disclosure import DisclosureResponder
from node.match.context import request_context
from node.match.requester import RowResult, run_match
from node.match.responder import CAPABILITIES, PROTOCOL_VERSION, Responder
from node.peers import Peer
from node.psi import PSI_PROTOCOL_VERSION, MalformedPsiMessage, PsiPool, PsiWorkerFailed
from node.psi import client as psi_client
from node.psi.messages import parse_setup
from node.psi.server import process
from node.records.io import read_records
from node.records.keys import KEY_SCHEME_VERSION, derive_keys
from node.rpc.channels import PeerMatchChannel
from node.rpc.client import PeerClient
from node.rpc.servicer import FederationServicer, NodeIdentity
from policy.errors import PolicyError
from policy.loader import load_sources
from tests.fuzz import strategies as fz

ROOT = Path(__file__).resolve().parents[2]
CORPUS = Path(__file__).resolve().parent / "corpus"
SERVICE = pb.DESCRIPTOR.services_by_name["FederationService"]
HELD_KEYS = [
    f"v{KEY_SCHEME_VERSION}|phone|+84912345678",
    f"v{KEY_SCHEME_VERSION}|container|MSCU1234566",
]
QUERY_KEYS = [*HELD_KEYS, f"v{KEY_SCHEME_VERSION}|phone|+258841234567"]
DIGEST = "ab" * 32
HELD_RECORDS: list[dict[str, object]] = [
    {
        "record_id": "KE-1",
        "kind": "person",
        "subject_category": "suspect",
        "names": ["Nguyễn Văn Hùng"],
        "date_of_birth": "1979-03-02",
        "phones": ["+84 91 234 5678"],
        "country": "VN",
        "review_date": "2031-01-01",
        "case_reference": "KWS/1",
    },
    {
        "record_id": "KE-2",
        "kind": "shipment",
        "containers": ["MSCU 123456-6"],
        "review_date": "2031-01-01",
        "case_reference": "KWS/2",
    },
]
POLICY_DIR = ROOT / "tests" / "disclosure" / "data" / "policy"
# Statuses a servicer may answer a hostile request with; anything else is a finding.
ACCEPTED_CODES = frozenset(
    {
        grpc.StatusCode.OK,
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.FAILED_PRECONDITION,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.DEADLINE_EXCEEDED,
    }
)


class _Caller:
    """Stands in for mutual TLS: the caller is always the configured peer."""

    def identify(self, context: grpc.ServicerContext) -> str:
        return "vn-customs"


@dataclass
class Target:
    """One fuzz target: what to draw and what must hold for every draw."""

    name: str
    strategy: st.SearchStrategy[Any]
    #: Raises AssertionError for a finding; returns a label for the outcome (for statistics).
    check: Callable[[Any], str]
    #: Label prefixes of outcomes that got past every refusal (kept in the corpus).
    deep_outcomes: tuple[str, ...] = ()

    def deep(self, label: str) -> bool:
        return label.startswith(self.deep_outcomes) if self.deep_outcomes else False


class Harness:
    """The nodes, pools and files the targets run against (built once per run)."""

    def __init__(self, workdir: Path) -> None:
        from tests.conftest import responder_with_peer

        self._stack = ExitStack()
        self.workdir = workdir
        self.pool = self._stack.enter_context(PsiPool(max_workers=1, timeout_s=20))
        self.home = NodeHome(responder_with_peer(workdir / "nodes", HELD_RECORDS)["ke-kws"])
        self.server = self._servicer()
        self.session = psi_client.start(QUERY_KEYS, reveal=True)
        honest = process(HELD_KEYS, self.session.request_bytes, reveal=True)
        self.setup_bytes = honest.setup_bytes
        self.response_bytes = honest.response_bytes
        self.requester_db = store.open_store(workdir / "requester.db")
        self._stack.callback(self.requester_db.close)
        self.files = workdir / "files"
        self.files.mkdir()

    def close(self) -> None:
        self._stack.close()

    def _servicer(self) -> Any:
        config = load_config(self.home)
        config.limits.max_elements_per_peer_per_day = 10**12
        policies = PolicyHolder(self.home.root / "policy", self.home.db_path)
        policies.load_initial()
        responder = Responder(config, self.home.db_path, policies, self.pool)
        disclosure = DisclosureResponder(config, self.home.db_path, policies)
        identity = NodeIdentity("ke-kws", "KE", "fuzz", config.limits.max_elements_per_request)
        servicer = FederationServicer(identity, responder, _Caller(), disclosure)  # type: ignore[arg-type]
        return grpc_testing.server_from_dictionary(
            {SERVICE: servicer}, grpc_testing.strict_real_time()
        )

    # -- every RPC request through the servicer ---------------------------------------

    def rpc_templates(self) -> dict[str, Any]:
        session = psi_client.start(QUERY_KEYS, reveal=True)
        match = pb.MatchRequest(
            protocol_version=PROTOCOL_VERSION,
            key_scheme_version=KEY_SCHEME_VERSION,
            psi_protocol_version=PSI_PROTOCOL_VERSION,
            purpose="criminal_investigation",
            legal_basis="CITES-Art-VIII",
            case_reference="VNC/2026/0147",
            requesting_officer="Capt. Tran",
            reveal_mode=pb.REVEAL_MODE_INTERSECTION,
            psi_request=session.request_bytes,
            request_id="3f1c8a52-5d0e-4a51-9d69-2a7de1c0b001",
            key_types=["phone", "container"],
        )
        disclose = pb.DiscloseRequest(
            protocol_version=PROTOCOL_VERSION,
            key_scheme_version=KEY_SCHEME_VERSION,
            request_id="3f1c8a52-5d0e-4a51-9d69-2a7de1c0b002",
            match_keys=HELD_KEYS,
            purpose="criminal_investigation",
            legal_basis="CITES-Art-VIII",
            case_reference="VNC/2026/0147",
            requesting_officer="Capt. Tran",
            justification="Linked to a seizure.",
            requested_fields=["identity"],
        )
        return {
            "Describe": pb.DescribeRequest(),
            "Match": match,
            "Disclose": disclose,
            "GetDisclosure": pb.GetDisclosureRequest(disclosure_id=str(uuid.uuid4())),
        }

    def rpc_target(self) -> Target:
        templates = self.rpc_templates()
        requests = st.one_of(
            *(
                st.tuples(st.just(name), st.one_of(fz.near(template), fz.message(template)))
                for name, template in templates.items()
            )
        )

        def check(drawn: tuple[str, Any]) -> str:
            method, request = drawn
            rpc = self.server.invoke_unary_unary(SERVICE.methods_by_name[method], (), request, 30)
            _, _, code, details = rpc.termination()
            assert code in ACCEPTED_CODES, f"{method} answered {code.name}: {details}"
            assert len(details or "") < 4096, f"{method} echoed {len(details)} characters"
            return f"{method} {code.name}"

        return Target("rpc", requests, check, ("Match OK", "Disclose OK", "GetDisclosure OK"))

    # -- counterpart setups and responses on the requester ----------------------------

    def setup_target(self) -> Target:
        gcs = st.builds(
            _gcs_setup,
            st.integers(-2, 70),
            st.one_of(st.integers(-5, 2**20), st.integers(-(2**63), 2**63 - 1)),
            st.one_of(st.binary(max_size=256), fz.mutated_bytes(self._honest_bits())),
        )
        setups = st.one_of(
            st.just(self.setup_bytes),
            fz.mutated_bytes(self.setup_bytes),
            gcs,
            fz.message(psi.ServerSetup).map(lambda m: m.SerializeToString()),
        )
        responses = st.one_of(
            st.just(self.response_bytes),
            fz.mutated_bytes(self.response_bytes),
            fz.message(psi.Response).map(lambda m: m.SerializeToString()),
        )

        def check(drawn: tuple[bytes, bytes]) -> str:
            setup, response = drawn
            session = copy.copy(self.session)
            try:
                inline: MalformedPsiMessage | None = None
                parse_setup(setup, client_count=session.element_count)
            except MalformedPsiMessage as exc:
                inline = exc
            try:
                result = session.finish(setup, response, pool=self.pool)
            except MalformedPsiMessage as exc:
                return f"refused {exc.field}"
            except PsiWorkerFailed as exc:
                raise AssertionError(f"a validated setup killed the worker: {exc.reason}") from exc
            assert inline is None, f"the worker accepted a setup refused inline: {inline}"
            assert result.indices is not None
            assert all(0 <= i < len(QUERY_KEYS) for i in result.indices)
            return f"intersected ({result.count} hits)"

        return Target("setup", st.tuples(setups, responses), check, ("intersected",))

    def _honest_bits(self) -> bytes:
        setup = psi.ServerSetup()
        setup.ParseFromString(self.setup_bytes)
        return bytes(setup.gcs.bits)

    # -- Describe and Match answers on the requester ----------------------------------

    def describe_target(self) -> Target:
        describe = fz.near(_honest_description("mz-pgr"))
        reply = fz.near(pb.MatchResponse(policy_digest=DIGEST, budget_remaining=1000))

        def check(drawn: tuple[Any, Any]) -> str:
            hostile = _Stub("mz-pgr", _set_fields(drawn[0]), _set_fields(drawn[1]))
            honest = _Stub("ke-kws", {}, {})
            stubs = {s.agency_id: s for s in (hostile, honest)}
            rows = [
                RowResult(i, f"R-{i}", "person", {k: k.split("|")[1]})
                for i, k in enumerate(QUERY_KEYS, 1)
            ]
            purpose = request_context(
                requester="vn-customs",
                now=datetime.now(UTC),
                purpose="criminal_investigation",
                legal_basis="CITES-Art-VIII",
                case_reference="C/1",
                officer="Capt. T",
            )
            report = run_match(
                self.requester_db,
                rows,
                dict.fromkeys(stubs, purpose),
                lambda agency: PeerMatchChannel(_client(stubs[agency], self.pool)),
            )
            outcome = {p.agency_id: p for p in report.peers}
            assert outcome["ke-kws"].error is None, outcome["ke-kws"].error
            assert outcome["ke-kws"].hits == len(HELD_KEYS)
            error = outcome["mz-pgr"].error or ""
            assert len(error) < 4096, f"a counterpart's error grew to {len(error)} characters"
            return "refused" if error else f"matched ({outcome['mz-pgr'].hits} hits)"

        return Target("describe", st.tuples(describe, reply), check, ("matched",))

    # -- record files -----------------------------------------------------------------

    def records_target(self) -> Target:
        names = [
            *("record_id", "kind", "names", "phones", "containers", "documents"),
            *("date_of_birth", "review_date", "subject_category", "species", "country"),
        ]
        keys = st.one_of(st.sampled_from(names), fz.HOSTILE_TEXT, st.text(max_size=10))
        values = fz.json_values()
        jsonl = st.lists(
            st.one_of(
                st.dictionaries(keys, values, max_size=8).map(
                    lambda d: json.dumps(d, ensure_ascii=False)
                ),
                fz.TEXT,
            ),
            max_size=6,
        ).map(lambda lines: ("jsonl", "\n".join(lines)))
        csv_text = st.tuples(
            st.lists(keys, min_size=1, max_size=6),
            st.lists(st.lists(fz.TEXT, max_size=6), max_size=5),
        ).map(lambda t: ("csv", _csv(t[0], t[1])))
        files = st.one_of(jsonl, csv_text)

        def check(drawn: tuple[str, str]) -> str:
            fmt, text = drawn
            path = self.files / f"query.{fmt}"
            path.write_text(text, encoding="utf-8", errors="surrogatepass")
            result = read_records(path, fmt=fmt)
            for record in result.records:
                derive_keys(record)
            for error in result.errors:
                assert len(str(error)) < 20_000
            return f"{fmt}: {min(len(result.records), 1)}+ records, {len(result.errors)} errors"

        return Target("records", files, check, ("csv: 1+", "jsonl: 1+"))

    # -- the policy loader ------------------------------------------------------------

    def policy_target(self) -> Target:
        sources = sorted((p.name, p.read_text(encoding="utf-8")) for p in POLICY_DIR.glob("*.yaml"))
        index = st.integers(0, len(sources) - 1)

        def text_mutation(i: int) -> st.SearchStrategy[tuple[int, str]]:
            original = sources[i][1].encode("utf-8")
            return fz.mutated_bytes(original).map(
                lambda b: (i, b.decode("utf-8", errors="replace"))
            )

        @st.composite
        def yaml_mutation(draw: st.DrawFn, i: int) -> tuple[int, str]:
            return i, _yaml_mutation(sources[i][1], draw)

        mutated = st.one_of(index.flatmap(yaml_mutation), index.flatmap(text_mutation))

        def check(drawn: tuple[int, str]) -> str:
            which, text = drawn
            files = [(n, text if i == which else t) for i, (n, t) in enumerate(sources)]
            try:
                load_sources(files)
            except PolicyError as exc:
                message = str(exc)
                assert "internal error while loading" not in message, message[:2000]
                return "refused"
            return "loaded"

        return Target("policy", mutated, check, ("loaded",))

    def targets(self) -> list[Target]:
        return [
            self.rpc_target(),
            self.setup_target(),
            self.describe_target(),
            self.records_target(),
            self.policy_target(),
        ]


def _gcs_setup(div: int, hash_range: int, bits: bytes) -> bytes:
    setup = psi.ServerSetup()
    setup.gcs.div = div
    setup.gcs.hash_range = hash_range
    setup.gcs.bits = bits
    data: bytes = setup.SerializeToString()
    return data


def _csv(header: list[str], rows: list[list[str]]) -> str:
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def _yaml_mutation(text: str, draw: st.DrawFn) -> str:
    """The YAML document with one node replaced, removed or added."""
    document = yaml.safe_load(text)
    paths = list(_paths(document))
    path = draw(st.sampled_from(paths))
    action = draw(st.sampled_from(["replace", "remove", "add"]))
    value = draw(fz.json_values())
    parent: Any = document
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1] if path else None
    if last is None:
        document = value
    elif action == "replace":
        parent[last] = value
    elif action == "remove":
        del parent[last]
    elif isinstance(parent, dict):
        parent[draw(fz.HOSTILE_TEXT)] = value
    else:
        parent.insert(int(last), value)
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _paths(value, (*prefix, i))


def _honest_description(agency: str) -> pb.DescribeResponse:
    return pb.DescribeResponse(
        agency_id=agency,
        country="KE",
        protocol_version=PROTOCOL_VERSION,
        key_scheme_version=KEY_SCHEME_VERSION,
        capabilities=list(CAPABILITIES),
        policy_digest=DIGEST,
        max_elements_per_request=20_000,
        software_version="fuzz",
    )


def _set_fields(message: Any) -> dict[str, Any]:
    return {f.name: value for f, value in message.ListFields()}


class _Stub:
    """A counterpart's service: honest PSI, with the drawn fields of its answers replaced."""

    def __init__(self, agency_id: str, describe: dict[str, Any], reply: dict[str, Any]) -> None:
        self.agency_id = agency_id
        self.describe = describe
        self.reply = reply

    def Describe(self, request: Any, **_: Any) -> pb.DescribeResponse:
        answer = _honest_description(self.agency_id)
        for name, value in self.describe.items():
            answer.ClearField(name)
            fz._assign(answer, answer.DESCRIPTOR.fields_by_name[name], _plain(value))
        return answer

    def Match(self, request: pb.MatchRequest, **_: Any) -> pb.MatchResponse:
        reveal = request.reveal_mode == pb.REVEAL_MODE_INTERSECTION
        result = process(HELD_KEYS, request.psi_request, reveal=reveal)
        answer = pb.MatchResponse(
            server_setup=result.setup_bytes,
            psi_response=result.response_bytes,
            setup_digest=result.setup_digest,
            reveal_mode=request.reveal_mode,
            psi_protocol_version=PSI_PROTOCOL_VERSION,
            policy_digest=DIGEST,
            elements_charged=result.elements_in_request,
            budget_remaining=1000,
        )
        for name, value in self.reply.items():
            answer.ClearField(name)
            fz._assign(answer, answer.DESCRIPTOR.fields_by_name[name], _plain(value))
        return answer


def _plain(value: Any) -> Any:
    # Repeated fields come back from ListFields as containers; copy them out.
    return list(value) if hasattr(value, "extend") else value


class _Channel:
    def close(self) -> None:
        return None


def _client(stub: _Stub, pool: PsiPool) -> PeerClient:
    client = object.__new__(PeerClient)
    client.peer = Peer(stub.agency_id, "127.0.0.1:9", "", "KE", "2026-01-01T00:00:00Z")
    client._verified = True
    client.deadline = 10.0
    client.metadata = ()
    client.channel = _Channel()  # type: ignore[assignment]
    client.stub = stub  # type: ignore[assignment]
    return client


def make_harness() -> tuple[Harness, tempfile.TemporaryDirectory[str]]:
    """A harness in a fresh temporary directory (the caller closes both)."""
    tmp = tempfile.TemporaryDirectory(prefix="spoor-fuzz-")
    return Harness(Path(tmp.name)), tmp
