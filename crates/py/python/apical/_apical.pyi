"""Type stubs of the native module ``apical._apical`` (PyO3 bindings of the Rust crates)."""

from os import PathLike
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt

__version__: str

_Floats1 = Union[npt.NDArray[np.float64], Sequence[float]]
_Floats2 = Union[npt.NDArray[np.float64], Sequence[Sequence[float]]]

def presets() -> List[Tuple[str, str]]:
    """The presets as (name, description) pairs, as ``apical presets`` lists them."""

def run_experiment(
    config: Config,
    out: Union[str, PathLike[str]],
    data: Optional[Union[str, PathLike[str]]] = None,
    resume: bool = False,
    progress: bool = True,
) -> Dict[str, Any]:
    """Runs the experiment of ``config`` into ``out``; returns the report as a dict with
    ``experiment``, ``table``, ``values`` and ``files``."""

class Config:
    """A validated run configuration: network, dynamics, plasticity, initial weights and one
    experiment, as a ``configs/*.toml`` file holds them. Changes are checked as
    ``apical run --set`` checks them; a bad one raises ``ValueError`` and changes nothing."""

    @staticmethod
    def preset(name: str) -> Config:
        """The preset ``name`` (see ``apical.presets()``)."""
    @staticmethod
    def from_toml(path_or_text: Union[str, PathLike[str]]) -> Config:
        """A configuration from a TOML file, or from TOML text (a ``str`` with a line break)."""
    def to_toml(self) -> str:
        """The configuration as TOML, as ``apical config --preset NAME`` prints it."""
    def set(self, key: str, value: Any) -> None:
        """Overrides the value at the dotted ``key``, e.g. ``set("plasticity.eta_up", [0.01, 0.005])``."""
    def update(self, values: Dict[str, Any]) -> None:
        """Overrides several values in order and validates once (values that change together)."""
    def __setitem__(self, key: str, value: Any) -> None: ...
    def __getitem__(self, key: str) -> Any:
        """The value, or the table as a dict, at the dotted ``key``."""
    @property
    def overrides(self) -> List[str]:
        """The overrides applied so far, as ``key=value`` strings."""
    @property
    def experiment(self) -> str:
        """``fig-s1``, ``fig1``, ``fig2`` or ``mnist``."""
    @property
    def sizes(self) -> List[int]:
        """The layer sizes n_0 … n_N."""
    @property
    def seed(self) -> int:
        """The seed of every random stream."""
    def copy(self) -> Config:
        """A copy that later changes leave alone."""

class Network:
    """The continuous-time microcircuit of a configuration's model: pyramidal layers with soma
    ``u_k``, basal ``v_basal_k`` and apical ``v_apical_k`` compartments, interneurons
    ``u_inter_k``, weights W_k (``w_up_k``), B_k (``w_down_k``), W^IP_k (``w_ip_k``) and W^PI_k
    (``w_pi_k``). Same configuration and same calls give the results of ``apical run``. Its
    weights are f64: a configuration with ``plasticity.precision = "f32"`` raises ValueError."""

    def __init__(self, config: Config) -> None: ...
    @property
    def sizes(self) -> List[int]: ...
    @property
    def dt(self) -> float:
        """The Euler time step (ms)."""
    @property
    def time_ms(self) -> float:
        """The simulated time (ms)."""
    @property
    def steps(self) -> int:
        """The number of Euler steps taken."""
    @property
    def target_on(self) -> bool:
        """Whether the teacher current nudges the output towards the target."""
    def set_sigma(self, sigma: float) -> None:
        """Sets the noise amplitude σ (0 for noise-free runs)."""
    def set_input(self, input: _Floats1) -> None:
        """Presents a new input pattern (n_0 rates); the learning lag starts again."""
    def set_target(self, target: Optional[_Floats1]) -> None:
        """Switches the teacher current on with a target potential u_trgt (n_N values), or off with ``None``."""
    def step(
        self,
        n: int = 1,
        *,
        input: Optional[_Floats1] = None,
        target: Optional[_Floats1] = None,
        learn: bool = True,
    ) -> None:
        """Advances ``n`` Euler steps, presenting ``input``/``target`` first where given."""
    def settle(
        self,
        input: Optional[_Floats1] = None,
        target: Optional[_Floats1] = None,
        *,
        tol: float = 1e-12,
        max_sweeps: int = 10000,
    ) -> int:
        """Solves the steady state without noise or plasticity; returns the number of sweeps."""
    def apical_sq_norm(self) -> float:
        """‖v_A‖², summed over hidden layers."""
    def interneuron_mismatch(self) -> float:
        """‖u_{k+1} − u^I_k‖², summed over hidden layers."""
    def state(self) -> Dict[str, npt.NDArray[np.float64]]:
        """``r_0``, ``u_k``, ``v_basal_k``, ``v_apical_k``, ``r_k``, ``u_inter_k``, ``v_inter_k``,
        ``r_inter_k`` and ``u_trgt`` as new arrays."""
    def state_names(self) -> List[str]:
        """The names of ``state()``, which ``run_patterns`` can record."""
    def weights(self) -> Dict[str, npt.NDArray[np.float64]]:
        """Every weight matrix under its ``.npz`` key."""
    def set_weights(self, weights: Dict[str, npt.NDArray[np.float64]]) -> None:
        """Replaces the named matrices after checking every name, dtype, shape and value."""
    def run_patterns(
        self,
        inputs: _Floats2,
        targets: Optional[_Floats2] = None,
        *,
        pattern_ms: float = 100.0,
        record: Sequence[str] = ...,
        every: int = 1,
        learn: bool = True,
    ) -> Dict[str, npt.NDArray[np.float64]]:
        """Presents each row of ``inputs`` (with the row of ``targets``) for ``pattern_ms`` and
        records ``t_ms`` and the named state vectors after every ``every``-th step."""

class TwoStepNetwork:
    """The two-step network of an ``[experiment.mnist]`` configuration, trained on arrays of
    images (M × n_0 float64 in [0, 1]) and integer labels. It computes in f64: a configuration
    with ``plasticity.precision = "f32"`` raises ValueError."""

    def __init__(self, config: Config) -> None: ...
    @property
    def epochs_done(self) -> int: ...
    def train_epoch(self, images: _Floats2, labels: npt.NDArray[np.integer[Any]]) -> float:
        """Trains one shuffled epoch; returns its training error (%)."""
    def predict(self, images: _Floats2) -> npt.NDArray[np.int64]:
        """The most active output unit for each image."""
    def evaluate(self, images: _Floats2, labels: npt.NDArray[np.integer[Any]]) -> float:
        """The error (%) of the feedforward network."""
    def weights(self) -> Dict[str, npt.NDArray[np.float64]]:
        """Every weight matrix under its ``.npz`` key."""
