from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from approvals_site.env import env_bool, env_float, env_int, env_list, env_str

ROOT = Path(__file__).resolve().parent.parent


def test_env_bool_reads_the_usual_spellings() -> None:
    assert env_bool("X", False, environ={"X": "yes"}) is True
    assert env_bool("X", True, environ={"X": "OFF"}) is False
    assert env_bool("X", True, environ={}) is True


def test_env_bool_refuses_a_typo_and_names_the_variable() -> None:
    with pytest.raises(ImproperlyConfigured, match="DJANGO_DEBUG.*'ture'"):
        env_bool("DJANGO_DEBUG", False, environ={"DJANGO_DEBUG": "ture"})


def test_env_int_and_float_refuse_garbage_and_out_of_range_values() -> None:
    with pytest.raises(ImproperlyConfigured, match="whole number"):
        env_int("N", 1, environ={"N": "1.5"})
    with pytest.raises(ImproperlyConfigured, match="at least 0"):
        env_int("N", 1, minimum=0, environ={"N": "-3"})
    with pytest.raises(ImproperlyConfigured, match="finite"):
        env_float("F", 1.0, environ={"F": "nan"})
    assert env_float("F", 1.0, environ={"F": " 2.5 "}) == 2.5


def test_env_list_and_str_treat_blank_as_unset() -> None:
    assert env_list("L", ["a"], environ={"L": " b, ,c "}) == ["b", "c"]
    assert env_list("L", ["a"], environ={"L": "  "}) == ["a"]
    assert env_str("S", "d", environ={"S": ""}) == "d"


def _import_settings(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "TRIGGER_"))}
    clean.pop("DATABASE_URL", None)
    clean.update(env)
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import approvals_site.settings as s; print(s.TRIGGER_USES_SANDBOX)",
        ],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_defaults_need_no_service_and_use_the_sandbox() -> None:
    result = _import_settings()
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"


def test_production_without_a_secret_key_fails_at_start_up() -> None:
    result = _import_settings(
        TRIGGER_API_URL="https://api.trigger.dev",
        TRIGGER_SECRET_KEY="tr_prod_" + "a" * 24,
    )
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


def test_a_malformed_database_url_is_reported_by_name() -> None:
    result = _import_settings(DATABASE_URL="nonsense://")
    assert result.returncode != 0
    assert "DATABASE_URL" in result.stderr


def test_production_settings_pass_the_deploy_checks_without_warnings() -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "TRIGGER_"))}
    clean.update(
        DJANGO_SECRET_KEY="k" * 30 + "-Xy9!_Zq8@Wv7#Ut6$Sr5%Qp4^On3&Ml2*",
        DJANGO_ALLOWED_HOSTS="approvals.example.com",
        TRIGGER_API_URL="https://api.trigger.dev",
        TRIGGER_SECRET_KEY="tr_prod_" + "Ab1" * 8,
        DATABASE_URL="sqlite:///:memory:",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
