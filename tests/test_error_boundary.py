"""Inputs that used to end in a Python traceback (issue 11, part A): each is now one line
``error: file:line: message`` and a hint, exit 2, and no traceback unless --debug.

The small project of the bad-input catalogue (``test_bad_input.FILES``); each case
breaks one thing before a command runs.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from test_bad_input import FILES, PROFILES, PYPROJECT

from runner.errors import ProjectError, as_runner_error


@pytest.fixture
def project(make_project) -> Path:
    return make_project(FILES, base=False)


def run(run_cli, root: Path, *args: str):
    command = args or ("build", "--log-format", "plain", "--no-publish")
    if command[0] == "build":
        command = (*command, "--project-dir", str(root))
    else:
        command = (command[0], "--project-dir", str(root), *command[1:])
    return run_cli(*command)


def refused(result, where: str, message: str, hint: str = "") -> None:
    """Exit 2, no traceback, the located message (and hint) in the output."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    located = f"{where}: {message}" if where else message
    assert located in result.output, result.output
    if hint:
        assert f"hint: {hint}" in result.output or hint in result.output, result.output


def write(root: Path, rel: str, text: str | bytes) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(textwrap.dedent(text), encoding="utf-8")


# ------------------------------------------------------------------ the boundary


def test_an_unexpected_exception_is_one_line_saying_it_is_likely_a_bug():
    error = as_runner_error(KeyError("boom"))
    assert error.exit_code == 2
    assert "unexpected KeyError" in error.message and "likely a bug" in error.message
    assert "--debug" in error.hint


def test_a_runner_error_passes_the_boundary_unchanged():
    error = ProjectError("x", path="a.sql", line=3)
    assert as_runner_error(error) is error


def test_debug_shows_the_traceback(project, run_cli):
    write(project, "models/stg_orders.sql", "select {{ 1 | nofilter }} as x\n")
    quiet = run(run_cli, project)
    assert quiet.exit_code == 2 and "Traceback" not in quiet.output
    with pytest.raises(ProjectError):
        run_cli("--debug", "build", "--project-dir", project)


# ------------------------------------------------------------------ the cases


def test_inline_query_on_a_missing_table(project, run_cli):
    result = run(run_cli, project, "show", "--inline", "select * from nope_table")
    refused(result, "", "the --inline query failed: Catalog Error: Table with name nope_table")


def test_show_limit_past_any_sane_number_is_a_usage_error(project, run_cli):
    assert run(run_cli, project, "build", "--log-format", "plain").exit_code == 0
    result = run(run_cli, project, "show", "customers_by_country", "-n", "9" * 20)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert "is not in the range 0<=x<=1000000000" in result.output


def test_parentheses_nested_5000_deep(project, run_cli):
    write(project, "models/deep.sql", "select " + "(" * 5000 + "1" + ")" * 5000 + " as x\n")
    refused(
        run(run_cli, project),
        "models/deep.sql:1",
        "SQL nested too deeply to check: parentheses 5000 deep",
        "flatten the expression",
    )


def test_vars_nested_1000_deep(project, run_cli):
    deep = "{a: " * 1000 + "1" + "}" * 1000
    result = run(run_cli, project, "build", "--log-format", "plain", "--vars", deep)
    refused(result, "", "--vars is nested too deeply to read", "flatten it")


def test_yaml_nested_too_deep(project, run_cli):
    write(project, "models/deep.yml", "models: " + "[" * 3000 + "]" * 3000 + "\n")
    result = run(run_cli, project)
    refused(result, "models/deep.yml:1", "invalid YAML")
    assert "nesting depth" in result.output


def test_a_jinja_filter_that_does_not_exist(project, run_cli):
    write(project, "models/stg_orders.sql", "select 1 as x,\n  {{ 1 | nofilter }} as y\n")
    refused(
        run(run_cli, project),
        "models/stg_orders.sql:2",
        "Jinja syntax error: No filter named 'nofilter'",
        "check the spelling",
    )


def test_a_filter_that_does_not_exist_in_a_macro(project, run_cli):
    write(project, "macros/m.sql", "{% macro m() %}\n{{ 1 | nofilter }}\n{% endmacro %}\n")
    refused(run(run_cli, project), "macros/m.sql:2", "Jinja syntax error: No filter named")


def test_a_deleted_comment_marker_leaves_stray_text(project, run_cli):
    write(
        project,
        "models/stg_orders.sql",
        "select *\n the orders as they landed\nfrom {{ source('shop', 'orders') }}\n",
    )
    refused(run(run_cli, project), "models/stg_orders.sql:2", "SQL syntax error")


@pytest.mark.parametrize(
    "text",
    ['tool = "x"\n', '[tool]\nrunner = "x"\n'],
    ids=["tool is a string", "tool.runner is a string"],
)
def test_pyproject_tool_not_a_table(project, run_cli, text):
    write(project, "pyproject.toml", text)
    result = run(run_cli, project)
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    assert "pyproject.toml" in result.output and "[tool.runner]" in result.output


def test_profiles_target_is_a_list(project, run_cli):
    write(project, "profiles.yml", PROFILES.replace("target: dev", "target: [dev]"))
    refused(
        run(run_cli, project),
        "profiles.yml:2",
        "target ['dev'] is not defined in profile 'shop' (target:)",
        "defined targets: dev",
    )


def test_target_flag_empty(project, run_cli):
    result = run(run_cli, project, "build", "--target", "")
    refused(
        result,
        "profiles.yml:4",
        "target '' is not defined in profile 'shop' (--target)",
        "defined targets: dev",
    )


def test_profiles_expression_that_raises(project, run_cli):
    write(project, "profiles.yml", PROFILES.replace("threads: 1", "threads: {{ 1/0 }}"))
    refused(
        run(run_cli, project),
        "profiles.yml:8",
        "template error: ZeroDivisionError: division by zero",
        "fix the {{ ... }} expression",
    )


# ------------------------------------------------------------------ invalid UTF-8


def _with_bad_byte(text: str, line: int) -> bytes:
    lines = textwrap.dedent(text).encode().split(b"\n")
    lines[line - 1] = lines[line - 1] + b"\xff"
    return b"\n".join(lines)


@pytest.mark.parametrize(
    "rel,text,line",
    [
        ("pyproject.toml", PYPROJECT, 2),
        ("profiles.yml", PROFILES, 3),
        ("models/stg_orders.sql", "select *\nfrom {{ source('shop', 'orders') }}\n", 2),
        ("models/marts/_marts.yml", FILES["models/marts/_marts.yml"], 2),
        ("macros/m.sql", "{% macro m() %}\n1\n{% endmacro %}\n", 2),
        ("seeds/vat.csv", FILES["seeds/vat.csv"], 3),
    ],
    ids=["pyproject", "profiles", "model", "yaml", "macro", "seed"],
)
def test_invalid_utf8_names_the_file_and_line(project, run_cli, rel, text, line):
    write(project, rel, _with_bad_byte(text, line))
    refused(
        run(run_cli, project),
        f"{rel}:{line}",
        f"file is not UTF-8 text: byte 0xff at line {line}",
        "save the file as UTF-8",
    )


@pytest.mark.parametrize("line", [1, 3])
def test_invalid_utf8_in_a_landing_csv_names_its_line(project, run_cli, line):
    text = "order_id,customer_id,amount\n1,1,10.50\n2,1,4.00\n"
    write(project, "landing/orders.csv", _with_bad_byte(text, line))
    result = run(run_cli, project)
    assert result.exit_code in (1, 2) and "Traceback" not in result.output, result.output
    assert "landing/orders.csv" in result.output, result.output
    assert f"not UTF-8 text: byte 0xff at line {line}" in result.output
    assert "save the file as UTF-8" in result.output


def test_a_nul_byte_in_a_model(project, run_cli):
    write(project, "models/stg_orders.sql", b"select 1 as x,\n 2\x00 as y\n")
    refused(run(run_cli, project), "models/stg_orders.sql:2", "file contains a NUL byte")


# ------------------------------------------------------------------ landing CSVs


def test_an_empty_extra_field_on_one_line_is_refused(project, run_cli):
    write(project, "landing/customers.csv", "customer_id,country\n1,NL\n2,DE,\n3,NL\n")
    result = run(run_cli, project)
    assert result.exit_code != 0 and "Traceback" not in result.output, result.output
    assert (
        "landing/customers.csv:3: source shop.customers: line 3 has 3 fields but the header "
        "has 2 (customer_id, country)" in result.output
    ), result.output
    assert "remove the extra delimiter" in result.output


def test_quoted_newlines_are_not_extra_fields(project, run_cli):
    write(project, "landing/customers.csv", 'customer_id,country\n1,NL\n2,"D\nE"\n3,NL\n')
    result = run(run_cli, project)
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("value", ["0x10", "0b1", "1_000", "1e3", "1.5"])
def test_an_integer_column_takes_decimal_digits_only(project, run_cli, value):
    write(project, "landing/customers.csv", f"customer_id,country\n1,NL\n{value},DE\n")
    result = run(run_cli, project)
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert (
        f"landing/customers.csv:3: source shop.customers: line 3, column 'customer_id': "
        f'value "{value}" is not a decimal integer' in result.output
    ), result.output


def test_signed_and_padded_decimal_integers_are_fine(project, run_cli):
    # 3.00 is 3 exactly (dbt's seed types call a column of such values integer)
    write(project, "landing/customers.csv", "customer_id,country\n+1,NL\n -2 ,DE\n3.00,FR\n")
    assert run(run_cli, project).exit_code == 0


@pytest.mark.parametrize("value", ["1_000", "1e3", "2.5E1"])
def test_a_decimal_column_takes_decimal_digits_only(project, run_cli, value):
    """DuckDB's DECIMAL cast reads 1_000 as 1000 and 1e3 as 1000: money written so is
    more likely an export's mistake than a number (found by the mutation run)."""
    write(project, "landing/orders.csv", f"order_id,customer_id,amount\n1,1,{value}\n")
    result = run(run_cli, project)
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert (
        f"landing/orders.csv:2: source shop.orders: line 2, column 'amount': "
        f'value "{value}" is not a decimal number' in result.output
    ), result.output
    assert "a '.' at most, no _ or e" in result.output


def test_plain_decimals_in_a_decimal_column_are_fine(project, run_cli):
    write(
        project, "landing/orders.csv", "order_id,customer_id,amount\n1,1,-4.5\n2,1, .25 \n3,2,7\n"
    )
    assert run(run_cli, project).exit_code == 0


@pytest.mark.parametrize(
    "rows,where,message",
    [
        ("NL,0.21\nDE,0.19,\n", "seeds/vat.csv:3", "line 3 has 3 fields but the header has 2"),
        (
            "NL,0.21\nDE,1.9e-1\n",
            "seeds/vat.csv:3",
            "line 3, column 'rate': value \"1.9e-1\" is not a decimal number",
        ),
    ],
    ids=["extra field", "exponent"],
)
def test_a_seed_gets_the_landing_files_row_checks(project, run_cli, rows, where, message):
    """A seed file is read by the same rules as a landing file: DuckDB drops an empty
    field after the last column and reads 1.9e-1 into a DECIMAL without a word."""
    write(project, "seeds/vat.csv", "code,rate\n" + rows)
    result = run(run_cli, project)
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert f"{where}: seed 'vat': {message}" in result.output, result.output


# ------------------------------------------------------------------ macros


@pytest.mark.parametrize(
    "body,message",
    [
        ("{{ exceptions.raise_compiler_error('no such thing') }}", "no such thing"),
        ("{{ none.x }}", "undefined: 'None' has no attribute 'x'"),
        ("{{ bad() }}", "a macro calls itself without end"),
    ],
    ids=["raise_compiler_error", "none.x", "self-recursive"],
)
def test_a_broken_macro_is_fine_until_a_model_calls_it(project, run_cli, body, message):
    macro = "{% macro fine() %}1{% endmacro %}\n{% macro bad() %}\nselect 1\n  " + body
    write(project, "macros/bad.sql", macro + "\n{% endmacro %}\n")
    assert run(run_cli, project).exit_code == 0
    write(project, "models/uses.sql", "select 1 as x,\n  '{{ bad() }}' as y\n")
    refused(
        run(run_cli, project),
        "macros/bad.sql:4",
        f"{message}",
        "",
    )
    result = run(run_cli, project)
    assert "(in macro 'bad', called by model 'uses' at models/uses.sql:2)" in result.output


def test_text_outside_the_macros_of_a_macro_file_is_located(project, run_cli):
    """Found by the mutation run: a swapped line left a macro's body outside it, where it
    runs for every model (an 'unexpected UndefinedError' before)."""
    write(
        project,
        "macros/money.sql",
        "{% macro net(amount) -%}\n{%- endmacro %}\n  round({{ amount }}, 2)\n",
    )
    refused(
        run(run_cli, project),
        "macros/money.sql:3",
        "undefined: 'amount' is undefined (in the text outside the macros of macros/money.sql",
        "a macro file should hold only {% macro %} blocks",
    )
