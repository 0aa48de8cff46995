"""M/EEG and BIDS input, stimulus timelines, preprocessing, a ground-truth simulator, manifests.

See ``docs/brain.md``.  Public names:

* :class:`Timeline` and the event parsers (:func:`read_events`, :func:`read_broderick_run`,
  :func:`read_alice_events`);
* :func:`read_raw`, :func:`read_bids`, :func:`read_cnd`, :func:`read_broderick_eeg`,
  :func:`read_libribrain_h5`;
* :func:`preprocess`;
* :func:`simulate`, :class:`SimulationConfig`, :func:`load_ground_truth`, :func:`noiseless_signal`;
* :func:`load_manifest`, :func:`check_dataset`.
"""

from .events import read_alice_events, read_broderick_run, read_events
from .io import (SidecarMismatchError, read_bids, read_broderick_eeg, read_cnd, read_libribrain_h5,
                 read_raw)
from .preprocess import preprocess
from .simulate import SimulationResult, load_ground_truth, noiseless_signal, simulate
from .simulate_config import SimulationConfig
from .stimuli import Stimulus, synthetic_stimuli
from .timeline import Timeline, TimelineError

__all__ = [
    "Timeline", "TimelineError", "read_events", "read_broderick_run", "read_alice_events",
    "read_raw", "read_bids", "read_cnd", "read_broderick_eeg", "read_libribrain_h5",
    "SidecarMismatchError", "preprocess", "simulate", "SimulationConfig", "SimulationResult",
    "load_ground_truth", "noiseless_signal", "Stimulus", "synthetic_stimuli",
]
