"""Worker processes give the same results as in-process runs; the parse cache is safe."""

from __future__ import annotations

import pickle

import pytest

import runner.parallel as parallel
from runner.cache import ParseCache
from runner.errors import ErrorGroup, ProjectError
from runner.parser import load_project
from runner.project import load_settings, load_target


def test_errors_survive_pickling_with_location():
    error = ProjectError("boom", path="models/a.sql", line=3, hint="fix it")
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.message, str(copy.path), copy.line, copy.hint) == (
        "boom",
        "models/a.sql",
        3,
        "fix it",
    )
    group = pickle.loads(pickle.dumps(ErrorGroup([error, ProjectError("two")])))
    assert [e.message for e in group.errors] == ["boom", "two"]


def test_workers_fork_and_keep_order(monkeypatch):
    monkeypatch.setenv("RUNNER_WORKERS", "2")
    monkeypatch.setattr(parallel, "MIN_ITEMS_TO_FORK", 4)
    import os

    parent = os.getpid()
    offset = 1000  # a closure over parent state: inherited by the fork, not pickled
    with parallel.Workers(lambda x: (x + offset, os.getpid())) as workers:
        results = workers.map(list(range(40)))
        assert workers._pool is not None
    assert [r[0] for r in results] == [x + 1000 for x in range(40)]
    assert any(pid != parent for _, pid in results)


def test_workers_stay_in_process_for_small_batches(monkeypatch):
    monkeypatch.setenv("RUNNER_WORKERS", "2")
    import os

    with parallel.Workers(lambda x: os.getpid()) as workers:
        assert set(workers.map([1, 2, 3])) == {os.getpid()}
        assert workers._pool is None


def _load(root):
    settings = load_settings(root)
    return load_project(settings, load_target(settings, None, None))


def _many_models(count: int) -> dict[str, str]:
    files = {"macros/m.sql": "{% macro double(x) %}{{ x }} * 2{% endmacro %}"}
    files["models/m000.sql"] = "select 1 as a, 2 as b"
    for i in range(1, count):
        files[f"models/m{i:03d}.sql"] = (
            f"-- model {i}\nselect *, {{{{ double('a') }}}} as c{i}\n"
            f"from {{{{ ref('m{(i - 1) // 2:03d}') }}}}"
        )
    return files


def test_forked_compile_equals_in_process_compile(make_project, monkeypatch):
    from runner.compiler import compile_models

    root = make_project(_many_models(40))
    monkeypatch.setenv("RUNNER_WORKERS", "1")
    serial = compile_models(_load(root), write=False, selected=None)
    (root / "target").rename(root / "target-serial")
    monkeypatch.setenv("RUNNER_WORKERS", "2")
    monkeypatch.setattr(parallel, "MIN_ITEMS_TO_FORK", 4)
    forked = compile_models(_load(root), write=False)
    assert {uid: (c.sql, c.columns) for uid, c in serial.nodes.items()} == {
        uid: (c.sql, c.columns) for uid, c in forked.nodes.items()
    }
    assert forked.nodes["model.m003"].columns == ("a", "b", "c1", "c3")
    # the workers' cache entries came back: a warm run renders nothing
    import runner.templating as templating

    monkeypatch.setattr(templating.Renderer, "render", None)
    warm = compile_models(_load(root), write=False)
    assert warm.nodes["model.m039"].sql == forked.nodes["model.m039"].sql


def test_forked_parse_reports_every_error_with_location(make_project, monkeypatch):
    files = _many_models(20)
    files["models/m007.sql"] = "select 1\nfrom {{ reff('nope') }}"
    files["models/m011.sql"] = "select {{ var('missing_var') }}"
    monkeypatch.setenv("RUNNER_WORKERS", "2")
    monkeypatch.setattr(parallel, "MIN_ITEMS_TO_FORK", 4)
    root = make_project(files)
    with pytest.raises(ErrorGroup) as info:
        _load(root)
    found = sorted((str(e.path), e.line) for e in info.value.errors)
    assert ("models/m011.sql", 1) in found
    assert ("models/m007.sql", 2) in found


def test_cache_round_trip_and_pruning(tmp_path):
    path = tmp_path / "cache.pickle"
    cache = ParseCache(path)
    cache.put("parse", "a", 1)
    cache.put("parse", "b", 2)
    cache.save()
    again = ParseCache(path)
    assert again.get("parse", "a") == 1
    again.save()  # only "a" was used: "b" is dropped
    assert ParseCache(path).get("parse", "b") is None
    assert ParseCache(path).get("parse", "a") == 1


def test_corrupt_or_foreign_cache_is_ignored(tmp_path):
    path = tmp_path / "cache.pickle"
    path.write_bytes(b"not a pickle")
    assert ParseCache(path).get("parse", "a") is None
    path.write_bytes(pickle.dumps({"versions": "other", "entries": {"parse:a": 1}}))
    assert ParseCache(path).get("parse", "a") is None


def test_take_puts_and_merge(tmp_path):
    worker = ParseCache(None)
    worker.put("sql", "k", {"columns": ("a",)})
    puts = worker.take_puts()
    assert worker.take_puts() == []
    parent = ParseCache(tmp_path / "c.pickle")
    parent.merge(puts)
    parent.save()
    assert ParseCache(tmp_path / "c.pickle").get("sql", "k") == {"columns": ("a",)}


def test_ls_keeps_the_compile_entries_so_the_next_compile_stays_warm(make_project, run_cli):
    """`runner ls` parses but compiles nothing: saving only what it touched dropped every
    compile entry, and the next `runner compile` paid a cold compile."""
    root = make_project(
        {
            "models/stg_orders.sql": "select * from {{ source('shop', 'orders') }}\n",
            "models/marts/revenue.sql": "select sum(amount) as amount\n"
            "from {{ ref('stg_orders') }}\n",
        }
    )
    cache = root / "target" / ".cache" / "parse.pickle"

    def kinds() -> set[str]:
        with cache.open("rb") as fh:
            return {key.split(":", 1)[0] for key in pickle.load(fh)["entries"]}

    assert run_cli("compile", "--project-dir", root).exit_code == 0
    compiled = kinds()
    assert run_cli("ls", "--project-dir", root).exit_code == 0
    assert kinds() == compiled


def test_the_cache_is_not_reused_once_the_runners_own_code_changed(tmp_path, monkeypatch):
    # an editable install between releases: the same version, other code that built the
    # cached SQL, so the entries must be built again
    from runner import cache

    module = tmp_path / "pkg" / "compiler.py"
    module.parent.mkdir()
    module.write_text("one = 1\n")
    monkeypatch.setattr(cache, "__file__", str(module.parent / "cache.py"))
    path = tmp_path / "target" / "cache.pickle"
    first = cache.ParseCache(path)
    first.put("compile", "k", "SELECT 1")
    first.save()
    assert cache.ParseCache(path).get("compile", "k") == "SELECT 1"
    module.write_text("one = 2  # edited\n")
    assert cache.ParseCache(path).get("compile", "k") is None


def test_an_entry_pruned_by_a_save_mid_run_is_still_read_and_saved_again(tmp_path):
    """A build saves once it compiled (pruning the kinds it used so far), then reads more
    entries of those kinds (the source-view statements): they must still be found, and
    the last save must write them back."""
    path = tmp_path / "cache.pickle"
    first = ParseCache(path)
    first.put("statements", "compile", 1)
    first.put("statements", "source view", 2)
    first.save()
    run = ParseCache(path)
    assert run.get("statements", "compile") == 1
    run.save()  # the compile's save: "source view" not used yet
    assert run.get("statements", "source view") == 2
    run.save()
    assert ParseCache(path).get("statements", "source view") == 2
