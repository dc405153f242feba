"""The mapping file's shape (data/importers/mapping.py, pydantic models): the first broken rule, in the
order the keys are checked, with the file, the key path and what is allowed."""
import pytest

from upstream.data.importers import ImportInputError, parse_mapping


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"vendor": "zen", "foo": 1}, "m.yaml: unknown key 'foo'; the keys are vendor, columns, csat, channels, repeat, timezone, date_format, attribution, visibility"),
        ({"timezone": "X/Y", "vendor": "q"}, "m.yaml: vendor: 'q' is not one of zendesk, freshdesk, intercom, helpscout, gorgias, csv"),
        ({"csat": {"points": 1, "x": 2}}, "m.yaml: csat: expected {points: 2|3|5|7} (and by_survey for exports mixing surveys; for table imports, labels, codes and top_box)"),
        ({"csat": {"labels": {1: "a"}}}, "m.yaml: csat: labels, codes and top_box need points"),
        ({"csat": {"points": 5, "by_survey": {12: {"-103": 9}}}}, "m.yaml: csat.by_survey.12: expected vendor code: code pairs with codes 1 to 5, e.g. {-103: 1, 100: 3, 103: 5}"),
        ({"columns": {"policy": {"field": 1, "value": 2}}}, "m.yaml: columns.policy: a rule needs exactly one of tag_prefix, field, value, column; found field and value"),
        ({"columns": {"policy": {"tag_prefix": 3}}}, "m.yaml: columns.policy.tag_prefix: expected non-empty text, found int 3"),
        ({"columns": {"policy": {"field": 1, "map": {"a": None}}}}, "m.yaml: columns.policy.map: expected vendor value: canonical value pairs"),
        ({"columns": {"contact_id": {"column": "T"}}}, "m.yaml: columns.contact_id: 'contact_id' is not a column a mapping can fill; those are team, policy, product, issue_type, handle_time_sec, credit_issued, escalated, resolved_first_contact, n_interactions"),
        ({"visibility": {"unanswered_invitations": "yes"}}, "m.yaml: visibility: expected {unanswered_invitations: true|false, uninvited_contacts: true|false} (does the table list unanswered surveys, and contacts never surveyed?)"),
        (["a"], "m.yaml: expected a mapping of keys (vendor, columns, csat, channels, repeat, timezone, date_format, attribution, visibility), found a list"),
    ],
)
def test_the_first_broken_rule_names_its_key_path(data, message):
    with pytest.raises(ImportInputError) as err:
        parse_mapping(data, "m.yaml")
    assert str(err.value) == message


def test_a_full_mapping_is_read_into_rules_and_scale():
    m = parse_mapping({"vendor": "csv", "columns": {"policy": {"tag_prefix": "p_"}, "csat": {"column": "Rating"},
                                                    "team": {"field": 7, "map": {"a": "A"}, "default": "x"}},
                       "csat": {"points": 5, "labels": {"1": "bad", 5: "good"}, "codes": {"Bad": "1"}, "top_box": ["5"],
                                "by_survey": {"12": {"-103": 1, "103": 5}}},
                       "repeat": {"same_issue_type": True}, "timezone": "UTC",
                       "visibility": {"uninvited_contacts": False}}, "m.yaml")
    assert [(r.column, r.kind, r.source, r.map, r.default) for r in m.columns.values()] == [
        ("policy", "tag_prefix", "p_", {}, None), ("csat", "column", "Rating", {}, None), ("team", "field", 7, {"a": "A"}, "x")]
    assert (m.csat_points, m.csat_labels, m.csat_codes, m.csat_top_box) == (5, {1: "bad", 5: "good"}, {"Bad": 1}, (5,))
    assert m.csat_by_survey == {"12": {"-103": 1, "103": 5}}
    assert (m.repeat_same_issue_type, m.timezone, m.visibility) == (True, "UTC", {"uninvited_contacts": False})
