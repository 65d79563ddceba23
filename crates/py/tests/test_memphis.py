"""The Python package against the `memphis` binary: same figures, same messages."""

from __future__ import annotations

import concurrent.futures
import re
from pathlib import Path

import pandas as pd
import pytest

import memphis

from conftest import REPO, need


# ----- simulate -----


def test_default_simulation_is_the_clis(cli):
    report = memphis.simulate()
    expected = cli.json("simulate")
    assert report.step_time_s == expected["step"]["time_s"]
    # Not only the step: the whole report is the one `--json` prints.
    assert report.to_dict() == expected


def test_overrides_are_the_clis_flags(cli):
    report = memphis.simulate(
        "dgx-h100-llama3-70b", gpus=2048, global_batch=1024, seq_len=4096, sequence_parallel=True
    )
    expected = cli.json(
        "simulate", "dgx-h100-llama3-70b", "--gpus", "2048", "--global-batch", "1024",
        "--seq-len", "4096", "--sequence-parallel", "true",
    )
    assert report.to_dict() == expected
    assert report.gpus == 2048
    assert report.step_time_s == expected["step"]["time_s"]
    assert report.mfu == expected["step"]["mfu"]
    assert 0 < report.mfu_causal < report.mfu
    # The preset runs FP8: its MFU of the FP8 peak is half that of the BF16 peak (H100).
    assert report.mfu_of_fp8_peak == expected["step"]["mfu_of_fp8_peak"]
    assert abs(report.mfu_of_fp8_peak / report.mfu - 0.5) < 1e-3
    assert report.days == expected["run"]["days_p50"]
    assert report.memory_gib == expected["memory"]["per_gpu_gib"]
    rel = expected["reliability"]
    assert (report.ettr, report.interruptions, report.planned_interruptions) == (
        rel["ettr"], rel["interruptions"], rel["planned_interruptions"]
    )


def test_model_file_and_switches(cli):
    config = REPO / "crates" / "core" / "testdata" / "hf"
    configs = sorted(config.glob("*.json"))
    need("a Hugging Face config in crates/core/testdata/hf", bool(configs), "the repository's test data")
    path = str(next((c for c in configs if "llama" in c.name.lower()), configs[0]))
    report = memphis.simulate(model=path, cluster="dgx-h100", gpus=512, step_model="analytical", allow_oom=True)
    expected = cli.json(
        "simulate", "--model", path, "--cluster", "dgx-h100", "--gpus", "512",
        "--step-model", "analytical", "--allow-oom",
    )
    assert report.to_dict() == expected


def test_a_report_run_anyway_says_it_does_not_fit():
    kw = dict(tp=1, pp=1, cp=1, global_batch=1024, step_model="analytical")
    with pytest.warns(memphis.MemphisWarning, match="DOES NOT FIT") as caught:
        oom = memphis.simulate("dgx-h100-llama3-70b", allow_oom=True, **kw)
    # From the caller's line, not the package's.
    assert all(w.filename == __file__ for w in caught)
    assert not oom.fits
    assert repr(oom).endswith(f", DOES NOT FIT ({oom.memory_gib:.1f} GiB per GPU)>")
    assert "DOES NOT FIT" not in repr(memphis.simulate("dgx-h100-llama3-70b", step_model="analytical"))


def test_scenario_dict_is_a_toml_file(cli, tmp_path: Path):
    scenario = {"preset": "dgx-h100-llama3-70b", "parallel": {"tp": 8}, "training": {"gpus": 512}}
    path = tmp_path / "s.toml"
    path.write_text('preset = "dgx-h100-llama3-70b"\n[parallel]\ntp = 8\n[training]\ngpus = 512\n')
    assert memphis.simulate(scenario).to_dict() == cli.json("simulate", str(path))
    assert memphis.simulate(str(path)).to_dict() == cli.json("simulate", str(path))
    assert memphis.simulate(path).step_time_s == memphis.simulate(scenario).step_time_s


def test_scenario_dict_model_may_name_a_config_file(cli, tmp_path: Path):
    # As in a scenario file, [model] preset may name a config.json: the dict reads it
    # (from the working folder, or an absolute path) and runs the scenario the CLI runs.
    config = REPO / "crates/core/testdata/hf/llama3.1-8b.json"
    scenario = {
        "preset": "dgx-h100-llama3-70b",
        "model": {"preset": str(config)},
        "parallel": {"tp": 2, "pp": 1, "vpp": 1},
    }
    path = tmp_path / "s.toml"
    path.write_text(
        f'preset = "dgx-h100-llama3-70b"\n[model]\npreset = "{config}"\n'
        "[parallel]\ntp = 2\npp = 1\nvpp = 1\n"
    )
    assert memphis.simulate(scenario).to_dict() == cli.json("simulate", str(path))


def test_report_renders():
    r = memphis.simulate("dgx-h100-llama3-70b")
    html = r.to_html()
    assert html.lstrip().lower().startswith("<!doctype html") and "dgx-h100-llama3-70b" in html
    assert '"step"' in r.to_json()
    assert "dgx-h100-llama3-70b" in repr(r)


def test_repr_gives_the_mean_days_where_failures_make_them_lopsided_and_keys_say_what_they_are():
    # 10B tokens on the default job: most trials see no failure (the median is the
    # ideal), the mean waits for some.
    short = memphis.simulate(tokens="10B")
    mean = short["reliability"]["days_mean"]
    assert mean > 1.1 * short.days
    assert repr(short).endswith(f"{short.days:.2g} days (mean {mean:.2g})>")
    assert "mean" not in repr(memphis.simulate("dgx-h100-llama3-70b"))
    with pytest.raises(KeyError, match="report.step_time_s is an attribute"):
        short["step_time_s"]
    with pytest.raises(KeyError, match="its keys: scenario, fits"):
        short["nope"]


def test_notebook_repr_is_a_compact_summary():
    # The full page is hundreds of KB (565 KB for memphis-405b): a notebook that shows
    # a report keeps a summary table; to_html() is the page.
    for r in (memphis.simulate("dgx-h100-llama3-70b", gpus=2560, global_batch=2048), memphis.simulate()):
        summary = r._repr_html_()
        assert len(summary) < 8_000 < len(r.to_html())
        assert summary.startswith("<table") and "to_html()" in summary
        assert r.scenario in summary and f"{r.step_time_s:.3f} s" in summary
        assert f"TP{r.plan['tp']} PP{r.plan['pp']}" in summary
        for note in r.notes:  # the planner's choice, escaped
            assert html_escape(note) in summary
        # Every row of the summary is filled from the report: the GPU, ETTR, power.
        rows = dict(r.summary())
        assert rows["GPUs"].endswith(f" x {r['cluster']['gpu']}") and r["cluster"]["gpu"]
        assert rows["ETTR"] == f"{r['reliability']['ettr']:.1%}"
        assert "MW facility" in rows["power"] and "MWh" in rows["energy"]
        # The plan as the CLI writes it (its vpp, and ETP where it is not TP).
        assert rows["plan"].startswith(r.plan["label"] + ", micro-batch")
        label = r.plan["label"]
        assert label.startswith(f"TP{r.plan['tp']} PP{r.plan['pp']}") and label.endswith(f"DP{r.plan['dp']}")
        assert (f"(vpp {r.plan['vpp']})" in label) == (r.plan["vpp"] > 1)


def html_escape(s: str) -> str:
    import html

    return html.escape(s)


def test_help_points_to_every_keyword(cli):
    import pydoc

    assert 'memphis.options("simulate")' in pydoc.render_doc(memphis.simulate)
    opts = memphis.options("simulate")
    keywords = set(opts["keyword"])
    assert {"gpus", "tp", "global_batch", "step_model", "allow_oom"} <= keywords
    assert not keywords & {"json", "html", "output", "help"}
    assert opts.set_index("keyword").loc["allow_oom", "switch"]
    assert not opts.set_index("keyword").loc["gpus", "switch"]
    helptext = cli.run("simulate", "--help").stdout
    assert all(f in helptext for f in opts["flag"])
    assert set(memphis.options("plan")["keyword"]) >= {"objective", "top"}
    with pytest.raises(memphis.ScenarioError):
        memphis.options("nonsense")
    # The values a keyword takes, as --help lists them; none for numbers and switches.
    choices = opts.set_index("keyword")["choices"]
    assert choices["step_model"] == "timeline,analytical"
    assert all(v in helptext for v in choices["step_model"].split(","))
    assert pd.isna(choices["gpus"]) and pd.isna(choices["allow_oom"])


# ----- errors -----


def test_unknown_preset_is_the_clis_error(cli):
    with pytest.raises(memphis.ScenarioError) as e:
        memphis.simulate("no-such-preset")
    assert str(e.value) == cli.error("simulate", "no-such-preset")
    assert isinstance(e.value, ValueError)


def test_notes_and_advice_name_keywords_not_flags(cli):
    # The CLI's note says "(set --tokens, --global-batch, --seq-len)"; a notebook gets
    # the keywords, in the report, its dict and a sweep's row alike.
    args = dict(model="llama3-8b", cluster="dgx-h100", gpus=64)
    said = cli.run("simulate", "--model", "llama3-8b", "--cluster", "dgx-h100", "--gpus", "64", "--json")
    assert "(set --tokens, --global-batch, --seq-len)" in said.stdout
    r = memphis.simulate(**args)
    assert any(n.endswith("(set tokens, global_batch, seq_len)") for n in r.notes), r.notes
    df = memphis.sweep(grid={"gpus": [64]}, model="llama3-8b", cluster="dgx-h100", progress=False)
    for text in [*r.notes, *r.to_dict()["notes"], df["notes"][0]]:
        assert re.search(r"--[a-z]", text) is None, text
    # An error's advice too: the keyword and the value a notebook would write.
    with pytest.raises(memphis.ScenarioError) as e:
        memphis.simulate("dgx-h100-llama3-70b", gpus=1024, tp=2)
    assert 'recompute="full"' in str(e.value) and "allow_oom=True runs it anyway" in str(e.value)


def test_negative_gpu_count_is_the_clis_error(cli):
    with pytest.raises(memphis.ScenarioError) as e:
        memphis.simulate(gpus=-5)
    # The CLI's words, with the keyword for the flag and Python's help for --help.
    said = cli.error("simulate", "--gpus", "-5")
    assert "'--gpus <GPUS>'" in said and said.endswith(" (see --help)")
    assert str(e.value) == said.replace("'--gpus <GPUS>'", "keyword gpus").replace(
        " (see --help)", " (memphis.options('simulate'))"
    )


def test_field_given_as_keyword_is_named_by_its_keyword(cli):
    with pytest.raises(memphis.ScenarioError) as e:
        memphis.simulate(global_batch=7)
    # The CLI's error, with the keyword where the CLI names its flag.
    said = cli.error("simulate", "--global-batch", "7")
    assert "(given as --global-batch)" in said
    assert str(e.value) == said.replace("--global-batch", "keyword global_batch")


def test_every_argument_error_names_the_keyword():
    for call, words in [
        (lambda: memphis.collective("all_reduce", gpus=0), "gpus = 0: from 2"),
        (lambda: memphis.simulate(plan="bogus"), "plan = bogus: only `auto`"),
        (lambda: memphis.fabric_bench(gpus=3), "not provided: keyword pattern"),
        (lambda: memphis.collective(op="bogus", gpus=8), "for keyword op ["),
        (lambda: memphis.simulate(recompute="x"), "for keyword recompute ["),
        # A cluster's fields go in the scenario dict, which the error says.
        (
            lambda: memphis.simulate(cluster={"gpus": 100}),
            "keyword cluster = a dict: cluster takes a preset name or a file; give its "
            "fields in the scenario dict, as scenario={'preset': 'memphis-405b', "
            "'cluster': {...}}",
        ),
        (lambda: memphis.simulate(tp={"a": 1}), "keyword tp = a dict: tp takes one value"),
    ]:
        with pytest.raises(memphis.ScenarioError) as e:
            call()
        assert words in str(e.value)
        assert "--" not in str(e.value), str(e.value)


def test_the_form_a_dict_keyword_is_told_of_runs():
    with pytest.raises(memphis.ScenarioError) as e:
        memphis.simulate(cluster={"preset": "dgx-h100", "gpus": 1024})
    assert "scenario={'preset': 'memphis-405b', 'cluster': {...}}" in str(e.value)
    r = memphis.simulate(
        scenario={"preset": "memphis-405b", "cluster": {"preset": "dgx-h100", "gpus": 1024}},
        gpus=1024,
        plan="auto",
    )
    assert r.gpus == 1024


def test_unknown_keyword_is_named_as_python_names_it():
    # The CLI says "unexpected argument '--gpuz'"; a notebook gets the keyword.
    with pytest.raises(memphis.ScenarioError) as e:
        memphis.simulate(gpuz=8)
    assert str(e.value) == (
        "unexpected keyword 'gpuz' for simulate (did you mean 'gpu'?): memphis.options('simulate') lists the keywords it takes"
    )
    with pytest.raises(
        memphis.ScenarioError,
        match=r"unexpected keyword 'global_btach' for plan \(did you mean 'global_batch'\?\)",
    ):
        memphis.plan(global_btach=8)


def test_malformed_dict_is_the_clis_error_for_the_same_file(cli, tmp_path: Path):
    path = tmp_path / "bad.toml"
    for scenario, toml, key in [
        ({"parallel": {"tpp": 3}}, "[parallel]\ntpp = 3\n", "parallel.tpp = 3"),
        ({"parallel": {"tp": "eight"}}, '[parallel]\ntp = "eight"\n', 'parallel.tp = "eight"'),
        ({"nonsense": 1}, "nonsense = 1\n", "nonsense = 1"),
        ({"training": {"gpus": 512.5}}, "[training]\ngpus = 512.5\n", "training.gpus = 512.5"),
    ]:
        path.write_text(toml)
        with pytest.raises(memphis.ScenarioError) as e:
            memphis.simulate(scenario)
        # The same words; only the context differs (the file's path and line, the dict's
        # key: the TOML text memphis made of the dict is nowhere the user can see).
        expected = cli.error("simulate", str(path))
        assert str(e.value).startswith(f"scenario dict: `{key}`: ")
        assert str(e.value).split("`: ", 1)[-1] == expected.split("): ", 1)[-1]
    for bad in ({"parallel": {"tp": object()}}, [1, 2], 3.5):
        with pytest.raises(memphis.ScenarioError):
            memphis.simulate(bad)  # type: ignore[arg-type]


def test_dict_values_toml_has_not_are_refused_by_key():
    import decimal

    import pandas as pd

    base = "dgx-h100-llama3-70b"
    for value, why in [
        (None, "no value (TOML has no null)"),
        ({1, 2}, "a set: give a list"),
        (pd.NA, "a NAType, not a TOML value"),
        (2**64, "beyond TOML's integers"),
    ]:
        with pytest.raises(memphis.ScenarioError) as e:
            memphis.simulate({"preset": base, "training": {"gpus": value}})
        assert str(e.value).startswith(f"scenario dict: training.gpus = {value!r}: {why}"), str(e.value)
    # A whole float (a pandas row's 512.0) is the integer, as a keyword takes it; a
    # Decimal is the number it holds.
    as_int = memphis.simulate({"preset": base, "training": {"gpus": 512}}).to_dict()
    assert memphis.simulate({"preset": base, "training": {"gpus": 512.0}}).to_dict() == as_int
    assert memphis.simulate(base, gpus=512.0).to_dict() == as_int
    tokens = {"preset": base, "training": {"tokens": decimal.Decimal("1e12")}}
    assert memphis.simulate(tokens).to_dict() == memphis.simulate(base, tokens=10**12).to_dict()


def test_numpy_values_in_a_scenario_dict(cli, tmp_path: Path):
    import numpy as np

    path = tmp_path / "s.toml"
    path.write_text(
        'preset = "dgx-h100-llama3-70b"\n[parallel]\ntp = 8\nsequence_parallel = true\n'
        "[training]\ngpus = 512\ntokens = 1.5e12\n"
    )
    scenario = {
        "preset": "dgx-h100-llama3-70b",
        "parallel": {"tp": np.int64(8), "sequence_parallel": np.bool_(True)},
        "training": {"gpus": np.int32(512), "tokens": np.float64(1.5e12)},
    }
    assert memphis.simulate(scenario).to_dict() == cli.json("simulate", str(path))
    for value, shown in [(float("nan"), "nan"), (np.float32("inf"), "inf"), (-np.inf, "-inf")]:
        with pytest.raises(memphis.ScenarioError) as e:
            memphis.simulate({"preset": "dgx-h100-llama3-70b", "training": {"tokens": value}})
        assert str(e.value) == f"scenario dict: training.tokens = {shown}: not a finite number"


def test_output_options_are_refused():
    with pytest.raises(memphis.ScenarioError, match="to_html"):
        memphis.simulate(html="x.html")


# ----- pickling (Dask, process pools) -----


def test_report_pickles_with_its_page():
    import pickle

    r = memphis.simulate("dgx-h100-llama3-70b", gpus=2560, global_batch=2048)
    back = pickle.loads(pickle.dumps(r))
    assert back.to_dict() == r.to_dict() and back.to_json() == r.to_json()
    assert back.to_html() == r.to_html() and back._repr_html_() == r._repr_html_()
    assert back.notes == r.notes and back.step_time_s == r.step_time_s and repr(back) == repr(r)
    assert len(pickle.dumps(r)) < len(r.to_html())  # the page travels compressed
    # The same report compares equal, however it travelled; another does not.
    assert back == r and hash(back) == hash(r)
    assert r != memphis.simulate("dgx-h100-llama3-70b", gpus=2048)


def test_errors_pickle_and_import_from_memphis():
    import pickle

    for cls in (memphis.ScenarioError, memphis.InternalError):
        assert cls.__module__ == "memphis"
        assert pickle.loads(pickle.dumps(cls)) is cls
    with pytest.raises(memphis.ScenarioError) as e:
        memphis.simulate("no-such-preset")
    back = pickle.loads(pickle.dumps(e.value))
    assert type(back) is memphis.ScenarioError and str(back) == str(e.value)


# ----- the other commands -----


def test_plan_is_one_row_per_plan(cli):
    df = memphis.plan("dgx-h100-llama3-70b", top=3)
    expected = cli.json("plan", "dgx-h100-llama3-70b", "--top", "3")
    assert isinstance(df, pd.DataFrame) and len(df) == len(expected["top"]) == 3
    assert df["step_time_s"].tolist() == [p["step_time_s"] for p in expected["top"]]
    assert df["tp"].tolist() == [p["tp"] for p in expected["top"]]


def test_reliability_cluster_collective_validate_presets(cli, tmp_path):
    assert memphis.reliability(gpus=16384, days=54) == cli.json("reliability", "--gpus", "16384", "--days", "54")
    assert memphis.cluster(cluster="dgx-h100") == cli.json("cluster", "--cluster", "dgx-h100")
    df = memphis.collective("all_reduce", gpus=8, minbytes="1K", maxbytes="1M")
    rows = cli.json("collective", "all_reduce", "-g", "8", "-b", "1K", "-e", "1M")
    rows = rows if isinstance(rows, list) else rows["rows"]
    assert df["time_us"].tolist() == [r["time_us"] for r in rows]
    # The table says what it measured.
    assert df.attrs == {"op": "all_reduce", "gpus": 8}
    # A data-parallel group under TP8: one rank a server, as `simulate` lists it.
    spread = memphis.collective("reduce_scatter", gpus=48, per_server=1, minbytes="1G", maxbytes="1G", cluster="dgx-h100")
    rows = cli.json("collective", "reduce_scatter", "-g", "48", "--per-server", "1", "-b", "1G", "-e", "1G", "--cluster", "dgx-h100")
    assert spread["time_us"].tolist() == [r["time_us"] for r in rows]
    assert spread.attrs["per_server"] == 1 and spread["busbw_gbps"][0] < 50.0
    v = memphis.validate(suite="training", step_model="analytical")
    expected = cli.json("validate", "--suite", "training", "--step-model", "analytical")
    assert v["id"].tolist() == [c["id"] for c in expected["cases"]]
    # A case the model refuses: the binary fails the run, a notebook is warned, and the
    # row says why.
    bad = tmp_path / "some.toml"
    text = (REPO / "validation" / "training_public.toml").read_text()
    bad.write_text(text.replace('gpu = "', 'gpu = "Z-', 1))
    with pytest.warns(memphis.MemphisWarning, match=r"^1 of 41 cases could not be simulated"):
        some = memphis.validate(cases=str(bad))
    assert some["error"].notna().sum() == 1
    # A case's scenario, as `validate --scenario ID` prints it; an unknown id is the CLI's error.
    case = "megatron_h100_weak_32B"
    assert memphis.validate(scenario=case) == cli.run("validate", "--scenario", case).stdout
    with pytest.raises(memphis.ScenarioError) as e:
        memphis.validate(scenario="x")
    # The CLI's words, its flag named as the keyword.
    assert str(e.value) == memphis._memphis.flags_as_keywords(cli.error("validate", "--scenario", "x"))
    assert str(e.value).startswith("scenario: no training case 'x'")
    # A collective curve is a row per size, as its docstring says.
    c = memphis.validate(suite="collectives")
    curves = cli.json("validate", "--suite", "collectives")["cases"]
    assert len(c) == sum(len(k["size_bytes"]) for k in curves)
    first = curves[0]
    mine = c[c["id"] == first["id"]]
    assert mine["size_bytes"].tolist() == first["size_bytes"]
    # No error where nothing was published (nccl-tests' 0.00 GB/s): NaN, not 0.
    assert [None if pd.isna(e) else e for e in mine["error_pct"]] == first["error_pct"]
    assert None in first["error_pct"]
    assert c.attrs["collectives"]["summary"] == cli.json("validate", "--suite", "collectives")["summary"]
    # A measurement above what the case's links allow is warned of, as the binary does,
    # and its curve is still a row per size.
    fast = tmp_path / "fast.toml"
    fast.write_text(
        '[[case]]\nid = "a100_ag"\nsource = "x"\nop = "all_gather"\ngpu = "A100-SXM4-80GB"\n'
        'gpus = 16\ngpus_per_node = 8\nnic_gbps_per_gpu = 200\nfabric = "infiniband"\n'
        "size_bytes = [1048576, 1073741824]\nmeasured_busbw_gbps = [20.0, 362.0]\n"
    )
    with pytest.warns(memphis.MemphisWarning, match=r"^case a100_ag: measured_busbw_gbps\[1\] = 362"):
        f = memphis.validate(cases=str(fast))
    assert f["size_bytes"].tolist() == [1048576, 1073741824]
    p = memphis.presets()
    assert set(p["kind"]) == {"cluster", "model", "scenario"}
    assert p.loc[p["default"], "name"].tolist() == ["memphis-405b"]


def test_power_model_jobs_place_and_fabric_bench_are_the_clis(cli, tmp_path):
    # The grid's view: the report --json prints, its notes opening with the resolving ones.
    mine = memphis.power("dgx-h100-llama3-70b", window="2m", resolution="50ms", gpus=1024)
    theirs = cli.json(
        "power", "dgx-h100-llama3-70b", "--window", "2m", "--resolution", "50ms", "--gpus", "1024"
    )
    assert mine == theirs
    # A scenario dict reaches power as it reaches simulate.
    as_dict = memphis.power({"preset": "dgx-h100-llama3-70b", "training": {"gpus": 1024}}, window="2m")
    assert as_dict["step_s"] == memphis.simulate("dgx-h100-llama3-70b", gpus=1024).step_time_s
    assert memphis.model("llama3-70b") == cli.json("model", "llama3-70b")
    jobs_file = REPO / "examples" / "jobs" / "two-jobs.toml"
    assert memphis.jobs(jobs_file, routing="ecmp") == cli.json("jobs", str(jobs_file), "--routing", "ecmp")
    assert memphis.place(jobs_file, target_slowdown="3%") == cli.json(
        "place", str(jobs_file), "--target-slowdown", "3%"
    )
    bench = memphis.fabric_bench(cluster="dgx-h100", pattern="all-to-all", gpus=64)
    assert bench == cli.json("fabric-bench", "--cluster", "dgx-h100", "--pattern", "all-to-all", "--gpus", "64")
    # Files are the returned objects' business, not keywords.
    with pytest.raises(memphis.ScenarioError, match="csv: an output option"):
        memphis.power(csv=str(tmp_path / "p.csv"))
    assert not (tmp_path / "p.csv").exists()
    with pytest.raises(memphis.ScenarioError) as e:
        memphis.power(window="30d")
    said = cli.error("power", "--window", "30d")
    assert said.startswith("--window = ")
    assert str(e.value) == said.replace("--window", "window", 1)


# ----- sweeps -----

SCENARIOS = [
    "dgx-h100-llama3-70b",
    ("dgx-h100-llama3-70b", {"gpus": 2048, "precision": "fp8"}),
    ("dgx-a100-gpt3-175b", {"step_model": "analytical"}),
    {"preset": "dgx-h100-llama3-70b", "parallel": {"tp": 8}},
    ("memphis-405b", {"seq_len": 4096}),
]


def single(s):
    if isinstance(s, tuple):
        return memphis.simulate(s[0], **s[1])
    return memphis.simulate(s)


def test_sweep_equals_single_calls():
    df = memphis.sweep(SCENARIOS, progress=False)
    assert len(df) == len(SCENARIOS)
    for (_, row), s in zip(df.iterrows(), SCENARIOS):
        r = single(s)
        assert row["step_time_s"] == r.step_time_s
        assert row["days"] == r.days
        # The tail beside the median: a sweep over GPU counts shows the runs whose
        # spares run out (mean past p90 or near it), not just their median.
        assert (row["days_p90"], row["days_mean"]) == (r.days_p90, r.days_mean)
        assert row["days"] <= row["days_p90"] and r.ideal_days <= row["days_mean"]
        assert row["recompute"] == r.plan["recompute"]
        assert row["memory_gib"] == r.memory_gib
        assert row["mfu_causal"] == r.mfu_causal
        assert row["memory_tight"] == r.memory_tight
        assert row["precision"] == r.to_dict()["plan"]["precision"]
        assert row["scenario"] == r.scenario


def test_sweep_does_not_depend_on_threads():
    one = memphis.sweep(SCENARIOS, threads=1, progress=False)
    two = memphis.sweep(SCENARIOS, threads=2, progress=False)
    pd.testing.assert_frame_equal(one, two)


def test_grid_is_every_combination_in_order():
    df = memphis.sweep(grid={"gpus": [1024, 2048], "seq_len": [4096, 8192]}, base="dgx-h100-llama3-70b", progress=False)
    assert list(zip(df["gpus"], df["seq_len"])) == [(1024, 4096), (1024, 8192), (2048, 4096), (2048, 8192)]
    assert df.loc[1, "step_time_s"] == memphis.simulate("dgx-h100-llama3-70b", gpus=1024, seq_len=8192).step_time_s


def test_sweep_errors(cli):
    with pytest.raises(memphis.ScenarioError) as e:
        memphis.sweep(["dgx-h100-llama3-70b", "no-such-preset"], progress=False)
    assert str(e.value) == "sweep row 1 (input='no-such-preset'): " + cli.error("simulate", "no-such-preset")
    df = memphis.sweep(["dgx-h100-llama3-70b", "no-such-preset"], errors="keep", progress=False)
    assert df["error"].isna().tolist() == [True, False]
    # A grid option's values are a list: not a string (its characters), not one number.
    for bad in (64, "64"):
        with pytest.raises(memphis.ScenarioError, match=r"grid\['gpus'\] = .*: a list of values"):
            memphis.sweep(grid={"gpus": bad}, progress=False)
    with pytest.raises(memphis.ScenarioError, match="errors = 'bogus'"):
        memphis.sweep(["dgx-h100-llama3-70b"], errors="bogus", progress=False)
    # One scenario is not a list of them (its characters); a pair's options are a dict.
    with pytest.raises(memphis.ScenarioError, match="scenarios = 'memphis-405b': a list of scenarios"):
        memphis.sweep("memphis-405b", progress=False)
    with pytest.raises(memphis.ScenarioError, match=r"scenarios\[0\] = .*: a pair \(scenario, \{options\}\)"):
        memphis.sweep([("dgx-h100-llama3-70b", 5)], progress=False)
    # An option both in the grid and as a keyword would be dropped: refused.
    with pytest.raises(memphis.ScenarioError, match="gpus given both in grid and as a keyword"):
        memphis.sweep(grid={"gpus": [512]}, base="dgx-h100-llama3-70b", gpus=2048, progress=False)
    for threads in (-1, 0, 1.5, True):
        with pytest.raises(memphis.ScenarioError, match=f"threads = {threads!r}: a whole number, 1 or more"):
            memphis.sweep(grid={"gpus": [512]}, base="dgx-h100-llama3-70b", threads=threads, progress=False)


def test_a_failing_sweep_row_is_named(cli):
    grid = {"gpus": [1024, 2048], "tp": [4, 2]}
    with pytest.raises(memphis.ScenarioError) as e:
        memphis.sweep(grid=grid, base="dgx-h100-llama3-70b", progress=False)
    expected = cli.error("simulate", "dgx-h100-llama3-70b", "--gpus", "1024", "--tp", "2")
    # The CLI's words, the flags its advice names as keywords.
    assert "--recompute full" in expected
    expected = memphis._memphis.flags_as_keywords(expected)
    assert 'recompute="full"' in expected and "--" not in expected
    assert str(e.value) == f"sweep row 1 (gpus=1024, tp=2): {expected}"
    assert (e.value.row, e.value.input) == (1, {"gpus": 1024, "tp": 2})


def test_kept_errors_keep_integer_and_boolean_dtypes():
    grid = {"gpus": [1024, 1]}
    df = memphis.sweep(grid=grid, base="dgx-h100-llama3-70b", errors="keep", progress=False)
    assert df["error"].isna().tolist() == [True, False]
    for c in ("gpus", "tp", "pp", "cp", "dp", "global_batch", "seq_len"):
        assert str(df[c].dtype) == "Int64", c
    assert str(df["fits"].dtype) == "boolean" and str(df["memory_tight"].dtype) == "boolean"
    assert df["tp"].tolist()[0] == 4 and pd.isna(df["tp"].tolist()[1])
    # The input's columns do not depend on which rows ran: in_gpus is what was given.
    assert df["in_gpus"].tolist() == [1024, 1]
    assert list(df.columns[:2]) == ["in_gpus", "scenario"] and df.columns[-1] == "error"
    ok = memphis.sweep(grid=grid | {"gpus": [1024]}, base="dgx-h100-llama3-70b", progress=False)
    assert ok["tp"].dtype == "int64" and ok["fits"].dtype == bool
    assert list(ok.columns) == ["in_gpus", *memphis.SWEEP_COLUMNS]


def test_sweep_notes_say_what_the_planner_changed():
    df = memphis.sweep(grid={"gpus": [2048, 2560]}, base="dgx-h100-llama3-70b", global_batch=2048, progress=False)
    r = memphis.simulate("dgx-h100-llama3-70b", gpus=2560, global_batch=2048)
    # 80 x 32 GPUs: the preset's dp no longer divides the batch, so the planner steps in.
    assert r.plan["tp"] * r.plan["pp"] * r.plan["cp"] * r.plan["dp"] == 2560 and r.notes
    assert df["notes"].tolist() == ["", " | ".join(r.notes)]
    label = f"TP{r.plan['tp']} PP{r.plan['pp']} CP{r.plan['cp']}"
    assert f"the planner chose {label}" in df.loc[1, "notes"]
    assert df.columns[-1] == "notes"


def test_plan_attrs_hold_the_search():
    df = memphis.plan("dgx-h100-llama3-70b", top=2)
    assert df.attrs["plans_evaluated"] > df.attrs["plans_feasible"] > 0
    assert isinstance(df.attrs["fingerprint"], str) and df.attrs["objective"] == "step"
    assert "top" not in df.attrs


def test_plan_notes_are_the_clis(cli):
    df = memphis.plan(cluster="dgx-h100", model="llama3-8b", gpus=64, top=1)
    expected = cli.json("plan", "--cluster", "dgx-h100", "--model", "llama3-8b", "--gpus", "64", "--top", "1")
    # The preset's run (tokens, batch, sequence) taken for another model: said, not silent.
    assert df.attrs["notes"] == expected["notes"]
    assert df.attrs["notes"][0].startswith("from the default scenario ('memphis-405b')")


def test_plan_warns_where_the_table_cannot_show_it():
    # Mixtral on 512 H100s: the best plans fill the GPU; those with room run ~3% slower.
    config = str(REPO / "crates" / "core" / "testdata" / "hf" / "mixtral-8x7b.json")
    kw = dict(model=config, cluster="dgx-h100", gpus=512, global_batch=1024, seq_len=8192, top=1)
    with pytest.warns(memphis.MemphisWarning) as caught:
        df = memphis.plan(**kw)
    said = [str(w.message) for w in caught]
    assert df["memory_tight"].tolist() == [True]
    assert any("fills" in m and "may still run out of memory" in m for m in said), said
    roomy = df.attrs["best_with_room"]
    room = next(m for m in said if m.startswith("the planner's best plan that leaves room"))
    assert f"{roomy['step_time_s']:.3f} s a step" in room and "tp=" in room and "--" not in room


def test_reliability_power_and_model_warn_as_simulate_does():
    # A plan run anyway though it does not fit: every report says so, and each function
    # issues it as a warning from the caller's line, not only simulate().
    kw = dict(tp=1, pp=1, cp=1, global_batch=1024, allow_oom=True)
    for call in (
        lambda: memphis.reliability("dgx-h100-llama3-70b", **kw),
        lambda: memphis.power("dgx-h100-llama3-70b", window="1m", **kw),
    ):
        with pytest.warns(memphis.MemphisWarning, match="DOES NOT FIT") as caught:
            call()
        assert all(w.filename == __file__ for w in caught)
    # A vision-language config: what memphis does not model is a warning too.
    gemma = str(REPO / "crates" / "core" / "testdata" / "hf" / "gemma-3-27b-it.json")
    with pytest.warns(memphis.MemphisWarning, match="vision_config") as caught:
        m = memphis.model(gemma)
    assert [str(w.message) for w in caught] == m["warnings"]


def test_thread_pool_executor_gives_the_same_table():
    alone = memphis.sweep(SCENARIOS, progress=False)
    with concurrent.futures.ThreadPoolExecutor(2) as ex:
        sharded = memphis.sweep(SCENARIOS, executor=ex, shards=3, progress=False)
    pd.testing.assert_frame_equal(alone, sharded)


def test_dask_local_cluster_gives_the_same_table():
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        need("dask.distributed", False, "pip install 'dask[distributed]'")
    alone = memphis.sweep(SCENARIOS, progress=False)
    # Threads, not processes: starting worker processes costs seconds here, and the work
    # is the same Rust code either way.
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as lc:
        with Client(lc) as client:
            sharded = memphis.sweep(SCENARIOS, executor=client, progress=False)
    pd.testing.assert_frame_equal(alone, sharded)


def test_process_pool_after_the_parent_used_the_engine(tmp_path: Path):
    """A fork-started ProcessPoolExecutor (Linux's default) after a sweep and a simulate
    ran in the parent: the children build pools of their own, so it finishes, with the
    one-process table. In a subprocess with a timeout, so that a hang fails."""
    import subprocess
    import sys
    import textwrap

    out = tmp_path / "tables.pkl"
    script = textwrap.dedent(f"""
        import concurrent.futures, multiprocessing, pickle
        import memphis
        scenarios = {SCENARIOS!r}
        alone = memphis.sweep(scenarios, progress=False)   # the parent's pools start
        warm = memphis.simulate("dgx-h100-llama3-70b")      # and its Monte Carlo's
        fork = multiprocessing.get_context("fork")
        with concurrent.futures.ProcessPoolExecutor(2, mp_context=fork) as ex:
            forked = memphis.sweep(scenarios, executor=ex, shards=2, progress=False)
            report = ex.submit(memphis.simulate, "dgx-h100-llama3-70b").result()
            try:
                ex.submit(memphis.simulate, "no-such-preset").result()
                error = None
            except memphis.ScenarioError as e:
                error = str(e)
        with open({str(out)!r}, "wb") as f:
            pickle.dump((alone, forked, warm.to_dict(), report.to_dict(), error), f)
    """)
    try:
        p = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired:
        pytest.fail("a fork-started process pool hung after the parent ran a sweep")
    assert p.returncode == 0, p.stderr
    import pickle

    alone, forked, warm, report, error = pickle.loads(out.read_bytes())
    pd.testing.assert_frame_equal(alone, forked)
    pd.testing.assert_frame_equal(alone, memphis.sweep(SCENARIOS, progress=False))
    assert report == warm
    with pytest.raises(memphis.ScenarioError) as e:
        memphis.simulate("no-such-preset")
    assert error == str(e.value)


def test_progress_bar_counts_every_scenario(capsys):
    memphis.sweep(SCENARIOS, progress=True)
    err = capsys.readouterr().err
    assert f"{len(SCENARIOS)}/{len(SCENARIOS)}" in err and "memphis sweep" in err
    memphis.sweep(SCENARIOS, progress=False)
    assert "memphis sweep" not in capsys.readouterr().err


def test_html_is_the_clis_page(cli, tmp_path: Path):
    page = tmp_path / "r.html"
    p = cli.run("simulate", "dgx-h100-llama3-70b", "--html", str(page))
    assert p.returncode == 0, p.stderr
    assert memphis.simulate("dgx-h100-llama3-70b").to_html() == page.read_text()


def test_values_become_flag_text(cli):
    import numpy as np

    a = memphis.simulate("dgx-h100-llama3-70b", gpus=np.int64(2048), tokens=1e12,
                         recompute_modules=["core_attn", "layernorm"], recompute="selective")
    b = cli.json("simulate", "dgx-h100-llama3-70b", "--gpus", "2048", "--tokens", "1000000000000",
                 "--recompute-modules", "core_attn,layernorm", "--recompute", "selective")
    assert a.to_dict() == b


def test_a_list_for_a_keyword_of_one_value_is_refused():
    # A notebook's slip for a sweep: not joined into "64,128" nor run as 64.
    for value in ([64], (64,), [64, 128]):
        with pytest.raises(memphis.ScenarioError) as e:
            memphis.simulate("dgx-h100-llama3-70b", gpus=value)
        assert str(e.value).startswith("keyword gpus = [64"), str(e.value)
        assert "gpus takes one value; sweep(grid={'gpus': [...]})" in str(e.value)
    # A suggestion is a keyword Python takes, not an output option it refuses.
    with pytest.raises(memphis.ScenarioError) as e:
        memphis.simulate(top=5)
    assert "did you mean 'output'" not in str(e.value), str(e.value)


def test_the_namespace_holds_no_module_named_like_a_command():
    # `memphis.html` once was the standard library's html module, which a user took for
    # the CLI's --html: the package keeps its helpers' modules out of its names.
    assert not hasattr(memphis, "html")
    assert all(callable(getattr(memphis, name)) for name in memphis.__all__)


def test_a_switch_takes_true_or_false():
    with pytest.raises(memphis.ScenarioError) as e:
        memphis.simulate(allow_oom="no")
    assert str(e.value) == "allow_oom = \"no\": True or False (a switch of simulate)"


def test_input_columns_stay_whole_and_an_empty_grid_keeps_them():
    df = memphis.sweep(grid={"tp": [None, 8]}, base="dgx-h100-llama3-70b", progress=False)
    assert str(df["in_tp"].dtype) == "Int64" and df["in_tp"].isna().tolist() == [True, False]
    pairs = [("dgx-h100-llama3-70b", {"tp": 8}), ("dgx-h100-llama3-70b", {})]
    assert str(memphis.sweep(pairs, progress=False)["in_tp"].dtype) == "Int64"
    empty = memphis.sweep(grid={"gpus": []}, base="dgx-h100-llama3-70b", progress=False)
    assert len(empty) == 0 and empty.columns[0] == "in_gpus"
