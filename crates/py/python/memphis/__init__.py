"""memphis in Python: the ``memphis`` command line's questions as functions.

Every function takes the options of its command as keywords, spelled as the flags with
``_`` for ``-`` (``gpus=16384, tp=8, global_batch=2048, model="path/config.json"``), and
runs the binary's own code on them (the native module ``memphis._memphis``): the same
parsing, the same scenario layers, the same figures and the same error messages.

    >>> import memphis
    >>> memphis.simulate().step_time_s            # the default scenario, seconds
    >>> memphis.simulate("dgx-h100-llama3-70b", gpus=2048).days
    >>> memphis.sweep(grid={"gpus": [1024, 2048, 4096]}, base="dgx-h100-llama3-70b")

Bad input raises :class:`ScenarioError` (a ``ValueError``) with the line ``memphis``
prints after ``error:``, naming a keyword where the command line names its flag. Every command's keywords, with their help and defaults:
``memphis.options("simulate")`` (the same as ``memphis simulate --help``).

Reports and errors pickle (Dask, ``concurrent.futures.ProcessPoolExecutor``), and
the native code runs on thread pools of its own, rebuilt in a forked child.
"""

from __future__ import annotations

import html as _html
import importlib.util
import itertools
import json
import math
import numbers
import os
import sys
import warnings
import zlib
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Optional, Sequence, Union

from . import _memphis
from ._memphis import InternalError, ScenarioError

if TYPE_CHECKING:  # pandas is imported when a table is made, not with the package
    import pandas as pd

__all__ = [
    "Report",
    "ScenarioError",
    "InternalError",
    "MemphisWarning",
    "simulate",
    "plan",
    "sweep",
    "validate",
    "collective",
    "reliability",
    "cluster",
    "power",
    "model",
    "jobs",
    "place",
    "fabric_bench",
    "presets",
    "options",
]

__version__: str = _memphis.__version__

class MemphisWarning(UserWarning):
    """A result memphis warns of (a plan that fills the GPU or does not fit, failures
    that take most of the run), from :func:`simulate` and :func:`plan`, with the
    planner's best plan that leaves room where there is one."""


#: A scenario: a preset name, a TOML file, or a dict with a scenario file's sections.
Scenario = Union[str, "os.PathLike[str]", Mapping[str, Any], None]


def _text(value: Any) -> Union[str, bool, list]:
    """An option's value as its flag takes it: switches stay bool (the native side knows
    which options are switches), booleans of valued flags are `true`/`false`, lists are
    lists of such texts (the native side joins them for a flag that takes several,
    `recompute_modules=["core_attn", "moe_act"]`, and refuses them for one that takes
    one)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (list, tuple)) or (hasattr(value, "tolist") and callable(value.tolist)
                                            and getattr(value, "ndim", 0) > 0):
        items = value.tolist() if not isinstance(value, (list, tuple)) else value
        return [str(v).lower() if isinstance(v, bool) else str(_text(v)) for v in items]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
        # 1.5e13 tokens as the integer the command line would be given.
        return str(int(value))
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return _text(value.item())
    return str(value)


def _default_scenario() -> str:
    """The scenario a call without one runs (the native presets' default)."""
    return next(n for k, n, _, default in _memphis.presets() if k == "scenario" and default)


def _options(overrides: Mapping[str, Any]) -> list:
    for k, v in overrides.items():
        if isinstance(v, Mapping):
            # A keyword takes what its flag does; a cluster's or model's own fields go in
            # the scenario dict's section, as in a scenario file's [cluster] or [model].
            hint = (
                f"{k} takes a preset name or a file; give its fields in the scenario "
                f"dict, as scenario={{'preset': '{_default_scenario()}', '{k}': {{...}}}} "
                f"(a dict without 'preset' starts from nothing)"
                if k in ("cluster", "model")
                else f"{k} takes one value"
            )
            raise ScenarioError(f"keyword {k} = a dict: {hint}")
    return [(k, _text(v)) for k, v in overrides.items() if v is not None]


#: TOML's integers are signed 64-bit.
_TOML_INT = 2**63


def _plain(value: Any, key: str) -> Any:
    """A scenario dict's value as TOML takes it, or a ScenarioError naming its key
    (``key`` is the dotted path, ``training.tokens``): numpy scalars and arrays
    (anything with ``.tolist()`` or ``.item()``) as Python's; a whole float as the
    integer it is (512.0 from a pandas row is 512 GPUs, as a keyword takes it); other
    real numbers (``Decimal``) as floats. None (TOML has no null), NaN, infinities,
    integers beyond TOML's and anything else are refused."""
    def refuse(why: str) -> ScenarioError:
        return ScenarioError(f"scenario dict: {key} = {value!r}: {why}")

    if isinstance(value, Mapping):
        return {k: _plain(v, f"{key}.{k}" if key else str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, f"{key}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, (str, bool)):
        return value
    if value is None:
        raise refuse("no value (TOML has no null): leave the key out for memphis's default")
    if isinstance(value, int):
        if not -_TOML_INT <= value < _TOML_INT:
            raise refuse(f"beyond TOML's integers (up to {_TOML_INT - 1:,})")
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ScenarioError(f"scenario dict: {key} = {value}: not a finite number")
        if value.is_integer() and abs(value) < _TOML_INT:
            return int(value)
        return float(value)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    for convert in ("tolist", "item"):  # numpy arrays and scalars
        f = getattr(value, convert, None)
        if callable(f):
            try:
                plain = f()
            except (TypeError, ValueError):
                continue
            if type(plain) is not type(value):
                return _plain(plain, key)
    # Real numbers of other kinds: Fraction (numbers.Real), Decimal (a Number only).
    if isinstance(value, numbers.Real) or (
        isinstance(value, numbers.Number) and not isinstance(value, numbers.Complex)
    ):
        return _plain(float(value), key)
    if isinstance(value, (set, frozenset)):
        raise refuse("a set: give a list")
    raise refuse(
        f"a {type(value).__name__}, not a TOML value (a number, string, boolean, list or dict)"
    )


def _scenario(scenario: Scenario) -> tuple:
    """(positional argument, inline JSON) of a scenario."""
    if scenario is None:
        return None, None
    if isinstance(scenario, Mapping):
        plain = _plain(scenario, "")
        try:
            return None, json.dumps(plain, allow_nan=False)
        except (TypeError, ValueError) as e:
            raise ScenarioError(f"scenario dict: not a mapping of TOML values: {e}") from None
    if isinstance(scenario, (str, os.PathLike)):
        return os.fspath(scenario), None
    raise ScenarioError(
        f"scenario: a preset name, a TOML file or a dict, not {type(scenario).__name__}"
    )


def _item(scenario: Scenario, overrides: Mapping[str, Any]) -> tuple:
    positional, inline = _scenario(scenario)
    return (positional, inline, _options(overrides))


class Report:
    """One simulation: the report ``memphis simulate --json`` prints, with its main
    figures as attributes (units in the names)."""

    def __init__(self, native: Any) -> None:
        self._native = native
        self._json: str = native.json()
        self._dict: dict = json.loads(self._json)
        self._html: Optional[str] = None

    # Pickling (Dask, process pools): the JSON and the HTML page, which a report
    # rebuilt elsewhere cannot render without the native report (zlib: a tenth the size).
    def __reduce__(self) -> tuple:
        return (_unpickle_report, (self._json, zlib.compress(self.to_html().encode())))

    # The main figures.
    @property
    def scenario(self) -> str:
        """The scenario's name."""
        return self._dict["scenario"]

    @property
    def fits(self) -> bool:
        """Whether the plan fits in GPU memory (False only with ``allow_oom=True``)."""
        return self._dict["fits"]

    @property
    def notes(self) -> list:
        """What memphis decided on the user's behalf, one line each."""
        return list(self._dict.get("notes", []))

    @property
    def step_time_s(self) -> float:
        """Seconds per training step."""
        return self._dict["step"]["time_s"]

    @property
    def mfu(self) -> float:
        """Model FLOP utilization, 0 to 1: the model's FLOPs a second over the GPUs' dense
        BF16 peak, whatever the precision (an FP8 run can pass 0.5 of it), with attention
        over the whole score matrix, as Megatron's formula counts it."""
        return self._dict["step"]["mfu"]

    @property
    def mfu_causal(self) -> float:
        """Model FLOP utilization counting only the causal half of attention (of the
        dense BF16 peak too): the work a causal mask leaves done."""
        return self._dict["step"]["mfu_causal"]

    @property
    def mfu_of_fp8_peak(self) -> Optional[float]:
        """An FP8 run's MFU against the dense FP8 peak (its GEMMs' ceiling); None for
        other precisions."""
        return self._dict["step"].get("mfu_of_fp8_peak")

    @property
    def tflops_per_gpu(self) -> float:
        """Model TFLOP/s a GPU sustains over the step (the FLOPs ``mfu`` counts)."""
        return self._dict["step"]["tflops_per_gpu"]

    @property
    def tokens_per_s(self) -> float:
        """Tokens per second, whole job."""
        return self._dict["step"]["tokens_per_s"]

    @property
    def memory(self) -> dict:
        """Memory of the fullest GPU, GiB by part (``per_gpu_gib``, ``capacity_gib``, ...)."""
        return dict(self._dict["memory"])

    @property
    def memory_gib(self) -> float:
        """Memory of the fullest GPU, GiB."""
        return self._dict["memory"]["per_gpu_gib"]

    @property
    def memory_tight(self) -> bool:
        """Whether the plan fits with less room than memphis stands behind without a
        warning (over 95% of the GPU's memory): ``plan()``'s ``memory_tight``."""
        return self._dict["memory"]["tight"]

    @property
    def gpus(self) -> int:
        """GPUs in the job."""
        return self._dict["run"]["gpus"]

    @property
    def days(self) -> float:
        """Days to train, median over the failure Monte Carlo."""
        return self._dict["run"]["days_p50"]

    @property
    def days_mean(self) -> float:
        """Days to train, mean over the failure Monte Carlo: the expected time (the
        ideal days over the ETTR), which a rare long wait for repairs moves while the
        median stays put."""
        return self._dict["reliability"]["days_mean"]

    @property
    def days_p90(self) -> float:
        """Days to train, 90th percentile over the failure Monte Carlo."""
        return self._dict["run"]["days_p90"]

    @property
    def ideal_days(self) -> float:
        """Days to train without failures."""
        return self._dict["run"]["ideal_days"]

    @property
    def plan(self) -> dict:
        """The parallel plan and the batch (tp, pp, vpp, cp, ep, dp, ...)."""
        return dict(self._dict["plan"])

    @property
    def facility_mw(self) -> float:
        """The job's facility power during training, MW: its GPUs and their share of
        the site (``power()`` gives the whole site's, idle GPUs included)."""
        return self._dict["power"]["facility_mw"]

    @property
    def ettr(self) -> float:
        """Effective training time ratio, 0 to 1: the work's share of the run's wall
        time (the Monte Carlo mean), as ``reliability()`` gives it."""
        return self._dict["reliability"]["ettr"]

    @property
    def interruptions(self) -> float:
        """Unexpected interruptions expected over the run."""
        return self._dict["reliability"]["interruptions"]

    @property
    def planned_interruptions(self) -> float:
        """Planned interruptions (maintenance, upgrades) expected over the run."""
        return self._dict["reliability"]["planned_interruptions"]

    # Whole report.
    def to_dict(self) -> dict:
        """The report as ``memphis simulate --json`` prints it."""
        return json.loads(json.dumps(self._dict))

    def to_json(self, indent: Optional[int] = 2) -> str:
        """The report as JSON text."""
        return json.dumps(self._dict, indent=indent)

    def to_html(self) -> str:
        """The self-contained HTML page ``memphis simulate --html`` writes (charts and
        all, inline SVG: from about 10 KB to several hundred with a long pipeline's
        timeline). Write it with
        ``open("report.html", "w").write(r.to_html())``. A notebook shows the compact
        summary of ``_repr_html_``."""
        if self._html is None:
            self._html = self._native.html()
        return self._html

    def summary(self) -> "list[tuple[str, str]]":
        """The main figures as (what, value) text pairs: the notebook's summary table."""
        d, p = self._dict, self._dict["plan"]
        run, step = d["run"], d["step"]
        rel = d.get("reliability", {})
        power, energy, carbon = d.get("power", {}), d.get("energy", {}), d.get("carbon", {})
        rows = [
            ("scenario", d["scenario"]),
            ("model", d.get("model", {}).get("name", "")),
            ("GPUs", f"{run['gpus']:,} x {d.get('cluster', {}).get('gpu', '')}"),
            ("plan", f"{p['label']}, "
                     f"micro-batch {p['micro_batch']}, global batch {p['global_batch']:,} x {p['seq_len']:,}"),
            ("fits", f"{d['fits']} ({d['memory']['per_gpu_gib']:.1f} GiB per GPU)"),
            ("step", f"{step['time_s']:.3f} s, MFU {step['mfu']:.1%}, {step['tflops_per_gpu']:.0f} TFLOP/s per GPU"),
            ("tokens/s", f"{step['tokens_per_s']:,.0f}"),
            ("days to train", f"{run['days_p50']:.1f} median, {run['days_p90']:.1f} p90"
                              + (f", {rel['days_mean']:.1f} mean" if "days_mean" in rel else "")
                              + f" ({run['ideal_days']:.1f} without failures)"),
        ]
        if "ettr" in rel:
            rows.append(("ETTR", f"{rel['ettr']:.1%}"))
        if "facility_mw" in power:
            rows.append(("power", f"{power['facility_mw']:.1f} MW facility ({power.get('it_mw', 0):.1f} MW IT)"))
        if "run_mwh" in energy:
            rows.append(("energy", f"{energy['run_mwh']:,.0f} MWh, {carbon.get('run_tco2e', 0):,.0f} t CO2e"))
        rows += [("note", n) for n in self.notes]
        return rows

    def _repr_html_(self) -> str:
        """A compact summary table (a few KB); ``to_html()`` is the full page."""
        cells = "".join(
            f"<tr><th style='text-align:left'>{_html.escape(k)}</th>"
            f"<td style='text-align:left'>{_html.escape(v)}</td></tr>"
            for k, v in self.summary()
        )
        return (
            f"<table><caption style='text-align:left'><b>memphis.Report</b> "
            f"(full page: <code>to_html()</code>)</caption>{cells}</table>"
        )

    def __getitem__(self, key: str) -> Any:
        try:
            return self._dict[key]
        except KeyError:
            attribute = (f"; report.{key} is an attribute"
                         if isinstance(getattr(type(self), key, None), property) else "")
            raise KeyError(f"{key!r}: not a key of the report's JSON (its keys: "
                           f"{', '.join(self._dict)}){attribute}") from None

    def __eq__(self, other: object) -> bool:
        # The same report (its JSON), whether computed here, unpickled or deep-copied.
        return isinstance(other, Report) and self._json == other._json

    def __hash__(self) -> int:
        return hash(self._json)

    def _days_mean_aside(self) -> str:
        # The median alone misleads where failures make the run's time lopsided (a
        # short run that most often sees none, and sometimes waits days for a repair).
        mean = self._dict.get("reliability", {}).get("days_mean")
        if mean is None or abs(mean - self.days) <= 0.1 * self.days:
            return ""
        return f" (mean {_days_text(mean)})"

    def __repr__(self) -> str:
        p = self._dict["plan"]
        return (
            f"<memphis.Report {self.scenario}: {self.gpus} GPUs, {p['label']}, "
            f"step {self.step_time_s:.3f} s, "
            f"MFU {self.mfu:.1%}, {_days_text(self.days)} days{self._days_mean_aside()}"
            # Run anyway (allow_oom=True): no real job could; said where it is read.
            f"{'' if self.fits else f', DOES NOT FIT ({self.memory_gib:.1f} GiB per GPU)'}>"
        )


def _days_text(days: float) -> str:
    """Days as a repr says them: whole from 100, one decimal from 1, two significant
    figures below (a run of minutes is not "0.0 days")."""
    if days >= 100:
        return f"{days:,.0f}"
    if days >= 1:
        return f"{days:.1f}"
    return f"{days:.2g}"


def _unpickle_report(text: str, page: bytes) -> Report:
    r = Report.__new__(Report)
    r._native = None
    r._json = text
    r._dict = json.loads(text)
    r._html = zlib.decompress(page).decode()
    return r


def simulate(scenario: Scenario = None, **overrides: Any) -> Report:
    """``memphis simulate``: one step and the whole run of a scenario.

    ``scenario`` is a preset name, a TOML file or a dict of a scenario file's sections
    (default: the ``memphis-405b`` preset). ``overrides`` are the command's options:
    ``gpus``, ``tp``, ``pp``, ``model``, ``cluster``, ``global_batch``,
    ``step_model="analytical"``, ``plan="auto"``, ``allow_oom=True``, ...

    Every keyword, with its help and default: ``memphis.options("simulate")`` (the
    same list as ``memphis simulate --help``). The report's warnings (a plan that fills
    the GPU, failures that take most of the run) are also issued as
    :class:`MemphisWarning`; a sweep keeps them in its ``notes`` column.
    """
    positional, inline = _scenario(scenario)
    report = Report(_memphis.simulate(positional, inline, _options(overrides)))
    _warn(report.notes)
    return report


def _warn(notes: Iterable[str]) -> None:
    """Issues a report's warnings, and the planner's plan with room, as MemphisWarning
    (from the caller's caller: the user's line)."""
    for n in notes:
        if n.startswith("warning: "):
            warnings.warn(n[len("warning: "):], MemphisWarning, stacklevel=3)
        elif n.startswith("the planner's best plan that leaves room"):
            warnings.warn(n, MemphisWarning, stacklevel=3)


def _report(command: str, positional: Any, inline: Any, overrides: Mapping[str, Any]) -> Any:
    return json.loads(_memphis.report(command, positional, inline, _options(overrides)))


def _pandas() -> Any:
    import pandas

    return pandas


def plan(scenario: Scenario = None, top: int = 5, **overrides: Any) -> "pd.DataFrame":
    """``memphis plan``: the fastest plans that fit, one row per plan (best first).

    Options as for :func:`simulate`, plus ``objective`` (``step`` or ``time-to-train``);
    all of them: ``memphis.options("plan")``. Returns a ``pandas.DataFrame``; the
    search's other fields (``plans_evaluated``, ``plans_feasible``, ``fingerprint``,
    ``objective``, ...) are in ``df.attrs``; a row's ``index`` is the plan's place in the
    search space, which shards of one search agree on. ``df.attrs`` also holds ``notes``: what :func:`simulate` would
    say of the scenario, then its warnings of the best plan's run (failures that take
    most of it, say). Those warnings are also issued as :class:`MemphisWarning`, which a
    notebook shows beside the table, with the planner's best plan that leaves room
    (``df.attrs["best_with_room"]``) where the best fills the GPU.
    """
    positional, inline = _scenario(scenario)
    r = _report("plan", positional, inline, dict(overrides, top=top))
    _warn(r.get("notes") or [])
    rows = []
    for rank, p in enumerate(r["top"], start=1):
        row = {"rank": rank}
        row.update({k: v for k, v in p.items() if k != "breakdown"})
        # The exposed seconds of the step by kind, one column each.
        for k, v in p.get("breakdown") or []:
            row[f"{k}_s"] = v
        rows.append(row)
    df = _pandas().DataFrame(rows)
    # A count most plans leave unset: whole numbers with gaps, not floats.
    if "recompute_layers" in df.columns:
        df["recompute_layers"] = df["recompute_layers"].astype("Int64")
    df.attrs.update({k: v for k, v in r.items() if k != "top"})
    return df


def reliability(scenario: Scenario = None, **overrides: Any) -> dict:
    """``memphis reliability``: job MTBF, checkpoint interval, ETTR, spares (a dict, as
    ``--json`` prints it). Options: ``days``, ``spares``, ``checkpoint_interval_min``
    and the scenario options of :func:`simulate`. Its warnings are issued as
    :class:`MemphisWarning`, as :func:`simulate` issues them."""
    positional, inline = _scenario(scenario)
    r = _report("reliability", positional, inline, overrides)
    _warn(r.get("notes") or [])
    return r


def cluster(scenario: Optional[str] = None, **overrides: Any) -> dict:
    """``memphis cluster``: the inventory of a cluster (a dict, as ``--json`` prints
    it). ``scenario`` is a scenario or cluster preset; ``cluster=`` a preset or file."""
    positional = os.fspath(scenario) if scenario is not None else None
    return _report("cluster", positional, None, overrides)


def power(scenario: Scenario = None, **overrides: Any) -> dict:
    """``memphis power``: the grid's view of a scenario's site over a window (a dict, as
    ``--json`` prints it): peak, swing, ramps, the spectrum, drops, and what each
    mitigation costs. Options: ``window``, ``resolution`` (durations: ``"1h"``,
    ``"100ms"``, or seconds), ``failure_at``, ``mitigation``, ``ramp_limit``,
    ``drop_mw``, ``drop_within`` and the scenario options of :func:`simulate`. The
    ``notes`` say how the scenario was resolved, then what the window notes; its warnings
    are issued as :class:`MemphisWarning`, as :func:`simulate` issues them."""
    positional, inline = _scenario(scenario)
    r = _report("power", positional, inline, overrides)
    _warn(r.get("notes") or [])
    return r


def model(model: Union[str, "os.PathLike[str]"]) -> dict:
    """``memphis model``: a model as memphis reads it (a preset, a TOML model file or a
    Hugging Face ``config.json``): layers by kind, attention and MLP shapes, parameters,
    and the warnings about what it does not model (a dict, as ``--json`` prints it),
    which are also issued as :class:`MemphisWarning`."""
    if not isinstance(model, (str, os.PathLike)):
        raise ScenarioError(f"model = {model!r}: a preset name or a file's path")
    r = _report("model", os.fspath(model), None, {})
    for w in r.get("warnings") or []:
        warnings.warn(w, MemphisWarning, stacklevel=2)
    return r


def jobs(file: Union[str, "os.PathLike[str]"], **overrides: Any) -> dict:
    """``memphis jobs``: several jobs on one fabric, each alone and with the others (a
    dict, as ``--json`` prints it). ``file`` is a jobs file (TOML); options:
    ``routing``, ``overlap``."""
    return _report("jobs", os.fspath(file), None, overrides)


def place(file: Union[str, "os.PathLike[str]"], **overrides: Any) -> dict:
    """``memphis place``: the placement policies for a jobs file compared (a dict, as
    ``--json`` prints it). Options: ``target_slowdown`` (``"5%"``), ``routing``,
    ``overlap``."""
    return _report("place", os.fspath(file), None, overrides)


def fabric_bench(**overrides: Any) -> dict:
    """``memphis fabric-bench``: one traffic pattern solved on a cluster's fabric (a
    dict, as ``--json`` prints it). Options: ``cluster``, ``pattern``, ``gpus``,
    ``routing``, ``seed``."""
    return _report("fabric-bench", None, None, overrides)


def collective(op: str = "all_reduce", **overrides: Any) -> "pd.DataFrame":
    """``memphis collective``: a collective over a range of sizes, nccl-tests style, one
    row per size. Options: ``gpus``, ``per_server`` (the group's ranks on each
    server: 1 for a data-parallel group under TP8), ``minbytes``, ``maxbytes``,
    ``stepfactor``, ``cluster``, ``network``, ``routing``, ``compare`` (an nccl-tests
    log). Returns a ``pandas.DataFrame``; ``df.attrs`` holds ``op`` and the options given
    (``gpus``, ``per_server``, ``cluster``, ``network``, ``routing``), with ``compare``
    the report's other fields too."""
    r = _report("collective", op, None, overrides)
    asked = {"op": op}
    given = ("gpus", "per_server", "cluster", "network", "routing")
    asked.update({k: overrides[k] for k in given if k in overrides})
    if isinstance(r, list):
        df = _pandas().DataFrame(r)
        df.attrs.update(asked)
        return df
    # With ``compare``: the rows and the report's other fields in ``df.attrs``.
    lists = {k: v for k, v in r.items() if isinstance(v, list)}
    rows = lists.pop("rows", None) or next(iter(lists.values()), [])
    df = _pandas().DataFrame(rows)
    df.attrs.update(asked)
    df.attrs.update({k: v for k, v in r.items() if not isinstance(v, list)})
    return df


def validate(**overrides: Any) -> Union["pd.DataFrame", str]:
    """``memphis validate``: predictions against published runs, one row per training
    case (or collective size) with a ``suite`` column. Options: ``suite``, ``cases``
    (a case file), ``step_model``. Returns a ``pandas.DataFrame``, with each suite's
    ``summary`` (and ``series``) in ``df.attrs[suite]``; a size without a published
    bandwidth has no error (NaN). With
    ``scenario="CASE_ID"``, the scenario file (TOML text) that training case runs as,
    for :func:`simulate`."""
    r = _report("validate", None, None, overrides)
    if isinstance(r, str):
        return r
    suites = r["suites"] if "suites" in r else [dict(r, suite=overrides.get("suite", "cases"))]
    rows = []
    for s in suites:
        for c in s.get("cases", []):
            row = {"suite": s.get("suite")}
            row.update({k: v for k, v in c.items() if not isinstance(v, (dict, list))})
            # A collective case is a curve: a row per size, its columns taken size by size
            # (its notes, warnings as the binary prints them, are no column of the curve).
            curve = (
                {k: v for k, v in c.items() if isinstance(v, list) and k != "notes"}
                if "size_bytes" in c
                else {}
            )
            for i in range(len(c["size_bytes"])) if curve else ():
                rows.append(dict(row, **{k: v[i] for k, v in curve.items()}))
            for n in c.get("notes", []) if curve else ():
                warnings.warn(f"case {c.get('id')}: {n}", MemphisWarning, stacklevel=2)
            if not curve:
                rows.append(row)
    # A case the model refused is on its row, left out of the summary; the binary fails
    # the run for it, a notebook is told.
    training = [r for r in rows if "measured_step_time_s" in r]
    refused = [r for r in training if r.get("error")]
    if refused:
        shown = "; ".join(f"{r.get('id')}: {r['error']}" for r in refused[:3])
        more = f"; and {len(refused) - 3} more (the error column)" if len(refused) > 3 else ""
        warnings.warn(
            f"{len(refused)} of {len(training)} cases could not be simulated, and the summary "
            f"leaves them out: {shown}{more}",
            MemphisWarning,
            stacklevel=2,
        )
    df = _pandas().DataFrame(rows)
    # Each suite's summary (and the training suite's scaling series), as --json has them.
    df.attrs.update(
        {
            s.get("suite"): {k: s[k] for k in ("summary", "series") if k in s}
            for s in suites
        }
    )
    return df


def presets() -> "pd.DataFrame":
    """The embedded presets: one row per cluster, model and scenario preset."""
    rows = [
        {"kind": k, "name": n, "description": d, "default": default}
        for k, n, d, default in _memphis.presets()
    ]
    return _pandas().DataFrame(rows)


def options(command: str = "simulate") -> "pd.DataFrame":
    """A command's keywords (``simulate``, ``plan``, ``reliability``, ``cluster``,
    ``collective``, ``validate``, ``power``, ``jobs``, ``place``, ``fabric-bench``), one
    row each, as ``memphis COMMAND --help`` lists
    them: ``keyword``, ``flag``, ``help``, ``switch`` (takes no value: ``True`` to set
    it), ``default``, ``choices`` (the values it takes, comma-separated, where they are a
    list: ``timeline,analytical``). The command line's output options (``json``,
    ``html``, ...) are left out: in Python the returned object is the output."""
    columns = ["keyword", "flag", "help", "switch", "default", "choices"]
    rows = [dict(zip(columns, row)) for row in _memphis.options(command)]
    return _pandas().DataFrame(rows, columns=columns)


# ----- sweeps -----


def _sweep_rows(items: Sequence[tuple], threads: Optional[int] = None, progress: Any = None) -> list:
    """Runs items in this process (a shard, on a worker): [(row or None, error or None)]."""
    _check_threads(threads)
    return _memphis.sweep(list(items), threads if threads is None else int(threads), progress)


def _shards(n_items: int, n_shards: int) -> list:
    """Contiguous index ranges, as equal as can be, in order."""
    n_shards = max(1, min(n_shards, n_items))
    base, extra = divmod(n_items, n_shards)
    out, start = [], 0
    for i in range(n_shards):
        size = base + (1 if i < extra else 0)
        out.append((start, start + size))
        start += size
    return out


def _executor_workers(executor: Any) -> int:
    """How many workers an executor has (a Dask Client, or a concurrent.futures one)."""
    info = getattr(executor, "scheduler_info", None)
    if callable(info):
        try:
            return max(1, len(info().get("workers", {})))
        except Exception:
            return 1
    return max(1, int(getattr(executor, "_max_workers", 0) or os.cpu_count() or 1))


def _grid_values(key: str, values: Any) -> list:
    """A grid option's values: a list of them (a string or a single number is not one,
    which would sweep its characters or fail deep inside)."""
    if isinstance(values, (str, bytes, Mapping)) or not isinstance(values, Iterable):
        raise ScenarioError(f"grid[{key!r}] = {values!r}: a list of values, as [1024, 2048]")
    return list(values)


def sweep(
    scenarios: Optional[Iterable[Any]] = None,
    grid: Optional[Mapping[str, Sequence[Any]]] = None,
    *,
    base: Scenario = None,
    executor: Any = None,
    shards: Optional[int] = None,
    threads: Optional[int] = None,
    progress: Optional[bool] = None,
    errors: str = "raise",
    **overrides: Any,
) -> "pd.DataFrame":
    """``simulate`` over many scenarios, one row each, in input order.

    Give either ``scenarios`` (each a preset name, a TOML file, a dict, or a
    ``(scenario, {options})`` pair) or ``grid`` (option -> values: every combination,
    the last option varying fastest, over ``base``). ``overrides`` apply to all.

    The work runs in Rust on all cores (``threads`` to choose) with the GIL released;
    the rows do not depend on the thread count. With ``executor`` (a Dask ``Client`` or
    any ``concurrent.futures.Executor``) the scenarios are split into ``shards``
    contiguous slices (default: one per worker) run there, and the rows concatenated
    in order: the same table as one process.

    ``errors="raise"`` raises the first failing scenario's error (input order), saying
    which row and input failed (``sweep row 1 (gpus=2048, tp=2): ...``; the exception's
    ``row`` and ``input`` hold them);
    ``"keep"`` keeps a row with the message in an ``error`` column (a missing value
    where the scenario ran, which pandas shows as None or NaN by version: test it with
    ``df["error"].isna()``), its other columns missing: integer columns are then pandas'
    nullable ``Int64`` and ``fits`` ``boolean``, so that a missing value does not
    turn them into floats.

    Returns a ``pandas.DataFrame``, one row per scenario: first the columns that say
    which input the row is (``input``, the scenario's name or path, for a list; then
    each option of the grid or of a ``(scenario, {options})`` pair under its own name,
    or as ``in_<option>`` where the row has a column of that name: ``in_gpus`` is the
    value given, ``gpus`` the job's), then the report's figures (``memphis.SWEEP_COLUMNS``:
    units in the names), ending with ``notes``: what memphis decided on the user's
    behalf (a plan that did not suit the job replaced by the planner's, for one),
    joined by ``" | "``, empty when nothing was.
    """
    if errors not in ("raise", "keep"):
        raise ScenarioError(f"errors = {errors!r}: 'raise' or 'keep'")
    if (scenarios is None) == (grid is None):
        raise ScenarioError("sweep: give scenarios or grid (one of them)")
    _check_threads(threads)
    if isinstance(scenarios, (str, bytes, os.PathLike, Mapping)):
        raise ScenarioError(
            f"scenarios = {scenarios!r}: a list of scenarios (preset names, files, dicts or "
            "(scenario, {options}) pairs), not one; for one scenario, simulate() runs it"
        )
    inputs: list = []  # the columns that say which input a row is
    items: list = []
    if grid is not None:
        keys = list(grid.keys())
        twice = [k for k in keys if k in overrides]
        if twice:
            raise ScenarioError(
                f"sweep: {', '.join(twice)} given both in grid and as a keyword "
                f"({twice[0]}={overrides[twice[0]]!r}), which the grid's values would replace: give it once"
            )
        for values in itertools.product(*(_grid_values(k, grid[k]) for k in keys)):
            opts = dict(overrides)
            opts.update(zip(keys, values))
            items.append(_item(base, opts))
            inputs.append(dict(zip(keys, values)))
    else:
        for i, s in enumerate(scenarios):  # type: ignore[arg-type]
            if isinstance(s, tuple) and not (len(s) == 2 and isinstance(s[1], Mapping)):
                raise ScenarioError(
                    f"scenarios[{i}] = {s!r}: a pair (scenario, {{options}}), its options a dict "
                    "of keywords, as (\"dgx-h100-llama3-70b\", {\"gpus\": 2048})"
                )
            if isinstance(s, tuple):
                sc, opts = s[0], dict(overrides, **s[1])
                col = {"input": sc if isinstance(sc, str) else None}
                col.update(s[1])
            else:
                sc, opts = s, dict(overrides)
                col = {"input": os.fspath(s) if isinstance(s, (str, os.PathLike)) else None}
            items.append(_item(sc, opts))
            inputs.append(col)

    results = _run(items, executor, shards, threads, progress)
    pd = _pandas()
    figures = list(SWEEP_COLUMNS) + (["error"] if errors == "keep" else [])
    rows = []
    for i, (inp, (row, err)) in enumerate(zip(inputs, results)):
        if err is not None:
            bad_input, message = err
            if errors == "raise":
                exc = (ScenarioError if bad_input else InternalError)(
                    f"sweep row {i} ({_described(inp)}): {message}"
                )
                exc.row, exc.input = i, inp
                raise exc
            row = {"error": message}
        elif errors == "keep":
            row = dict(row, error=None)
        # The input's columns are named by the columns a row has, not by whether this
        # one ran: a failed row's input stays in the same column as the others'.
        rows.append({**{f"in_{k}" if k in figures else k: v for k, v in inp.items()}, **row})
    # The grid's columns even where no row is (an empty grid), then the rows' own.
    named = [f"in_{k}" if k in figures else k for k in (grid or {})]
    columns = list(dict.fromkeys(named + [k for r in rows for k in r if k not in figures]))
    df = pd.DataFrame(rows, columns=columns + figures)
    if errors == "keep":
        df = df.astype({c: t for c, t in _NULLABLE.items() if c in df.columns})
    # An input column of whole numbers with a gap (None given, or an option one pair
    # lacks) stays whole: pandas' nullable Int64, not floats.
    for c in columns:
        given = [r[c] for r in rows if r.get(c) is not None]
        whole = all(isinstance(v, int) and not isinstance(v, bool) for v in given)
        if given and whole and len(given) < len(rows):
            df[c] = df[c].astype("Int64")
    return df


def _described(inp: Mapping[str, Any]) -> str:
    """A sweep row's input as the user gave it: ``gpus=2048, tp=2``."""
    return ", ".join(f"{k}={v!r}" for k, v in inp.items() if v is not None) or "its scenario"


def _check_threads(threads: Optional[int]) -> None:
    if threads is None:
        return
    if isinstance(threads, bool) or not isinstance(threads, numbers.Integral) or threads < 1:
        raise ScenarioError(f"threads = {threads!r}: a whole number, 1 or more (None: every core)")


#: The sweep's columns (``memphis.sweep``'s figures, in order).
SWEEP_COLUMNS: "tuple[str, ...]" = tuple(_memphis.SWEEP_COLUMNS)

#: Nullable dtypes of a sweep's integer and boolean columns when rows may be missing.
_NULLABLE = {
    **{c: "Int64" for c in (
        "gpus", "tp", "pp", "vpp", "cp", "ep", "dp", "micro_batch", "global_batch", "seq_len"
    )},
    "fits": "boolean",
    "memory_tight": "boolean",
}


def _interactive() -> bool:
    """A person is watching: a Jupyter kernel, or stderr on a terminal."""
    ipython = sys.modules.get("IPython")
    if ipython is not None:
        shell = ipython.get_ipython()
        if shell is not None and getattr(shell, "kernel", None) is not None:
            return True
    return sys.stderr.isatty()


def _bar(total: int, enabled: Optional[bool]) -> Any:
    """tqdm's bar, shown when asked or when interactive: a widget in notebooks where
    ipywidgets is installed, else the text bar (tqdm.auto would warn "IProgress not
    found" there and draw nothing)."""
    if total == 0 or enabled is False or (enabled is None and not _interactive()):
        return None
    try:
        if importlib.util.find_spec("ipywidgets") is not None:
            from tqdm.auto import tqdm
        else:
            from tqdm.std import tqdm
    except ImportError:
        return None
    return tqdm(total=total, unit="scenario", desc="memphis sweep")


def _run(items: list, executor: Any, shards: Optional[int], threads: Optional[int], progress: Optional[bool]) -> list:
    bar = _bar(len(items), progress)
    try:
        if executor is None:
            seen = [0]

            def tick(n: int) -> None:
                if bar is not None:
                    bar.update(n - seen[0])
                seen[0] = n

            return _sweep_rows(items, threads, tick)
        n = shards or _executor_workers(executor)
        futures = [
            executor.submit(_sweep_rows, items[a:b], threads) for a, b in _shards(len(items), n)
        ]
        out: list = []
        for f in futures:  # in order: the concatenation is the one-process table
            part = f.result()
            out.extend(part)
            if bar is not None:
                bar.update(len(part))
        return out
    finally:
        if bar is not None:
            bar.close()
