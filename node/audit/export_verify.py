"""Checking an audit export as an auditor would, with nothing but the file.

Every entry's hash is recomputed from its ``prev_hash`` and ``body``;
consecutive entries must link; clear personal values must match their
commitments; the closing checkpoint must carry a valid signature by the key
named in the header, and must agree with the entry at its count when the file
holds it. An unfiltered export must run from the first entry to exactly the
signed head, so a gap anywhere is visible.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

from node.audit.chain import GENESIS_HASH, chain_hash, commit_personal
from node.audit.checkpoint import CHECKPOINT_TYPE, Checkpoint
from node.audit.errors import CheckpointError
from node.audit.verify import Problem

EXPORT_TYPE = "spoor-audit-export"


def _check_entry(item: dict[str, Any], problems: list[Problem]) -> int:
    seq = int(item["seq"])
    body = item["body"]
    if chain_hash(str(item["prev_hash"]), body) != item["entry_hash"]:
        problems.append(Problem(seq, "modified", "content does not match its hash"))
    if body.get("seq") != seq:
        problems.append(Problem(seq, "modified", "sequence number differs from the body"))
    commitments = body.get("commitments", {})
    for name, held in item.get("personal", {}).items():
        if commit_personal(name, str(held["value"]), str(held["salt"])) != commitments.get(name):
            problems.append(Problem(seq, "personal content altered", f"the {name} differs"))
    return seq


def _check_links(entries: list[dict[str, Any]], problems: list[Problem]) -> None:
    for before, after in itertools.pairwise(entries):
        if (
            int(before["seq"]) + 1 == int(after["seq"])
            and before["entry_hash"] != after["prev_hash"]
        ):
            problems.append(
                Problem(int(after["seq"]), "broken link", "does not follow the previous entry")
            )
    if entries and int(entries[0]["seq"]) == 1 and entries[0]["prev_hash"] != GENESIS_HASH:
        problems.append(Problem(1, "broken link", "the first entry does not start the chain"))


def _check_checkpoint(
    header: dict[str, Any],
    checkpoints: list[dict[str, Any]],
    by_seq: dict[int, dict[str, Any]],
    problems: list[Problem],
) -> None:
    if len(checkpoints) != 1:
        problems.append(
            Problem(None, "bad checkpoint", "the export must close with one checkpoint")
        )
        return
    try:
        checkpoint = Checkpoint.from_mapping(checkpoints[0], "export")
    except CheckpointError as exc:
        problems.append(Problem(None, "bad checkpoint", exc.reason))
        return
    if not checkpoint.signature_valid():
        problems.append(Problem(None, "bad checkpoint", "signature is not valid"))
    if checkpoint.public_key != header.get("public_key"):
        problems.append(Problem(None, "bad checkpoint", "signed by a key other than the header's"))
    held = by_seq.get(checkpoint.entry_count)
    if held is not None and held["entry_hash"] != checkpoint.head_hash:
        problems.append(
            Problem(checkpoint.entry_count, "rewritten", "not the entry the checkpoint signs")
        )
    beyond = sorted(seq for seq in by_seq if seq > checkpoint.entry_count)
    if beyond:
        problems.append(Problem(beyond[0], "inserted", "after the head the checkpoint signs"))
    unfiltered = not any((header.get("filter") or {}).values())
    if unfiltered:
        missing = sorted(set(range(1, checkpoint.entry_count + 1)) - set(by_seq))
        if missing:
            problems.append(
                Problem(missing[0], "missing", f"{len(missing)} entries absent from a full export")
            )


def verify_export(lines: list[str]) -> list[Problem]:
    """Problems found in an export's lines (an empty list: the export checks out)."""
    try:
        parsed = [json.loads(line) for line in lines if line.strip()]
    except json.JSONDecodeError as exc:
        return [Problem(None, "unreadable", f"a line is not JSON ({exc})")]
    if not parsed or not isinstance(parsed[0], dict) or parsed[0].get("type") != EXPORT_TYPE:
        return [Problem(None, "unreadable", "the first line is not a Spoor audit export header")]
    problems: list[Problem] = []
    entries: list[dict[str, Any]] = []
    by_seq: dict[int, dict[str, Any]] = {}
    checkpoints: list[dict[str, Any]] = []
    for number, item in enumerate(parsed[1:], start=2):
        if isinstance(item, dict) and item.get("type") == CHECKPOINT_TYPE:
            checkpoints.append(item)
            continue
        try:
            seq = _check_entry(item, problems)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            problems.append(Problem(None, "unreadable", f"line {number} is malformed ({exc})"))
            continue
        entries.append(item)
        by_seq[seq] = item
    try:
        _check_links(entries, problems)
    except (KeyError, TypeError, ValueError) as exc:
        problems.append(Problem(None, "unreadable", f"entries are malformed ({exc})"))
    _check_checkpoint(parsed[0], checkpoints, by_seq, problems)
    return problems
