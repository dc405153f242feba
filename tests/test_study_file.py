"""The study file's shape (runner/study_file.py, pydantic): each broken rule gives one line naming the key
path and what is allowed, before anything on disk is looked at."""
import pytest

from upstream.runner.study_file import StudyFile, read_study_file

NB = "../notebooks/a.ipynb"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (["a", "b"], "a study file must be a mapping with keys name, title, question, data, engine, parameters, notebooks"),
        ({"notebooks": [NB], "titel": "x"}, "unknown key 'titel' (allowed: name, title, question, data, engine, parameters, notebooks); did you mean 'title'?"),
        ({"notebooks": [NB, {"path": NB, "paramters": {}}]}, "unknown key 'paramters' in notebooks[2] (allowed: path, parameters); did you mean 'parameters'?"),
        ({"notebooks": [NB, {"path": NB, "parameters": {"1x": 2}}]}, "'notebooks[2].parameters' has an invalid parameter name '1x'"),
        ({"notebooks": [NB], "parameters": ["a"]}, "'parameters' must be a mapping of name: value"),
        ({"notebooks": [NB, {"parameters": {}}]}, "notebooks[2] needs a notebook path"),
        ({"notebooks": [NB, 7]}, "notebooks[2] needs a notebook path"),
        ({"notebooks": [NB], "title": 3}, "'title' must be a non-empty text"),
        ({"notebooks": [NB], "engine": "sqlite"}, "'engine' must be one of auto, pandas, duckdb, spark, got 'sqlite'"),
        ({"notebooks": [NB], "name": "_x"}, "'name' must be a folder name of letters, digits, '_', '-' or '.' not starting with '.', '_' or '-', got '_x'"),
        ({"notebooks": "a.ipynb"}, "'notebooks' must be a non-empty list of notebook paths"),
        ({"title": "x"}, "'notebooks' must be a non-empty list of notebook paths"),
    ],
)
def test_each_broken_rule_names_its_key_path(raw, message):
    with pytest.raises(ValueError) as err:
        read_study_file(raw, "study")
    assert str(err.value) == message


def test_defaults_name_from_the_file_title_from_the_name_and_entries_from_bare_paths():
    content = read_study_file({"notebooks": [NB, {"path": NB, "parameters": {"k": 1}}], "question": " Why\n  so? "},
                              "my_study")
    assert isinstance(content, StudyFile)
    assert (content.name, content.title, content.question, content.engine, content.data) == (
        "my_study", "my_study", "Why so?", "auto", None)
    assert [(n.path, n.parameters) for n in content.notebooks] == [(NB, {}), (NB, {"k": 1})]
