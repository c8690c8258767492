"""The error catalogue: every domain error has an entry, and what a counterpart sees is safe."""

from __future__ import annotations

import ast
import gc
import importlib
import inspect
import pkgutil
from pathlib import Path

import grpc
import pytest
from google.rpc import error_details_pb2

import node
import policy
from node.app.config import ConfigError
from node.audit import EVENTS
from node.errors import InvalidRequest, SpoorError
from node.match.budget import BudgetExceeded
from node.records.normalize.errors import InvalidIdentifierError
from node.rpc.error_details import detail_templates, template_names
from node.rpc.errors import LOG_LEVELS, catalogue, classify, entry_for
from policy.errors import PolicyLanguageError

ROOTS: tuple[type[BaseException], ...] = (SpoorError, PolicyLanguageError)
REPO = Path(__file__).resolve().parents[1]


def _import_every_module() -> None:
    for package in (node, policy):
        for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            if not info.name.endswith("__main__"):  # running it would start the CLI
                importlib.import_module(info.name)


def _subclasses(cls: type[BaseException]) -> set[type[BaseException]]:
    found = {cls}
    for sub in cls.__subclasses__():
        found |= _subclasses(sub)
    return found


def domain_errors() -> list[type[BaseException]]:
    """Every error class under the two roots defined in the node or the policy package."""
    _import_every_module()
    classes = set().union(*(_subclasses(root) for root in ROOTS))
    return sorted(
        (c for c in classes if c.__module__.split(".")[0] in ("node", "policy")),
        key=lambda c: f"{c.__module__}.{c.__qualname__}",
    )


def missing_entries() -> list[str]:
    """Domain error classes the catalogue has no entry of their own for."""
    table = catalogue()
    return [f"{c.__module__}.{c.__qualname__}" for c in domain_errors() if c not in table]


def _declared(cls: type[BaseException]) -> tuple[str, ...]:
    fields: tuple[str, ...] = getattr(cls, "FIELDS", ())
    return fields


class TestEveryErrorHasAnEntry:
    def test_every_domain_error_is_catalogued(self) -> None:
        """Each SpoorError / PolicyLanguageError subclass in node/ and policy/ has an entry."""
        assert len(domain_errors()) > 30  # the walk really found the node's errors
        assert missing_entries() == []

    def test_a_new_error_without_an_entry_is_reported(self) -> None:
        """Adding an error class without a catalogue entry fails the check above."""

        class BrandNewRefusal(SpoorError):
            """An error someone forgot to catalogue."""

        BrandNewRefusal.__module__ = "node.example"
        BrandNewRefusal.__qualname__ = "BrandNewRefusal"
        try:
            assert missing_entries() == ["node.example.BrandNewRefusal"]
        finally:
            del BrandNewRefusal
            gc.collect()
        assert missing_entries() == []

    def test_node_errors_all_share_one_root(self) -> None:
        """Every exception class defined in node/ derives from SpoorError."""
        _import_every_module()
        stray = []
        for info in pkgutil.walk_packages(node.__path__, "node."):
            if info.name.endswith("__main__"):
                continue
            module = importlib.import_module(info.name)
            for name, obj in vars(module).items():
                if (
                    inspect.isclass(obj)
                    and issubclass(obj, BaseException)
                    and obj.__module__ == module.__name__
                    and not issubclass(obj, SpoorError)
                ):
                    stray.append(f"{module.__name__}.{name}")
        assert stray == []


class TestEntriesAreWellFormed:
    @pytest.mark.parametrize("cls", domain_errors(), ids=lambda c: c.__qualname__)
    def test_error_declares_its_constructor_fields(self, cls: type[BaseException]) -> None:
        """A class with its own constructor lists every argument in FIELDS, and nothing else."""
        owner = next(c for c in cls.__mro__ if "__init__" in vars(c))
        if owner.__module__ == "builtins":  # a root taking only a message
            assert _declared(cls) == ()
            return
        params = [p for p in inspect.signature(owner.__init__).parameters if p != "self"]
        assert sorted(_declared(cls)) == sorted(params)

    @pytest.mark.parametrize("cls", domain_errors(), ids=lambda c: c.__qualname__)
    def test_entry_shows_only_declared_public_fields(self, cls: type[BaseException]) -> None:
        """Templates name only fields marked public; logged and audited fields are declared."""
        entry = catalogue()[cls]
        declared = set(_declared(cls))
        assert set(entry.public) <= declared
        assert set(entry.logged) <= declared
        assert set(entry.audited) <= declared
        templates = [entry.message]
        if entry.detail is not None:
            templates.extend(detail_templates(entry.detail))
        for template in templates:
            assert template_names(template) <= {*entry.public, "request_id"}, template

    @pytest.mark.parametrize("cls", domain_errors(), ids=lambda c: c.__qualname__)
    def test_entry_has_a_known_level_and_event(self, cls: type[BaseException]) -> None:
        """Log levels are from the fixed set and audit events from the audit vocabulary."""
        entry = catalogue()[cls]
        assert entry.log in LOG_LEVELS
        assert entry.audit is None or entry.audit in EVENTS
        assert not entry.audited or entry.audit is not None
        if entry.code == grpc.StatusCode.INTERNAL:
            assert entry.traceback, "an internal failure is logged in full"


def _exits(path: Path) -> list[str]:
    """Places in a module that end the process or speak click (exit codes)."""
    found = []
    for item in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(item, ast.Import | ast.ImportFrom):
            names = [a.name for a in item.names]
            module = item.module if isinstance(item, ast.ImportFrom) else None
            if module == "click" or "click" in names:
                found.append(f"{path.name}:{item.lineno}: imports click")
        elif isinstance(item, ast.Attribute) and item.attr in ("exit", "_exit"):
            if isinstance(item.value, ast.Name) and item.value.id in ("sys", "os"):
                found.append(f"{path.name}:{item.lineno}: {item.value.id}.{item.attr}")
        elif isinstance(item, ast.Name) and item.id == "SystemExit":
            found.append(f"{path.name}:{item.lineno}: SystemExit")
    return found


class TestOnlyTheCliExits:
    def test_no_exit_codes_outside_the_cli(self) -> None:
        """Outside node/cli/ no module exits the process or raises click errors."""
        offenders = []
        for root in ("node", "policy"):
            for path in sorted((REPO / root).rglob("*.py")):
                if (REPO / "node" / "cli") not in path.parents:
                    offenders.extend(_exits(path))
        assert offenders == []

    def test_the_scan_sees_an_exit(self, tmp_path: Path) -> None:
        """The scan above reports sys.exit and click imports when they are there."""
        module = tmp_path / "m.py"
        module.write_text("import sys\nimport click\n\ndef f():\n    sys.exit(2)\n")
        assert _exits(module) == ["m.py:2: imports click", "m.py:5: sys.exit"]


class TestPublicMessages:
    def test_unknown_exception_is_internal_with_a_request_id(self) -> None:
        """An uncatalogued exception answers INTERNAL with the reference, not its text."""
        error = classify(RuntimeError("db at /srv/secret.sqlite locked"), "req-42")
        assert error.code == grpc.StatusCode.INTERNAL
        assert not error.catalogued
        assert error.log_traceback
        assert "req-42" in error.message
        assert "secret" not in error.message
        assert isinstance(error.detail, error_details_pb2.RequestInfo)
        assert error.detail.request_id == "req-42"

    def test_local_errors_never_show_their_text(self) -> None:
        """A local error reaching a caller shows neither paths nor the exception text."""
        exc = ConfigError(Path("/srv/agency/spoor.toml"), "limits.max", "must be a number")
        error = classify(exc, "req-7")
        assert error.code == grpc.StatusCode.INTERNAL
        assert "/srv/agency" not in error.message
        assert str(exc) not in error.message
        assert "req-7" in error.message

    def test_identifier_values_stay_local(self) -> None:
        """An identifier that failed validation is never echoed to a counterpart."""
        error = classify(InvalidIdentifierError("passport", "C1234567", "bad check"), "r")
        assert "C1234567" not in error.message
        assert "C1234567" not in str(error.detail)

    def test_invalid_request_names_the_field(self) -> None:
        """An invalid field is named in the message and in BadRequest."""
        error = classify(InvalidRequest("purpose", "is required"), "r")
        assert error.code == grpc.StatusCode.INVALID_ARGUMENT
        assert "purpose is required" in error.message
        assert isinstance(error.detail, error_details_pb2.BadRequest)
        assert error.detail.field_violations[0].field == "purpose"

    def test_budget_refusal_is_a_quota_failure_audited_with_its_numbers(self) -> None:
        """A budget refusal answers RESOURCE_EXHAUSTED with QuotaFailure, logs a warning,
        and is audited as match.refused with the limit and usage."""
        error = classify(BudgetExceeded("vn-customs", "2026-12-01", 100, 90, 20), "r")
        assert error.code == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "90 of 100" in error.message
        assert isinstance(error.detail, error_details_pb2.QuotaFailure)
        assert error.detail.violations[0].subject == "peer:vn-customs/period:2026-12-01"
        assert (error.log_level, error.log_traceback) == ("warning", False)
        assert error.audit_event == "match.refused"
        assert error.audit_details == {
            "reason": "BudgetExceeded",
            "period": "2026-12-01",
            "limit": 100,
            "used": 90,
            "requested": 20,
        }

    def test_subclass_without_entry_falls_back_to_its_base(self) -> None:
        """At run time an uncatalogued subclass is answered like its nearest base."""

        class Narrower(InvalidRequest):
            """A more specific invalid request."""

        assert entry_for(Narrower("f", "r")) is catalogue()[InvalidRequest]
        del Narrower
        gc.collect()
