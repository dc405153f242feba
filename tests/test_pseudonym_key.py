"""Secret pseudonyms: a per-installation random key outside the repository and the reports, mode
0600, created atomically on first use, overridable by UPSTREAM_PSEUDONYM_SALT; stable across runs;
never written into a report. (conftest.py points XDG_CONFIG_HOME at a fresh folder for the suite.)"""
from __future__ import annotations

import hashlib
import hmac
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from upstream.reporting import privacy
from upstream.reporting.privacy import PseudonymKeyError, installation_salt, pseudonymise, salt_key_path

ROOT = Path(__file__).resolve().parents[1]
IDS = ["A001", "A002", "A003"]


@pytest.fixture
def config_home(tmp_path, monkeypatch):
    home = tmp_path / "config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    monkeypatch.delenv(privacy.SALT_ENV, raising=False)
    return home


def _label(agent_id: str, key: str) -> str:
    return "Agent " + hmac.new(key.encode(), agent_id.encode(), hashlib.sha256).hexdigest().upper()[:4]


def test_first_use_creates_a_private_random_key_outside_the_repository(config_home):
    path = config_home / "upstream" / "pseudonym.key"
    assert salt_key_path() == path and not path.exists()
    key = installation_salt()
    assert re.fullmatch(r"[0-9a-f]{64}", key)  # 256 random bits
    assert path.read_text() == key + "\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert sorted(p.name for p in path.parent.iterdir()) == ["pseudonym.key"]  # no temp file left
    assert ROOT not in path.parents
    assert installation_salt() == key  # stable


def test_default_location_is_home_config(tmp_path, monkeypatch):
    monkeypatch.delenv("XDG_CONFIG_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert salt_key_path() == tmp_path / ".config" / "upstream" / "pseudonym.key"
    monkeypatch.setenv("XDG_CONFIG_HOME", "relative/is/ignored")  # the XDG spec: absolute paths only
    assert salt_key_path() == tmp_path / ".config" / "upstream" / "pseudonym.key"


def test_pseudonyms_use_the_installation_key_and_are_stable(config_home):
    labels = pseudonymise(IDS)
    key = installation_salt()
    assert labels == [_label(i, key) for i in IDS]
    assert pseudonymise(IDS) == labels
    # ... and not the former public default, which anyone could recompute
    assert labels != pseudonymise(IDS, salt="upstream")
    # another installation gets other pseudonyms
    shutil.rmtree(config_home)
    assert pseudonymise(IDS) != labels


def test_environment_variable_overrides_the_key(config_home, monkeypatch):
    monkeypatch.setenv(privacy.SALT_ENV, "  team-secret-2026  ")
    assert installation_salt() == "team-secret-2026"
    assert pseudonymise(IDS) == [_label(i, "team-secret-2026") for i in IDS]
    assert not (config_home / "upstream").exists()  # no key file made when the variable is set
    monkeypatch.setenv(privacy.SALT_ENV, "   ")  # blank: ignored
    assert re.fullmatch(r"[0-9a-f]{64}", installation_salt())


def test_key_readable_by_others_is_made_private_again(config_home):
    key = installation_salt()
    path = salt_key_path()
    path.chmod(0o644)
    assert installation_salt() == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_damaged_key_is_reported_never_silently_replaced(config_home):
    path = salt_key_path()
    path.parent.mkdir(parents=True)
    path.write_text("\n")
    with pytest.raises(PseudonymKeyError) as info:
        installation_salt()
    assert str(info.value) == (
        f"the pseudonym key {path} is empty or too short; it is not replaced automatically (pseudonyms "
        f"would change): restore it, or delete it to make a new one, or set UPSTREAM_PSEUDONYM_SALT")
    assert path.read_text() == "\n"


def test_an_unwritable_config_folder_gives_a_readable_error(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(blocker))
    monkeypatch.delenv(privacy.SALT_ENV, raising=False)
    with pytest.raises(PseudonymKeyError) as info:
        installation_salt()
    assert str(info.value) == (
        f"cannot create the pseudonym key {blocker}/upstream/pseudonym.key: not a directory; set "
        "UPSTREAM_PSEUDONYM_SALT or XDG_CONFIG_HOME to a writable place")


def test_concurrent_first_use_agrees_on_one_key(config_home):
    """Four processes racing to create the key all end up with the same one."""
    code = ("import sys; from upstream.reporting.privacy import installation_salt; "
            "sys.stdout.write(installation_salt())")
    env = {**os.environ, "XDG_CONFIG_HOME": str(config_home)}
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=env)
             for _ in range(4)]
    keys = {p.communicate(timeout=120)[0] for p in procs}
    assert all(p.returncode == 0 for p in procs)
    assert len(keys) == 1
    assert keys == {salt_key_path().read_text().strip()}
    assert sorted(p.name for p in salt_key_path().parent.iterdir()) == ["pseudonym.key"]


def test_no_notebook_keeps_the_public_default():
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        text = path.read_text(encoding="utf-8")
        assert 'pseudonym_salt = \\"upstream\\"' not in text, path.name
        if "pseudonymise(" in text:
            assert re.search(r"pseudonym_salt = None\b", text), path.name
    assert 'salt: str | None = None' in Path(privacy.__file__).read_text()
