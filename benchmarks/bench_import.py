"""Zendesk API import speed and memory (target: 1,000,000 tickets with their metrics and ratings
in <= 60 s and <= 4 GB on the development machine), against a peer measured in the same run:
parsing the same files with the standard library alone (json.loads of every page, nothing kept),
the floor for any pure-Python JSON pipeline.

    .venv/bin/python benchmarks/bench_import.py [--tickets 1000000] [--keep DIR]

Prints, for each measurement (each in a fresh process, so its peak memory is its own): seconds
and peak resident memory (ru_maxrss); then the ratios to the peer. ``import`` is
``import_export("zendesk", ...)`` (read, attribute, derive, the three tables and dataset.yaml in
memory); ``import + write`` adds writing the CSV tables and the report (what ``upstream import
--no-validate`` does; the GX validation of the written tables is timed separately, as
``validate``).

The export is synthetic but shaped like real API pages (every key a ticket has): tickets as JSON
lines of 1,000-ticket incremental-export pages, metrics as JSON lines of 1,000-record pages,
ratings (20% of tickets: good, bad, offered) as 100-record pages written back to back, 5,000
agents, 200 groups; custom fields of every JSON type (text drop-downs, a Time Tracking number, a
checkbox boolean, a multi-select list). Mapping: policy by tag prefix, product and issue type by
field, handle time by the Time Tracking field's title. --keep DIR writes the export there (and
reuses it on the next run: writing 1M tickets takes a few minutes).
"""
from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def make_export(folder: Path, n: int, seed: int = 7) -> None:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    start = 1772409600  # 2026-03-02T00:00:00Z
    created = np.sort(rng.integers(start, start + 90 * 86400, n))
    solved = created + rng.integers(600, 3 * 86400, n)
    agents = rng.integers(9000, 14000, n)
    groups = 360000 + rng.integers(0, 200, n)
    requesters = rng.integers(100000, 100000 + n // 2, n)
    channels = np.array(["email", "web", "chat", "voice", "native_messaging", "api"])[rng.integers(0, 6, n)]
    reopens, replies = rng.poisson(0.2, n), rng.poisson(1.5, n)
    spent = rng.integers(60, 3600, n)
    iso = lambda t: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(t)))  # noqa: E731
    with open(folder / "tickets.json", "w") as tf, open(folder / "ticket_metrics.json", "w") as mf:
        for lo in range(0, n, 1000):
            tickets, metrics = [], []
            for i in range(lo, min(lo + 1000, n)):
                tid = 1_000_000 + i
                # custom field values have the JSON type of the field: text (drop-down tag), a
                # number (Time Tracking), a boolean (checkbox), a list (multi-select), or null
                cf = [{"id": 360001, "value": f"product_{i % 8}"}, {"id": 360002, "value": "how_to"},
                      {"id": 360003, "value": int(spent[i]) if i % 10 else None},
                      {"id": 360004, "value": bool(i % 3 == 0)},
                      {"id": 360005, "value": ["returns", "urgent"] if i % 7 == 0 else []}]
                tickets.append({
                    "url": f"https://acme.zendesk.com/api/v2/tickets/{tid}.json", "id": tid, "external_id": None,
                    "via": {"channel": str(channels[i]), "source": {"from": {}, "to": {}, "rel": None}},
                    "created_at": iso(created[i]), "updated_at": iso(solved[i] + 86400), "type": "question",
                    "subject": f"Ticket {tid}", "raw_subject": f"Ticket {tid}", "priority": "normal",
                    "status": "solved" if i % 20 else "open", "recipient": "support@acme.example",
                    "requester_id": int(requesters[i]), "submitter_id": int(requesters[i]),
                    "assignee_id": int(agents[i]), "organization_id": None, "group_id": int(groups[i]),
                    "collaborator_ids": [], "follower_ids": [], "email_cc_ids": [], "forum_topic_id": None,
                    "problem_id": None, "has_incidents": False, "is_public": True, "due_at": None,
                    "tags": [f"policy_p{i % 12}", "web_widget"], "custom_fields": cf, "fields": cf,
                    "satisfaction_rating": {"score": "unoffered"}, "sharing_agreement_ids": [],
                    "followup_ids": [], "ticket_form_id": 360000100, "brand_id": 360000001,
                    "allow_channelback": False, "allow_attachments": True, "generated_timestamp": 0})
                full = int((solved[i] - created[i]) // 60)
                metrics.append({
                    "url": f"https://acme.zendesk.com/api/v2/ticket_metrics/{tid}.json", "id": tid, "ticket_id": tid,
                    "created_at": iso(created[i]), "updated_at": iso(solved[i]), "group_stations": 1,
                    "assignee_stations": 1, "reopens": int(reopens[i]), "replies": int(replies[i]),
                    "assignee_updated_at": iso(solved[i]), "requester_updated_at": iso(created[i]),
                    "status_updated_at": iso(solved[i]), "initially_assigned_at": iso(created[i]),
                    "assigned_at": iso(created[i]), "solved_at": iso(solved[i]) if i % 20 else None,
                    "latest_comment_added_at": iso(solved[i]),
                    "reply_time_in_minutes": {"calendar": 20, "business": 20},
                    "first_resolution_time_in_minutes": {"calendar": full, "business": full},
                    "full_resolution_time_in_minutes": {"calendar": full, "business": full},
                    "agent_wait_time_in_minutes": {"calendar": 0, "business": 0},
                    "requester_wait_time_in_minutes": {"calendar": full, "business": full},
                    "on_hold_time_in_minutes": {"calendar": 0, "business": 0}})
            tf.write(json.dumps({"tickets": tickets, "next_page": None, "count": len(tickets),
                                 "end_of_stream": lo + 1000 >= n, "end_time": 0}) + "\n")
            mf.write(json.dumps({"ticket_metrics": metrics, "next_page": None, "previous_page": None,
                                 "count": len(metrics)}) + "\n")
    rated = np.flatnonzero(rng.random(n) < 0.2)
    scores = np.array(["good", "bad", "offered"])[rng.choice(3, len(rated), p=[0.6, 0.2, 0.2])]
    with open(folder / "satisfaction_ratings.json", "w") as rf:
        for lo in range(0, len(rated), 100):
            page = [{"url": "", "id": 70_000_000 + int(k), "assignee_id": int(agents[k]), "group_id": int(groups[k]),
                     "requester_id": int(requesters[k]), "ticket_id": 1_000_000 + int(k), "score": str(s),
                     "created_at": iso(solved[k] + 86400), "updated_at": iso(solved[k] + 90000),
                     "comment": None} for k, s in zip(rated[lo:lo + 100], scores[lo:lo + 100])]
            rf.write(json.dumps({"satisfaction_ratings": page, "next_page": None, "previous_page": None,
                                 "count": len(rated)}))
    (folder / "users.json").write_text(json.dumps({"users": [
        {"id": a, "role": "agent", "default_group_id": 360000 + a % 200, "created_at": "2024-01-01T00:00:00Z"}
        for a in range(9000, 14000)]}))
    (folder / "groups.json").write_text(json.dumps({"groups": [{"id": 360000 + g, "name": f"Team {g:03d}"}
                                                               for g in range(200)]}))
    (folder / "ticket_fields.json").write_text(json.dumps({"ticket_fields": [
        {"id": 360001, "title": "Product"}, {"id": 360002, "title": "Issue type"},
        {"id": 360003, "title": "Total time spent (sec)"}, {"id": 360004, "title": "VIP"},
        {"id": 360005, "title": "Follow-up reasons"}]}))
    (folder / "mapping.yaml").write_text(
        "vendor: zendesk\ncolumns:\n  policy: {tag_prefix: policy_}\n  product: {field: 360001}\n"
        "  issue_type: {field: Issue type}\n  handle_time_sec: {field: Total time spent (sec)}\n")


def _run_child(what: str, folder: Path) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", what, str(folder)],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"{what} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _child(what: str, folder: Path) -> None:
    sys.path.insert(0, str(ROOT / "src"))
    extra = {}
    t0 = time.perf_counter()
    if what in ("import", "write", "validate"):
        from upstream.data.importers import import_export
        result = import_export("zendesk", folder, folder / "mapping.yaml")
        rows = len(result.contacts)
        extra["surveys"] = len(result.surveys)
        extra["import_seconds"] = time.perf_counter() - t0
        if what in ("write", "validate"):
            out = Path(tempfile.mkdtemp(prefix="upstream-bench-out-")) / "data"
            try:
                result.write(out)
                extra["write_seconds"] = time.perf_counter() - t0 - extra["import_seconds"]
                if what == "validate":
                    del result
                    t1 = time.perf_counter()
                    from upstream.data import load_dataset
                    load_dataset(out, validate=True)
                    extra["validate_seconds"] = time.perf_counter() - t1
            finally:
                shutil.rmtree(out.parent, ignore_errors=True)
    else:  # the peer: stdlib parse of every page, nothing else
        decoder = json.JSONDecoder()
        rows = 0
        for name in ("tickets.json", "ticket_metrics.json", "satisfaction_ratings.json"):
            text = (folder / name).read_text()
            pos = 0
            while True:
                while pos < len(text) and text[pos] in " \n\r\t":
                    pos += 1
                if pos >= len(text):
                    break
                value, pos = decoder.raw_decode(text, pos)
                rows += 1
            del text
    seconds = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_mb": peak_mb, "rows": rows, **extra}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, default=None, help="write the export here and keep it (reused if there)")
    parser.add_argument("--validate", action="store_true", help="also time the GX validation of the written tables")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child[0], Path(args.child[1]))
        return 0
    folder = args.keep or Path(tempfile.mkdtemp(prefix="upstream-bench-zendesk-"))
    try:
        t0 = time.perf_counter()
        if not (folder / "tickets.json").exists():
            make_export(folder, args.tickets)
            print(f"export written in {time.perf_counter() - t0:.0f} s")
        size = sum(p.stat().st_size for p in folder.iterdir()) / 1e6
        n = sum(1 for _ in open(folder / "tickets.json")) * 1000
        print(f"export: about {n:,} tickets, {size:,.0f} MB on disk ({folder})")
        with open("/proc/loadavg") as fh:
            print(f"load average before: {fh.read().split()[0]} on {len(__import__('os').sched_getaffinity(0))} cores")
        peer = _run_child("parse", folder)
        imp = _run_child("import", folder)
        wrote = _run_child("write", folder)
        print(f"stdlib json parse only (peer) : {peer['seconds']:7.1f} s  peak {peer['peak_mb']:7.0f} MB")
        print(f"import_zendesk_api             : {imp['seconds']:7.1f} s  peak {imp['peak_mb']:7.0f} MB  "
              f"({imp['rows']:,} contacts, {imp['surveys']:,} surveys)")
        print(f"import + write CSV tables      : {wrote['seconds']:7.1f} s  peak {wrote['peak_mb']:7.0f} MB  "
              f"(write {wrote['write_seconds']:.1f} s)")
        print(f"ratio import/peer              : {imp['seconds'] / peer['seconds']:7.2f} x time, "
              f"{imp['peak_mb'] / peer['peak_mb']:.2f} x memory")
        print(f"ratio import+write/peer        : {wrote['seconds'] / peer['seconds']:7.2f} x time, "
              f"{wrote['peak_mb'] / peer['peak_mb']:.2f} x memory")
        if args.validate:
            val = _run_child("validate", folder)
            print(f"validate the written tables    : {val['validate_seconds']:7.1f} s  peak {val['peak_mb']:7.0f} MB")
        with open("/proc/loadavg") as fh:
            print(f"load average after: {fh.read().split()[0]}")
        target = "met" if wrote["seconds"] <= 60 and wrote["peak_mb"] <= 4096 else "MISSED"
        print(f"target (1M tickets <= 60 s, <= 4096 MB), import + write at {n:,} tickets: {target}")
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
