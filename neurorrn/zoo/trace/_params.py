"""TRACE parameters with jTRACE's defaults (``TraceParam.java``)."""

from __future__ import annotations

from pydantic import Field, model_validator

from ...config import ConfigModel


class TraceParams(ConfigModel):
    """Parameters of a TRACE simulation; the defaults are jTRACE's (Strauss et al. 2007).

    Names follow jTRACE: ``alpha_*`` excitation (IF input→feature, FP feature→phoneme,
    PW phoneme→word, which the code doubles as C TRACE's word scale, WP word→phoneme
    feedback), ``gamma_*`` lateral inhibition, ``decay_*``, ``rest_*`` for the feature (F),
    phoneme (P) and word (W) layers.  Frequency and priming follow Dahan, Magnuson &
    Tanenhaus (2001) as implemented in jTRACE: ``freq_rest_s``/``freq_rest_c`` raise resting
    levels by ``s*log10(c + f)``, ``freq_weight_s`` scales phoneme→word and word→phoneme
    weights by ``1 + s*log10(f)``, ``freq_post_c`` multiplies Luce response strengths by
    ``log10(c + f)`` (see :func:`neurorrn.zoo.trace.luce_choice`); the ``prime_*`` twins do the
    same with the lexicon's priming values.  Dahan et al.'s values are rest 0.06, weight 0.13,
    post-perceptual c 15; all are off by default.
    """

    alpha_if: float = 1.0
    alpha_fp: float = 0.02
    alpha_pw: float = 0.05
    alpha_wp: float = 0.03
    gamma_f: float = 0.04
    gamma_p: float = 0.04
    gamma_w: float = 0.03
    decay_f: float = 0.01
    decay_p: float = 0.03
    decay_w: float = 0.05
    rest_f: float = -0.1
    rest_p: float = -0.1
    rest_w: float = -0.01
    max: float = 1.0
    min: float = -0.3
    f_slices: int = Field(99, ge=12)
    slices_per_phon: int = Field(3, ge=1)
    delta_input: int = Field(6, ge=1)
    spread: int = Field(6, ge=1)
    nreps: int = Field(1, ge=1)
    noise_sd: float = Field(0.0, ge=0.0)
    stochasticity_sd: float = Field(0.0, ge=0.0)
    atten: float = 1.0
    bias: float = 0.0
    length_normalization: bool = False
    feedback: bool = True
    freq_rest_s: float = 0.0
    freq_rest_c: float = 1.0
    freq_weight_s: float = 0.0
    freq_post_c: float = 0.0
    prime_rest_s: float = 0.0
    prime_rest_c: float = 1.0
    prime_weight_s: float = 0.0
    prime_post_c: float = 0.0

    @model_validator(mode="after")
    def _check(self):
        if not self.min < self.max:
            raise ValueError(f"min ({self.min}) must be below max ({self.max})")
        if self.delta_input // self.slices_per_phon < 1:
            raise ValueError(f"delta_input ({self.delta_input}) must be at least slices_per_phon "
                             f"({self.slices_per_phon})")
        return self

    @property
    def p_slices(self) -> int:
        """Number of phoneme (and word) slices, ``f_slices // slices_per_phon``."""
        return self.f_slices // self.slices_per_phon
