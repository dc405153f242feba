"""Personal data in customer comments: e-mail addresses, international phone numbers, card
numbers, IBANs and street addresses are masked by ``redact_comment``; dates and ordinary numbers
are not. And the helper that scans a published report (HTML, manifest, findings, tables/*.csv)."""
from __future__ import annotations

import json

import pytest

from upstream.reporting.privacy import clean_comment, find_in_report, redact_comment

#: (text inside a comment, the token that must replace it)
PII = [
    ("jane.doe@example.com", "[email]"),
    ("o'brien.k+support@mail.example.co.uk", "[email]"),
    ("+44 20 7946 0958", "[phone]"),
    ("+44 (0)20 7946 0958", "[phone]"),
    ("+1 (415) 555-0132", "[phone]"),
    ("+1-415-555-0132", "[phone]"),
    ("415.555.0132", "[phone]"),
    ("0049 30 1234567", "[phone]"),
    ("+49 30 12345678", "[phone]"),
    ("+33 1 42 68 53 00", "[phone]"),
    ("+81 3-1234-5678", "[phone]"),
    ("07700 900123", "[phone]"),
    ("4111 1111 1111 1111", "[card]"),
    ("4111-1111-1111-1111", "[card]"),
    ("5500 0000 0000 0004", "[card]"),
    ("3782 822463 10005", "[card]"),
    ("GB82 WEST 1234 5698 7654 32", "[iban]"),
    ("GB82WEST12345698765432", "[iban]"),
    ("DE89 3704 0044 0532 0130 00", "[iban]"),
    ("FR14 2004 1010 0505 0001 3M02 606", "[iban]"),
    ("NL91 ABNA 0417 1643 00", "[iban]"),
    ("es91 2100 0418 4502 0005 1332", "[iban]"),
    ("221B Baker Street", "[address]"),
    ("1600 Amphitheatre Parkway", "[address]"),
    ("Flat 3, 12 High St", "[address]"),
    ("Apt 4B, 350 Fifth Avenue", "[address]"),
    ("10 Downing St.", "[address]"),
    ("742 Evergreen Terrace", "[address]"),
    ("5 main street", "[address]"),
    ("Hauptstraße 5", "[address]"),
    ("12 rue de la Paix", "[address]"),
    ("NW1 6XE", "[postcode]"),
    ("SW1A 1AA", "[postcode]"),
]

#: comments whose numbers and words must survive redaction unchanged
KEPT = [
    "order 12 arrived late",
    "I called 3 times",
    "waited 2 weeks for a reply",
    "On 2026-03-01 14:05 they promised a refund",
    "since 01.03.2026 and again on 15/03/2026",
    "called at 10:30 and again at 14:05:33",
    "paid £25.50, then $1,299.99 and 50% off",
    "firmware version 2.3.1 on model X100",
    "ticket 123456 still open",
    "FW22 ROUTER MODEL X100 broke",
    "took 2 days either way",
    "waited 3 hours on the road",
    "I had 2 Big Problems today",
    "In 2025 the router failed 3 times",
    "rated 5 stars last year, 1 star now",
    "room 4 of the hotel",
    "exp 12/27",
]


@pytest.mark.parametrize(("pii", "token"), PII, ids=[p for p, _ in PII])
def test_personal_data_is_masked_inside_a_sentence(pii, token):
    comment = f"Please contact me: {pii} — thanks, order 12 (3 times now)."
    redacted = redact_comment(comment)
    assert redacted == f"Please contact me: {token} — thanks, order 12 (3 times now)."


@pytest.mark.parametrize("text", KEPT)
def test_ordinary_numbers_dates_and_words_are_kept(text):
    assert redact_comment(text) == text


def test_several_kinds_in_one_comment_and_escaping_after_redaction():
    comment = ("<img src=x onerror=alert(1)> I'm at 221B Baker Street, London NW1 6XE; IBAN GB82 WEST 1234 "
               "5698 7654 32, card 4111 1111 1111 1111, call +1 (415) 555-0132 or mail jane.doe@example.com "
               "before 2026-03-01")
    assert clean_comment(comment) == (
        "&lt;img src=x onerror=alert(1)&gt; I&#x27;m at [address], London [postcode]; IBAN [iban], card "
        "[card], call [phone] or mail [email] before 2026-03-01")


def test_iban_candidates_that_fail_the_check_and_carry_few_digits_are_kept():
    assert redact_comment("code AB12 CDEF GHIJ KLMN here") == "code AB12 CDEF GHIJ KLMN here"
    # a mistyped IBAN (check digits wrong) is still masked: it is full of digits
    assert redact_comment("GB00 WEST 1234 5698 7654 32") == "[iban]"
    # the words after an IBAN are not part of it
    assert redact_comment("pay es91 2100 0418 4502 0005 1332 about now") == "pay [iban] about now"
    assert redact_comment("GB82 WEST 1234 5698 7654 32 THANKS") == "[iban] THANKS"


# ----------------------------------------------------------------------------- scanning a report


def test_find_in_report_reads_pages_manifest_findings_and_tables(tmp_path):
    (tmp_path / "tables").mkdir()
    (tmp_path / "index.html").write_text(
        '<p>Agent <b>A001</b> and A0012</p><img src="data:image/png;base64,QUEwMDNBMDAz A003xyz">'
        '<a title="A004">x</a><p>jane&#46;doe@example.com</p>', encoding="utf-8")
    (tmp_path / "manifest.json").write_text(json.dumps({"note": "A005"}), encoding="utf-8")
    (tmp_path / "tables" / "agents.csv").write_text("agent,score\nA006,4.1\n", encoding="utf-8")
    (tmp_path / "page.findings.json").write_text('{"sentences": ["A007 leads"]}', encoding="utf-8")
    (tmp_path / "notes.txt").write_text("A008", encoding="utf-8")  # not part of what is published to readers
    ids = [f"A00{i}" for i in range(1, 9)]
    leaks = find_in_report(tmp_path, ids + ["jane.doe@example.com"])
    assert sorted((leak.file, leak.needle) for leak in leaks) == [
        ("index.html", "A001"), ("index.html", "A004"), ("index.html", "jane.doe@example.com"),
        ("manifest.json", "A005"), ("page.findings.json", "A007"), ("tables/agents.csv", "A006")]
    assert "Agent A001 and A0012" in next(leak.context for leak in leaks if leak.needle == "A001")
    assert find_in_report(tmp_path, []) == []


def test_a_numeric_id_inside_a_decimal_number_is_not_a_leak(tmp_path):
    """Agent ids "004" and "12": a run time of 8.004 s or a mean of 12.5 is a number, not the agent; the id itself
    is found, at the end of a sentence too (a failure of test_killed_runs when a run took 8.004 s)."""
    (tmp_path / "manifest.json").write_text('{"total_seconds": 8.004, "mean": 12.5}', encoding="utf-8")
    (tmp_path / "index.html").write_text("<p>Agent 004. Agent 12, again.</p>", encoding="utf-8")
    leaks = find_in_report(tmp_path, ["004", "12"])
    assert sorted((leak.file, leak.needle) for leak in leaks) == [("index.html", "004"), ("index.html", "12")]


def test_a_pseudonym_never_reads_like_a_real_agent_id():
    """Hex codes can spell ids such as A042: "Agent A042" would then point at another, real agent."""
    import hashlib
    import hmac

    from upstream.reporting.privacy import pseudonymise

    ids = [f"A{i:03d}" for i in range(1, 400)]
    for salt in ("k1", "k2", "k3", "k4", "k5", "k6"):
        codes = {i: hmac.new(salt.encode(), i.encode(), hashlib.sha256).hexdigest().upper()[:4] for i in ids}
        labels = pseudonymise(ids, salt=salt)
        assert not {label.removeprefix("Agent ") for label in labels} & set(ids)
        if set(codes.values()) & set(ids):  # this salt gave some agent an id-like code: it was lengthened
            spelled = next(i for i, c in codes.items() if c in ids)
            assert labels[ids.index(spelled)] != f"Agent {codes[spelled]}"
            break
    else:
        pytest.fail("no salt produced an id-like code; the test checks nothing")
