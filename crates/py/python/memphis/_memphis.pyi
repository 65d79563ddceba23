"""The native module (Rust, PyO3): the `memphis` binary's code behind the package.

Every entry point runs its work on a rayon thread pool of the module's own (one per
thread count), rebuilt in a forked child; rayon's global pool is never used."""

from typing import Callable, List, Optional, Sequence, Tuple, Union

__version__: str

# Both have `__module__ == "memphis"` (the package exports them): they pickle.
class ScenarioError(ValueError):
    """Bad input: the message is the line `memphis` prints after `error: `."""

class InternalError(RuntimeError):
    """A failure not of the input: an I/O error, or a fault in memphis (a caught panic)."""

#: A sweep row's columns, in order; the last, `notes`, joins the report's notes by
#: NOTES_SEPARATOR.
SWEEP_COLUMNS: List[str]
NOTES_SEPARATOR: str

#: An option's value as its flag takes it: a switch, or the flag's text.
Opt = Union[bool, str]
#: (positional argument, scenario dict as JSON, options).
Item = Tuple[Optional[str], Optional[str], Sequence[Tuple[str, Opt]]]

class NativeReport:
    def json(self) -> str: ...
    def html(self) -> str: ...

def simulate(
    positional: Optional[str], inline: Optional[str], options: Sequence[Tuple[str, Opt]]
) -> NativeReport: ...
def report(
    command: str,
    positional: Optional[str],
    inline: Optional[str],
    options: Sequence[Tuple[str, Opt]],
) -> str: ...
def sweep(
    items: Sequence[Item],
    threads: Optional[int] = None,
    progress: Optional[Callable[[int], object]] = None,
) -> List[Tuple[Optional[dict], Optional[Tuple[bool, str]]]]: ...
def sweep_in_rust(items: Sequence[Item], threads: Optional[int] = None) -> Tuple[float, int]: ...
def presets() -> List[Tuple[str, str, str, bool]]: ...
def options(command: str) -> List[Tuple[str, str, str, bool, Optional[str]]]:
    """(keyword, flag, help, is a switch, default) of each of a command's options."""

