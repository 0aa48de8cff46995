"""Typed configuration of the ground-truth M/EEG simulator (``neurorrn simulate CONFIG``).

Every field has a default, so ``SimulationConfig()`` is a valid small simulation; see
``configs/simulate_small.yaml`` and ``docs/brain.md``.
"""

from __future__ import annotations

import os

from typing import Literal, Optional

from pydantic import Field, field_validator, model_validator

from ..config import ConfigModel

#: Canonical dipole positions (m, head coordinates: x right, y anterior, z up, origin between the
#: ears) and orientations.  Positions are inside a 9 cm sphere centred at (0, 0, 4 cm); the
#: orientations are roughly normal to the supratemporal plane / inferior frontal surface, so they
#: are tangential to the sphere (MEG is blind to radial dipoles in a sphere).
REGIONS = {
    "left_auditory": ((-0.050, -0.005, 0.045), (0.0, 0.0, 1.0)),
    "right_auditory": ((0.050, -0.005, 0.045), (0.0, 0.0, 1.0)),
    "left_stg": ((-0.055, -0.025, 0.040), (0.0, 0.3, 0.954)),
    "left_ifg": ((-0.045, 0.045, 0.045), (0.0, -0.2, 0.98)),
}
SENSORS = ("neuromag306", "ctf275", "eeg64")
PREDICTORS = ("envelope", "onsets", "word", "phone", "units")


class KernelConfig(ConfigModel):
    """A TRF as a sum of Gaussian bumps: ``h(t) = sum_k a_k exp(-(t - l_k)^2 / (2 w_k^2))``.

    ``amplitudes`` are in nAm per unit of the predictor.
    """

    latencies: list[float] = Field(default_factory=lambda: [0.05, 0.1, 0.2])
    widths: list[float] = Field(default_factory=lambda: [0.015, 0.025, 0.04])
    amplitudes: list[float] = Field(default_factory=lambda: [10.0, -20.0, 8.0])

    @model_validator(mode="after")
    def _same_length(self):
        n = {len(self.latencies), len(self.widths), len(self.amplitudes)}
        if len(n) != 1:
            raise ValueError("latencies, widths and amplitudes must have the same length, got "
                             f"{len(self.latencies)}, {len(self.widths)}, {len(self.amplitudes)}")
        if any(w <= 0 for w in self.widths):
            raise ValueError(f"widths must be > 0, got {self.widths}")
        return self


class SourceConfig(ConfigModel):
    """One dipole: a named region of :data:`REGIONS`, or an explicit position and orientation."""

    name: str
    region: Optional[Literal["left_auditory", "right_auditory", "left_stg", "left_ifg"]] = None
    pos: Optional[tuple[float, float, float]] = None
    ori: Optional[tuple[float, float, float]] = None

    @model_validator(mode="after")
    def _where(self):
        if self.region is None and (self.pos is None or self.ori is None):
            raise ValueError(f"source {self.name!r}: give a region or both pos and ori")
        return self


class ResponseConfig(ConfigModel):
    """A predictor and the TRF by which it drives some sources.

    For ``predictor='units'`` every selected unit gets the kernel times a fixed random weight
    (normal, scaled by 1/sqrt(n_units), seeded), different per source.
    """

    predictor: Literal["envelope", "onsets", "word", "phone", "units"]
    sources: list[str]
    kernel: KernelConfig = Field(default_factory=KernelConfig)
    gains: Optional[list[float]] = None
    store: Optional[str] = None
    units: Optional[list] = None
    n_units: Optional[int] = 8
    layer: Optional[str] = None


class StimuliConfig(ConfigModel):
    """Where the stimuli come from.

    * ``synthetic``: noise-burst "speech" with planted word and phone intervals (no dependency);
    * ``files``: ``path`` holds ``<stimulus>.wav`` files and ``alignments.tsv`` (columns
      ``stimulus, tier, label, start, end``);
    * ``speech``: :func:`neurorrn.speech.make_stream` (espeak-ng), when that module is present.
    """

    source: Literal["synthetic", "files", "speech"] = "synthetic"
    path: Optional[str] = None
    n_stimuli: int = Field(6, ge=1)
    words_per_stimulus: int = Field(8, ge=1)
    audio_sfreq: float = Field(16000.0, gt=0)
    story: str = "sim"
    pre: float = Field(2.0, ge=0)
    isi: tuple[float, float] = (0.8, 1.5)
    post: float = Field(2.0, ge=0)


class NoiseConfig(ConfigModel):
    """Noise components.  Sensor-domain amplitudes are in units of the sensor-noise std."""

    brain_dipoles: int = Field(100, ge=0)
    brain_exponent: float = Field(1.0, ge=0, description="power ~ 1/f**exponent")
    brain_amplitude: float = Field(15.0, ge=0, description="rms per random dipole, nAm")
    alpha_amplitude: float = Field(40.0, ge=0, description="burst peak per alpha dipole, nAm")
    alpha_freq: float = Field(10.0, gt=0)
    alpha_burst_rate: float = Field(0.3, ge=0, description="bursts per second")
    blink_rate: float = Field(0.2, ge=0, description="blinks per second")
    blink_amplitude: float = Field(150.0, ge=0, description="blink peak on the vertical EOG, microvolts")
    blink_dipole: float = Field(200.0, ge=0, description="frontal equivalent dipole of a blink, nAm")
    line: float = Field(3.0, ge=0, description="line-noise amplitude at the fundamental")
    line_harmonics: int = Field(3, ge=1)
    sensor: dict[str, float] = Field(default_factory=lambda: {
        "mag": 20e-15, "grad": 4e-13, "eeg": 0.5e-6, "eog": 5e-6})
    drift: float = Field(2.0, ge=0, description="slow drift amplitude (< drift_cutoff Hz)")
    drift_cutoff: float = Field(0.1, gt=0)


#: channels of each sensor layout (data + EOG/stim), for the memory estimate
_N_CHANNELS = {"neuromag306": 310, "ctf275": 280, "eeg64": 68}


class SimulationConfig(ConfigModel):
    """A listening experiment whose M/EEG is generated from known TRFs."""

    seed: int = 0
    subject: str = "01"
    session: Optional[str] = None
    task: str = "listen"
    run: Optional[str] = None
    sensors: Literal["neuromag306", "ctf275", "eeg64"] = "neuromag306"
    sfreq: float = Field(200.0, gt=0)
    line_freq: float = Field(50.0, gt=0)
    trf_tmin: float = 0.0
    trf_tmax: float = Field(0.6, gt=0)
    snr_db: Optional[float] = Field(-10.0, description="signal/noise power on the reference channel type")
    snr_components: list[Literal["brain", "alpha", "blinks", "line", "sensor", "drift"]] = Field(
        default_factory=lambda: ["brain", "alpha", "sensor"])
    sources: list[SourceConfig] = Field(default_factory=lambda: [
        SourceConfig(name=n, region=n) for n in ("left_auditory", "right_auditory", "left_stg", "left_ifg")])
    responses: list[ResponseConfig] = Field(default_factory=lambda: [
        ResponseConfig(predictor="envelope", sources=["left_auditory", "right_auditory"]),
        ResponseConfig(predictor="phone", sources=["left_stg"],
                       kernel=KernelConfig(latencies=[0.1], widths=[0.03], amplitudes=[10.0])),
        ResponseConfig(predictor="word", sources=["left_ifg"],
                       kernel=KernelConfig(latencies=[0.35], widths=[0.08], amplitudes=[15.0])),
    ])
    stimuli: StimuliConfig = Field(default_factory=StimuliConfig)
    noise: NoiseConfig = Field(default_factory=NoiseConfig)
    output: Optional[str] = None

    @field_validator("trf_tmax")
    @classmethod
    def _tmax(cls, v, info):
        tmin = info.data.get("trf_tmin", 0.0)
        if v <= tmin:
            raise ValueError(f"trf_tmax ({v}) must be > trf_tmin ({tmin})")
        return v

    def estimate_bytes(self) -> tuple[int, int]:
        """A lower bound of the simulation's peak memory: ``(bytes, n_samples)``.

        The recording lasts at least ``pre + post + n_stimuli * (0.3 s per word + isi)``; sensor
        data, source time courses and noise dipoles are float64 and exist side by side.
        """
        st = self.stimuli
        seconds = st.pre + st.post + st.n_stimuli * (0.3 * st.words_per_stimulus + min(st.isi))
        n_samples = int(seconds * self.sfreq)
        rows = _N_CHANNELS[self.sensors] + self.noise.brain_dipoles + len(self.sources)
        return 8 * n_samples * rows * 2, n_samples

    @model_validator(mode="after")
    def _memory(self):
        need, n = self.estimate_bytes()
        try:
            have = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
            return self
        if need > have:
            raise ValueError(
                f"sfreq={self.sfreq:g} Hz with {self.stimuli.n_stimuli} stimuli of {self.stimuli.words_per_stimulus} "
                f"words makes at least {n} samples per channel, about {need / 2**30:.1f} GiB for the simulation; "
                f"this machine has {have / 2**30:.1f} GiB. Lower sfreq (M/EEG is usually recorded at 100-5000 Hz) "
                "or stimuli.n_stimuli")
        return self

    @model_validator(mode="after")
    def _refs(self):
        names = [s.name for s in self.sources]
        if len(set(names)) != len(names):
            raise ValueError(f"source names must be unique, got {names}")
        for r in self.responses:
            for s in r.sources:
                if s not in names:
                    raise ValueError(f"response {r.predictor!r} names unknown source {s!r}; sources are {names}")
            if r.gains is not None and len(r.gains) != len(r.sources):
                raise ValueError(f"response {r.predictor!r}: {len(r.gains)} gains for {len(r.sources)} sources")
        return self
