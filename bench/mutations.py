"""Mutation run over the bad-input catalogue: does any one-change mutation of a project's
files or command line end in a traceback, a hang, or a refusal that names no file?

Run with the project's virtualenv::

    python bench/mutations.py [--cases 1000] [--seed 11] [--workers 2] [--timeout 60]
                              [--spark-timeout 600]
                              [--out bench/results/mutations.json]

A small project (two sources read from landing CSVs, a typed seed, a macro, a model with
a config() call and comments, staging views, one mart with YAML columns and
expectations; an in-memory database, ``--validator sql``) is copied into a fresh folder
per case, ONE mutation is applied to one file (YAML, SQL, macro, pyproject.toml,
profiles.yml, seed CSV, landing CSV) or to the command line, and the real CLI runs in a
subprocess with a timeout. Each case is classified from its exit code and output:

- ``traceback``: a Python traceback was printed (never acceptable);
- ``hang``: the command did not end within the timeout (never acceptable). A mutation
  that turns the profile's ``type: duckdb`` into ``spark`` builds the project on Spark,
  whose session alone takes 12-27 s to start on a quiet machine: those cases get
  ``--spark-timeout`` instead;
- ``refused, located``: exit non-zero, and an error names ``file:line`` (or a file);
- ``refused, usage``: a command-line mutation refused as a usage error (no file to name);
- ``refused, no location``: exit non-zero without naming a file (a file mutation should
  always be located);
- ``accepted, warned``: exit 0 with a warning the unmutated project does not print (a
  ``warning:`` line, or a check with severity warn that now warns);
- ``accepted, no word``: exit 0 and nothing said (many mutations are harmless: a changed
  description, a row value, a comment; the records say which mutation, to review).

The mutations are drawn with a fixed seed, so the same command gives the same cases.
Results: one record per case and the counts per family, in ``--out``; the table is
printed in the README's bad-input form.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

RUNNER = Path(sys.executable).with_name("runner")

FILES: dict[str, str] = {
    "pyproject.toml": """\
        [tool.runner]
        name = "shop"
        validator = "sql"

        [tool.runner.vars]
        min_amount = 1

        [tool.runner.models.staging]
        materialized = "view"
        schema = "staging"
        tags = ["daily"]

        [tool.runner.models.marts]
        materialized = "table"
        schema = "marts"
        """,
    "profiles.yml": """\
        shop:
          target: dev
          outputs:
            dev:
              type: duckdb
              path: ":memory:"
              threads: 2
              memory_limit: 1GB
              sources:
                shop: {from: files, path: landing}
        """,
    "models/sources.yml": """\
        version: 2
        sources:
          - name: shop
            description: The shop's raw tables.
            tables:
              - name: customers
                description: One row per customer.
                columns:
                  - name: customer_id
                    data_type: integer
                    expectations: [not_null, unique]
                  - name: country
                    description: Country code.
              - name: orders
                columns:
                  - name: order_id
                    data_type: integer
                    expectations: [not_null]
                  - name: customer_id
                    data_type: integer
                  - name: amount
                    data_type: decimal(10,2)
        """,
    "landing/customers.csv": "customer_id,country\n1,NL\n2,DE\n3,NL\n4,FR\n",
    "landing/orders.csv": (
        "order_id,customer_id,amount\n1,1,10.50\n2,1,4.00\n3,2,7.25\n4,3,12.00\n5,4,1.10\n"
    ),
    "seeds/vat.csv": "code,rate\nNL,0.21\nDE,0.19\nFR,0.20\n",
    "seeds/_seeds.yml": """\
        seeds:
          - name: vat
            description: VAT rate per country.
            config:
              column_types: {rate: "decimal(4,2)"}
        """,
    "macros/money.sql": """\
        {% macro net(amount, rate) -%}
            round({{ amount }} / (1 + {{ rate }}), 2)
        {%- endmacro %}
        """,
    "models/staging/stg_customers.sql": """\
        -- customers with their country's VAT rate
        select c.customer_id, c.country, v.rate
        from {{ source('shop', 'customers') }} as c
        left join {{ ref('vat') }} as v on v.code = c.country
        """,
    "models/staging/stg_orders.sql": """\
        {{ config(materialized='view', tags=['orders']) }}
        -- orders at or above the minimum amount
        select order_id, customer_id, amount
        from {{ source('shop', 'orders') }}
        where amount >= {{ var('min_amount') }}
        """,
    "models/marts/revenue_by_country.sql": """\
        select
            c.country,
            count(distinct c.customer_id) as customers,
            sum(o.amount) as revenue,
            sum({{ net('o.amount', 'c.rate') }}) as net_revenue  -- before VAT
        from {{ ref('stg_customers') }} as c
        left join {{ ref('stg_orders') }} as o on o.customer_id = c.customer_id
        group by c.country
        """,
    "models/marts/_marts.yml": """\
        version: 2
        models:
          - name: revenue_by_country
            description: Customers and revenue per country.
            config:
              tags: [finance]
            columns:
              - name: country
                description: Country code.
                expectations: [not_null, unique]
              - name: revenue
                description: Sum of order amounts.
        """,
}

FAMILIES = {
    "YAML": ["models/sources.yml", "models/marts/_marts.yml", "seeds/_seeds.yml"],
    "SQL": [
        "models/staging/stg_customers.sql",
        "models/staging/stg_orders.sql",
        "models/marts/revenue_by_country.sql",
    ],
    "macros": ["macros/money.sql"],
    "pyproject.toml": ["pyproject.toml"],
    "profiles.yml": ["profiles.yml"],
    "seed CSV": ["seeds/vat.csv"],
    "landing CSV": ["landing/customers.csv", "landing/orders.csv"],
    "CLI flags": [],
}

# Values a mutation puts where a value was: types, edge cases, typos, nesting.
VALUES = [
    "3",
    "-1",
    "0",
    "''",
    '""',
    "[1]",
    "[[1]]",
    "{a: 1}",
    "{}",
    "[]",
    "null",
    "yes",
    "no",
    "2024-01-01",
    "99999999999999999999",
    "1e400",
    "tabel",
    "view",
    "table",
    "incremental",
    "seed",
    "maybe",
    "true",
    "'no'",
    "spark",
    "nope",
    "0x10",
    "\\u0000",
    "{{ 1/0 }}",
    "{{ nope }}",
    "{{ x | nofilter }}",
    "é",
    "a" * 300,
    "[" * 50 + "]" * 50,
]
JUNK = ["{", "}", "(", ")", "'", '"', ":", ",", "-", "#", "\t", "[", "]", "%", "\\", ";", "|"]
RAW_BYTES = [b"\xff", b"\xc3", b"\x00", b"\xef\xbb\xbf", b"\r", b"\xe2\x80"]
CSV_VALUES = [
    "",
    "0x10",
    "NaN",
    "-",
    "1_000",
    "1e3",
    " 1 ",
    "x2",
    '"',
    '"a,b"',
    "NULL",
    "é",
    "2024-13-01",
    "99999999999999999999",
    "-0",
    "0.1.2",
    "\\N",
]
CLI_CASES = [
    ["build", "--select", "nope"],
    ["build", "--select", "+revenue_by_country"],
    ["build", "--select", "tag:nope"],
    ["build", "--select", "@"],
    ["build", "--exclude", "*"],
    ["build", "--select", "source:shop.customers+"],
    ["build", "--select", "1+revenue"],
    ["build", "--vars", "{min_amount: [1]}"],
    ["build", "--vars", "[1, 2]"],
    ["build", "--vars", "{"],
    ["build", "--vars", "{a: " * 1000 + "1" + "}" * 1000],
    ["build", "--vars", "{min_amount: 'x'}"],
    ["build", "--vars", "{sources: 3}"],
    ["build", "--vars", "{sources: {shop: {from: files, path: nowhere}}}"],
    ["build", "--threads", "0"],
    ["build", "--threads", "-1"],
    ["build", "--threads", "abc"],
    ["build", "--threads", "100000"],
    ["build", "--target", ""],
    ["build", "--target", "nope"],
    ["build", "--state", "nowhere"],
    ["build", "--full-refresh", "--fail-fast"],
    ["build", "--log-format", "json"],
    ["build", "--log-format", "bogus"],
    ["build", "--warn-error"],
    ["build", "--validator", "nope"],
    ["run"],
    ["test"],
    ["seed"],
    ["compile", "--inline", "select * from {{ ref('nope') }}"],
    ["compile", "--inline", "{{"],
    ["compile", "--select", "revenue_by_country"],
    ["show", "--inline", "select * from nope_table"],
    ["show", "--inline", "select 1/0"],
    ["show", "--inline", "select " + "(" * 3000 + "1" + ")" * 3000],
    ["show", "revenue_by_country", "-n", "99999999999999999999"],
    ["show", "nope"],
    ["show"],
    ["show", "vat", "--inline", "select 1"],
    ["show", "vat", "-n", "-1"],
    ["ls", "-o", "bogus"],
    ["ls", "-o", "json"],
    ["ls", "--resource-type", "nope"],
    ["debug"],
    ["clean"],
    ["publish"],
    ["demo-data", "--out", "x", "--customers", "0"],
    ["build", "--profiles-dir", "nowhere"],
    ["build", "--project-dir", "nowhere"],
]


@dataclass
class Case:
    id: int
    family: str
    file: str
    mutation: str
    args: list[str]
    exit_code: int | None = None
    outcome: str = ""
    message: str = ""
    seconds: float = 0.0


def _line_mutation(text: str, rng: random.Random) -> tuple[str, str]:
    lines = text.split("\n")
    if len(lines) < 2:
        lines.append("")
    i = rng.randrange(len(lines))
    op = rng.choice(["delete line", "duplicate line", "swap lines", "indent", "dedent"])
    if op == "delete line":
        del lines[i]
    elif op == "duplicate line":
        lines.insert(i, lines[i])
    elif op == "swap lines" and i + 1 < len(lines):
        lines[i], lines[i + 1] = lines[i + 1], lines[i]
    elif op == "indent":
        lines[i] = "  " + lines[i]
    else:
        lines[i] = lines[i][2:] if lines[i].startswith("  ") else lines[i].lstrip()
    return "\n".join(lines), f"{op} {i + 1}"


def _char_mutation(text: str, rng: random.Random) -> tuple[str, str]:
    at = rng.randrange(len(text) + 1)
    op = rng.choice(["insert", "delete", "replace"])
    char = rng.choice(JUNK)
    if op == "insert":
        return text[:at] + char + text[at:], f"insert {char!r} at {at}"
    if op == "delete":
        return text[:at] + text[at + 1 :], f"delete char at {at}"
    return text[:at] + char + text[at + 1 :], f"replace char at {at} by {char!r}"


def _value_mutation(text: str, rng: random.Random, family: str) -> tuple[str, str]:
    """Replace one value (after 'key:' in YAML, 'key =' in TOML, an argument in SQL)."""
    if family in ("YAML", "profiles.yml"):
        pattern = r"(?m)^(\s*-?\s*[\w+-]+:)[ \t]*([^\n{]*)$"
    elif family == "pyproject.toml":
        pattern = r"(?m)^(\s*[\w+\"-]+\s*=)[ \t]*(.*)$"
    else:  # SQL, macros: a literal or a quoted name
        pattern = r"()('[^'\n]*'|\b\d+(?:\.\d+)?\b)"
    spots = list(re.finditer(pattern, text))
    if not spots:
        return _char_mutation(text, rng)
    spot = rng.choice(spots)
    value = rng.choice(VALUES)
    if family == "pyproject.toml" and not value.startswith(("[", "{", '"', "'")):
        value = rng.choice([value, f'"{value}"'])
    sep = " " if spot.group(1) else ""
    new = text[: spot.start()] + spot.group(1) + sep + value + text[spot.end() :]
    return new, f"value {spot.group(0).strip()[:40]!r} -> {value[:40]!r}"


def _key_mutation(text: str, rng: random.Random) -> tuple[str, str]:
    """Misspell a key (YAML / TOML): a typo the runner must not ignore silently."""
    keys = list(re.finditer(r"(?m)^(\s*-?\s*)([A-Za-z_][\w-]*)(\s*[:=])", text))
    if not keys:
        return _char_mutation(text, rng)
    spot = rng.choice(keys)
    key = spot.group(2)
    i = rng.randrange(len(key))
    typo = key[:i] + key[i + 1 :] if len(key) > 1 else key + "x"
    if rng.random() < 0.3:
        typo = key + "s"
    new = text[: spot.start(2)] + typo + text[spot.end(2) :]
    return new, f"key {key!r} -> {typo!r}"


def _sql_mutation(text: str, rng: random.Random) -> tuple[str, str]:
    op = rng.choice(["uncomment", "deep parens", "drop keyword", "bad ref", "jinja"])
    if op == "uncomment" and "--" in text:
        return text.replace("--", "", 1), "delete a '--' comment marker"
    if op == "deep parens":
        depth = rng.choice([100, 1000, 5000])
        return text.replace("select", "select " + "(" * depth + "1" + ")" * depth + " as d,", 1), (
            f"parentheses {depth} deep"
        )
    if op == "drop keyword":
        word = rng.choice(["select", "from", "group by", "as", "on", "join", "where"])
        return text.replace(word, "", 1), f"drop {word!r}"
    if op == "bad ref":
        return text.replace("ref('", "ref('x", 1).replace(
            "source('shop', '", "source('shop', 'x", 1
        ), ("unknown ref or source")
    snippet = rng.choice(
        [
            "{{ nope }}",
            "{{ x | nofilter }}",
            "{% if %}",
            "{{ ref() }}",
            "{{ config(nope='bar') }}",
            "{{ config(materialized='tabel') }}",
            "{{ config(tags=3) }}",
            "{{ var('nope') }}",
            "{{ exceptions.raise_compiler_error('m') }}",
            "{{ none.x }}",
            "{{ 1/0 }}",
            "{% endif %}",
            "{{ config(materialized='incremental', incremental_strategy='nope') }}",
            "{{ config(enabled='no') }}",
            "{{ config(schema='') }}",
            "{{ config(publish='maybe') }}",
        ]
    )
    lines = text.split("\n")
    i = rng.randrange(len(lines))
    lines.insert(i, snippet)
    return "\n".join(lines), f"insert {snippet!r} at line {i + 1}"


def _macro_mutation(text: str, rng: random.Random) -> tuple[str, str]:
    op = rng.choice(["raise", "none", "recurse", "char", "line"])
    body = {
        "raise": "{{ exceptions.raise_compiler_error('m') }}",
        "none": "{{ none.x }}",
        "recurse": "{{ net(amount, rate) }}",
    }.get(op)
    if body is not None:
        return text.replace("round(", body + " round(", 1), f"macro body gets {body!r}"
    return _char_mutation(text, rng) if op == "char" else _line_mutation(text, rng)


def _csv_mutation(text: str, rng: random.Random) -> tuple[bytes, str]:
    lines = text.rstrip("\n").split("\n")
    i = rng.randrange(len(lines))
    op = rng.choice(
        [
            "extra field",
            "empty extra field",
            "missing field",
            "value",
            "value",
            "header case",
            "duplicate header",
            "rename header",
            "raw byte",
            "truncate",
            "empty file",
            "long line",
            "delete line",
        ]
    )
    if op == "extra field":
        lines[i] += ",x"
    elif op == "empty extra field":
        lines[i] += ","
    elif op == "missing field":
        lines[i] = lines[i].rsplit(",", 1)[0]
    elif op == "value" and i > 0:
        cells = lines[i].split(",")
        cells[rng.randrange(len(cells))] = rng.choice(CSV_VALUES)
        lines[i] = ",".join(cells)
    elif op == "header case":
        lines[0] = lines[0].upper()
    elif op == "duplicate header":
        lines[0] = lines[0].replace(lines[0].split(",")[-1], lines[0].split(",")[0])
    elif op == "rename header":
        lines[0] = lines[0].replace(lines[0].split(",")[-1], "renamed")
    elif op == "raw byte":
        data = ("\n".join(lines) + "\n").encode()
        at = rng.randrange(len(data))
        byte = rng.choice(RAW_BYTES)
        return data[:at] + byte + data[at:], f"insert byte {byte!r} at {at}"
    elif op == "truncate":
        data = ("\n".join(lines) + "\n").encode()
        at = rng.randrange(1, len(data))
        return data[:at], f"truncate at byte {at}"
    elif op == "empty file":
        return b"", "empty file"
    elif op == "long line":
        lines[i] = lines[i] + "," + "x" * 1_000_000
    elif op == "delete line":
        del lines[i]
    return ("\n".join(lines) + "\n").encode(), f"{op} (line {i + 1})"


def _bytes_mutation(text: str, rng: random.Random) -> tuple[bytes, str]:
    data = text.encode()
    at = rng.randrange(len(data) + 1)
    byte = rng.choice(RAW_BYTES)
    return data[:at] + byte + data[at:], f"insert byte {byte!r} at {at}"


def make_cases(count: int, seed: int) -> list[tuple[Case, bytes | None]]:
    rng = random.Random(seed)
    families = list(FAMILIES)
    cases = []
    for index in range(count):
        family = families[index % len(families)]
        if family == "CLI flags":
            args = list(rng.choice(CLI_CASES))
            cases.append((Case(index, family, "", "command line", args), None))
            continue
        rel = rng.choice(FAMILIES[family])
        text = textwrap.dedent(FILES[rel])
        roll = rng.random()
        if family in ("seed CSV", "landing CSV"):
            data, what = _csv_mutation(text, rng)
        elif roll < 0.08:
            data, what = _bytes_mutation(text, rng)
        else:
            if family == "SQL":
                ops = [_sql_mutation, _sql_mutation, _char_mutation, _line_mutation]
            elif family == "macros":
                ops = [_macro_mutation]
            else:
                ops = [
                    _value_mutation,
                    _value_mutation,
                    _key_mutation,
                    _char_mutation,
                    _line_mutation,
                ]
            op = rng.choice(ops)
            if op is _value_mutation:
                new, what = op(text, rng, family)
            else:
                new, what = op(text, rng)
            data = new.encode()
        args = ["build", "--log-format", "plain"]
        cases.append((Case(index, family, rel, what, args), data))
    return cases


_LOCATED = re.compile(r"(?m)(?:^error: |^warning: |^  )(?:/[^\s:]+/)?[\w./-]+\.\w+(?::\d+)?: ")


_WARNED = re.compile(r"(?m)^warning: |\b[1-9]\d* warn\b")


def classify(case: Case, code: int | None, output: str) -> str:
    if code is None:
        return "hang"
    if "Traceback (most recent call last)" in output:
        return "traceback"
    if code == 0:
        # the unmutated project builds without a warning (main() checks it)
        return "accepted, warned" if _WARNED.search(output) else "accepted, no word"
    errors = "\n".join(line for line in output.splitlines() if not line.startswith("warning:"))
    if _LOCATED.search(errors):
        return "refused, located"
    if case.family == "CLI flags":
        return "refused, usage"
    return "refused, no location"


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def run_case(case: Case, data: bytes | None, timeout: float, base: Path) -> Case:
    with tempfile.TemporaryDirectory(prefix="mut-", ignore_cleanup_errors=True) as tmp:
        root = Path(tmp) / "project"
        shutil.copytree(base, root)
        if data is not None:
            (root / case.file).write_bytes(data)
        env = {k: v for k, v in os.environ.items() if not k.startswith("RUNNER_")}
        env["COLUMNS"] = "100"
        # Plain-SQL checks even when a mutation breaks `validator = "sql"` (importing
        # Great Expectations is not what is being tested, and costs seconds per case).
        env["RUNNER_VALIDATOR"] = "sql"
        started = time.perf_counter()
        # A session of its own, so that what the case started (a Spark JVM when a mutation
        # says type: spark) is ended with it and stops writing into the folder.
        proc = subprocess.Popen(
            [str(RUNNER), *case.args],
            cwd=root,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        try:
            out, err = proc.communicate(timeout=timeout)
            code: int | None = proc.returncode
        except subprocess.TimeoutExpired:
            _kill_group(proc.pid)
            out, err = proc.communicate()
            code = None
        _kill_group(proc.pid)
        output = (out + err).decode("utf-8", "replace")
        case.seconds = round(time.perf_counter() - started, 2)
    case.exit_code = code
    case.outcome = classify(case, code, output)
    found = [ln for ln in output.splitlines() if ln.startswith(("error:", "Error:", "  "))]
    tail = output.strip().splitlines()[-1:] if output.strip() else [""]
    case.message = (found[0] if found and case.outcome != "traceback" else tail[0])[:300]
    if case.outcome in ("traceback", "hang", "refused, no location"):  # progress, as found
        print(
            f"  {case.outcome}: #{case.id} {case.family} {case.file} {case.mutation}: "
            f"{case.message}",
            file=sys.stderr,
            flush=True,
        )
    return case


OUTCOMES = [
    "traceback",
    "hang",
    "refused, located",
    "refused, usage",
    "refused, no location",
    "accepted, warned",
    "accepted, no word",
]


def table(cases: list[Case]) -> str:
    counts = {f: Counter(c.outcome for c in cases if c.family == f) for f in FAMILIES}
    head = "| family | cases | " + " | ".join(OUTCOMES) + " |"
    rows = [head, "| --- " * (len(OUTCOMES) + 2) + "|"]
    for family, counter in counts.items():
        total = sum(counter.values())
        rows.append(
            f"| {family} | {total} | " + " | ".join(str(counter[o]) for o in OUTCOMES) + " |"
        )
    every = Counter(c.outcome for c in cases)
    rows.append(f"| **all** | {len(cases)} | " + " | ".join(str(every[o]) for o in OUTCOMES) + " |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--spark-timeout", type=float, default=600.0)
    parser.add_argument("--out", type=Path, default=Path("bench/results/mutations.json"))
    parser.add_argument(
        "--report",
        action="store_true",
        help="write --out from the cases an interrupted run finished, running no more",
    )
    args = parser.parse_args()
    if not RUNNER.exists():
        sys.exit(f"no runner command next to {sys.executable}: run with the project's venv")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="mut-base-") as tmp:
        base = Path(tmp) / "project"
        for rel, text in FILES.items():
            path = base / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text), encoding="utf-8")
        check = subprocess.run(
            [str(RUNNER), "build", "--log-format", "plain"], cwd=base, capture_output=True
        )
        if check.returncode != 0 and not args.report:
            sys.exit("the unmutated project does not build:\n" + check.stdout.decode())
        if _WARNED.search(check.stdout.decode() + check.stderr.decode()):
            sys.exit("the unmutated project warns: a warning would not tell a mutation apart")
        cases = make_cases(args.cases, args.seed)
        # Each result is appended as it comes, so an interrupted run resumes where it was.
        partial = args.out.with_suffix(".partial.jsonl")
        partial.parent.mkdir(parents=True, exist_ok=True)
        finished = {}
        if partial.exists():
            for line in partial.read_text().splitlines():
                record = json.loads(line)
                if record["seed"] == args.seed:
                    finished[record["case"]["id"]] = Case(**record["case"])
        todo = [] if args.report else [c for c in cases if c[0].id not in finished]

        lock = threading.Lock()

        def one(item: tuple[Case, bytes | None]) -> Case:
            spark = item[1] is not None and b"type: spark" in item[1]
            case = run_case(item[0], item[1], args.spark_timeout if spark else args.timeout, base)
            with lock, partial.open("a") as fh:
                fh.write(json.dumps({"seed": args.seed, "case": asdict(case)}) + "\n")
            return case

        with ThreadPoolExecutor(args.workers) as pool:
            ran = list(pool.map(one, todo))
        done = sorted([*finished.values(), *ran], key=lambda c: c.id)
    elapsed = time.perf_counter() - started
    summary = {
        "cases": len(done),
        "planned": args.cases,
        "seed": args.seed,
        "workers": args.workers,
        "timeout_s": args.timeout,
        "spark_timeout_s": args.spark_timeout,
        "elapsed_s": round(elapsed, 1),
        "outcomes": dict(Counter(c.outcome for c in done)),
        "by_family": {f: dict(Counter(c.outcome for c in done if c.family == f)) for f in FAMILIES},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps({"summary": summary, "cases": [asdict(c) for c in done]}, indent=1) + "\n"
    )
    print(table(done))
    if len(done) == args.cases:
        partial.unlink()
    print(f"\n{len(done)} cases in {elapsed:.0f}s; results in {args.out}")
    for case in done:
        if case.outcome in ("traceback", "hang", "refused, no location"):
            print(
                f"  {case.outcome}: #{case.id} {case.family} {case.file} {case.mutation}: "
                f"{case.message}"
            )


if __name__ == "__main__":
    main()
